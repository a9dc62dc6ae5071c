"""The Elman RNN written from its equation: a cell, and a multi-layer layer like ``torch.nn.RNN``.

    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)      (or relu instead of tanh)

with row vectors as in PyTorch: ``x_t`` is ``(B, F)``, ``h_t`` is ``(B, H)``, ``W_ih`` is
``(H, F)``, ``W_hh`` is ``(H, H)``, the biases ``(H,)``.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .recurrent import GateLog, RecurrentCell, RecurrentLayer

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def _activation(nonlinearity: str):
    if nonlinearity not in ACTIVATIONS:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return ACTIVATIONS[nonlinearity]


class RNNCell(RecurrentCell):
    """One step of the RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Input ``(B, F)`` (or ``(F,)``), state ``(B, H)`` (zeros if ``None``); returns ``h_t``
    ``(B, H)``. Same parameters and names as ``torch.nn.RNNCell``.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh"):
        act = _activation(nonlinearity)  # fail before allocating anything
        super().__init__(input_size, hidden_size, bias)
        self.act, self.nonlinearity = act, nonlinearity

    def forward(self, x: Tensor, h: Optional[Tensor] = None) -> Tensor:
        h = self.zeros_if_none(x, h)
        return self.act(F.linear(x, self.weight_ih, self.bias_ih)
                        + F.linear(h, self.weight_hh, self.bias_hh))


class RNN(RecurrentLayer):
    """Multi-layer Elman RNN with the constructor, call signature and weights of ``torch.nn.RNN``.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; ``forward(input, h0=None) ->
    (output, h_n)``: input ``(T, B, F)`` (``(B, T, F)`` with ``batch_first``), ``h0`` and
    ``h_n`` ``(num_layers * D, B, H)``, output ``(T, B, D * H)``. The input projection of all
    time steps is one matrix product (in the base class); only the recurrent part loops.
    """

    gates, state_size = 1, 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ):
        act = _activation(nonlinearity)  # fail before allocating anything
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device, dtype)
        self.act, self.nonlinearity = act, nonlinearity

    def recurrence(self, xw: Tensor, state: tuple[Tensor, ...], w_hh: Tensor,
                   b_hh: Optional[Tensor], gates: GateLog = None
                   ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """``h_t = act(xw_t + b_hh + h_{t-1} W_hh^T)`` for t = 1..T; ``xw`` is ``(T, B, H)``.

        The RNN has no gates: a ``gates`` list is left as it is.
        """
        (h,) = state
        if b_hh is not None:
            xw = xw + b_hh  # both biases enter every step unchanged: add b_hh once, for all t
        w_hh_t = w_hh.t()
        outputs = []
        for xw_t in xw.unbind(0):  # not xw[t]: see rnnbook.layers.recurrent
            h = self.act(torch.addmm(xw_t, h, w_hh_t))  # xw_t + h_{t-1} W_hh^T, fused
            outputs.append(h)
        return torch.stack(outputs), (h,)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")
