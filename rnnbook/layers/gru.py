"""The GRU written from its equations, in both formulations, like ``torch.nn.GRU``.

With row vectors as in PyTorch (``x_t`` ``(B, F)``, ``h_t`` ``(B, H)``)::

    r_t = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)          reset gate
    z_t = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)          update gate
    n_t = tanh(x_t W_in^T + b_in + r_t * (h_{t-1} W_hn^T + b_hn))     reset_after=True (PyTorch)
    n_t = tanh(x_t W_in^T + b_in + (r_t * h_{t-1}) W_hn^T + b_hn)     reset_after=False (Cho 2014)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

PyTorch (like cuDNN) applies the reset gate *after* the product with ``W_hn``, so the three
hidden-to-hidden products of a step are one matrix product. Cho et al. (2014) reset the state
*before* it, which needs ``r_t`` first. The weights are stacked by rows in the order r, z, n:
``weight_ih`` ``(3H, F)``, ``weight_hh`` ``(3H, H)``, each bias ``(3H,)``.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .recurrent import GateLog, RecurrentCell, RecurrentLayer

GRU_GATES = ("reset", "update", "candidate")  # row blocks r, z, n of the weights


def gru_update(xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Optional[Tensor],
               reset_after: bool = True) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One GRU update; ``xw`` ``(B, 3H)`` is ``x_t W_ih^T + b_ih``, ``h`` is ``h_{t-1}``.

    Returns ``h_t`` and the activations ``(r_t, z_t, n_t)``, each ``(B, H)``.
    """
    x_r, x_z, x_n = xw.chunk(3, dim=-1)
    if reset_after:
        h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)  # one product for all three
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
    else:
        w_rz, w_n = w_hh.split([2 * h.size(-1), h.size(-1)])
        b_rz, b_n = b_hh.split([2 * h.size(-1), h.size(-1)]) if b_hh is not None else (None,
                                                                                       None)
        h_r, h_z = F.linear(h, w_rz, b_rz).chunk(2, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + F.linear(r * h, w_n, b_n))  # the reset state enters the product
    h = (1 - z) * n + z * h
    return h, (r, z, n)


class GRUCell(RecurrentCell):
    """One GRU step, with the parameters and call signature of ``torch.nn.GRUCell``.

    ``forward(x (B, F) or (F,), h or None) -> h_t`` ``(B, H)``. ``reset_after=False`` gives
    the formulation of Cho et al. (2014); the default is PyTorch's.
    """

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 reset_after: bool = True):
        super().__init__(input_size, hidden_size, bias)
        self.reset_after = reset_after

    def forward(self, x: Tensor, h: Optional[Tensor] = None) -> Tensor:
        h = self.zeros_if_none(x, h)
        xw = F.linear(x, self.weight_ih, self.bias_ih)
        return gru_update(xw, h, self.weight_hh, self.bias_hh, self.reset_after)[0]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", reset_after={self.reset_after}"


class GRU(RecurrentLayer):
    """Multi-layer GRU with the constructor, call signature and weights of ``torch.nn.GRU``.

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, reset_after=True)``; ``forward(input, h0=None) -> (output, h_n)``
    with the shapes of :class:`~rnnbook.layers.RNN`. With ``reset_after=True`` (default)
    it computes exactly what ``torch.nn.GRU`` computes; ``False`` is Cho et al.'s GRU.
    """

    gates, state_size = 3, 1

    def __init__(self, *args, reset_after: bool = True, **kwargs):
        """:class:`~rnnbook.layers.RecurrentLayer`'s arguments, and ``reset_after``."""
        super().__init__(*args, **kwargs)
        self.reset_after = reset_after

    def recurrence(self, xw: Tensor, state: tuple[Tensor, ...], w_hh: Tensor,
                   b_hh: Optional[Tensor], gates: GateLog = None
                   ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The GRU equations for t = 1..T; ``xw`` ``(T, B, 3H)`` holds ``x_t W_ih^T + b_ih``.

        With a list ``gates``, appends ``{reset, update, candidate}``, each ``(T, B, H)``.
        """
        (h,) = state
        outputs, acts = [], []
        for xw_t in xw.unbind(0):  # not xw[t]: see rnnbook.layers.recurrent
            h, act = gru_update(xw_t, h, w_hh, b_hh, self.reset_after)
            outputs.append(h)
            if gates is not None:
                acts.append(act)
        if gates is not None:
            gates.append({name: torch.stack(a) for name, a in zip(GRU_GATES, zip(*acts))})
        return torch.stack(outputs), (h,)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", reset_after=False" if not self.reset_after else "")
