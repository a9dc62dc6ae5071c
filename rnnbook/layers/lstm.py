"""The LSTM written from its equations: a cell, and a multi-layer layer like ``torch.nn.LSTM``.

With row vectors as in PyTorch (``x_t`` ``(B, F)``, ``h_t`` and ``c_t`` ``(B, H)``)::

    i_t = sigmoid(x_t W_ii^T + b_ii + h_{t-1} W_hi^T + b_hi)     input gate
    f_t = sigmoid(x_t W_if^T + b_if + h_{t-1} W_hf^T + b_hf)     forget gate
    g_t =    tanh(x_t W_ig^T + b_ig + h_{t-1} W_hg^T + b_hg)     candidate cell
    o_t = sigmoid(x_t W_io^T + b_io + h_{t-1} W_ho^T + b_ho)     output gate
    c_t = f_t * c_{t-1} + i_t * g_t                              cell state
    h_t = o_t * tanh(c_t)                                        hidden state (the output)

The four weight matrices of a side are stacked by rows in the order i, f, g, o:
``weight_ih`` is ``(4H, F)``, ``weight_hh`` ``(4H, H)``, each bias ``(4H,)``, as in PyTorch.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .recurrent import GateLog, RecurrentCell, RecurrentLayer

LSTM_GATES = ("input", "forget", "cell", "output")  # row blocks i, f, g, o of the weights


def lstm_update(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
    """One LSTM update from the pre-activations ``gates`` ``(B, 4H)`` and ``c_{t-1}`` ``(B, H)``.

    Returns ``h_t``, ``c_t`` and the activations ``(i_t, f_t, g_t, o_t)``, each ``(B, H)``.
    """
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    return h, c, (i, f, g, o)


class LSTMCell(RecurrentCell):
    """One LSTM step, with the parameters and call signature of ``torch.nn.LSTMCell``.

    ``forward(x (B, F) or (F,), (h, c) or None) -> (h_t, c_t)``, each ``(B, H)``.
    """

    gates = 4

    def forward(self, x: Tensor, hx: Optional[tuple[Tensor, Tensor]] = None
                ) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            got = (f"a tensor of shape {tuple(hx.shape)}" if isinstance(hx, Tensor)
                   else f"{type(hx).__name__} of length {len(hx)}"
                   if isinstance(hx, (tuple, list)) else type(hx).__name__)
            raise ValueError(f"LSTMCell: expected the state as a tuple (h, c) of two tensors, "
                             f"got {got}")
        h = self.zeros_if_none(x, None if hx is None else hx[0])
        c = torch.zeros_like(h) if hx is None else self.zeros_if_none(x, hx[1])
        gates = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh,
                                                                      self.bias_hh)
        h, c, _ = lstm_update(gates, c)
        return h, c


class LSTM(RecurrentLayer):
    """Multi-layer LSTM with the constructor, call signature and weights of ``torch.nn.LSTM``,
    except ``proj_size``.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, device=None, dtype=None)``; ``forward(input, (h0, c0)=None) ->
    (output, (h_n, c_n))``: input ``(T, B, F)`` (``(B, T, F)`` with ``batch_first``), each state
    ``(num_layers * D, B, H)``, output ``(T, B, D * H)``, the top layer's ``h_t`` at every step.

    Left out: ``torch.nn.LSTM``'s ``proj_size`` (an LSTM with a projection, ``h_t = (o_t *
    tanh(c_t)) W_hr^T`` of size ``proj_size``, and the extra weight ``weight_hr_l{k}``). Passing
    it raises ``TypeError``; with the default ``proj_size=0`` the two layers are the same.
    """

    gates, state_size = 4, 2

    def recurrence(self, xw: Tensor, state: tuple[Tensor, ...], w_hh: Tensor,
                   b_hh: Optional[Tensor], gates: GateLog = None
                   ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The LSTM equations for t = 1..T; ``xw`` ``(T, B, 4H)`` holds ``x_t W_ih^T + b_ih``.

        With a list ``gates``, appends ``{input, forget, cell, output}``, each ``(T, B, H)``.
        """
        h, c = state
        if b_hh is not None:
            xw = xw + b_hh  # both biases enter every step unchanged: add b_hh once, for all t
        w_hh_t = w_hh.t()
        outputs, acts = [], []
        for xw_t in xw.unbind(0):  # not xw[t]: see rnnbook.layers.recurrent
            h, c, act = lstm_update(torch.addmm(xw_t, h, w_hh_t), c)
            outputs.append(h)
            if gates is not None:
                acts.append(act)
        if gates is not None:
            gates.append({name: torch.stack(a) for name, a in zip(LSTM_GATES, zip(*acts))})
        return torch.stack(outputs), (h, c)


def set_forget_bias(layer: Union[nn.LSTM, LSTM, nn.LSTMCell, LSTMCell], value: float = 1.0
                    ) -> None:
    """Start the forget gates open: ``b_if = value`` and ``b_hf = 0`` in every layer.

    The forget gate's bias is the sum ``b_if + b_hf`` (rows ``H:2H`` of both bias vectors).
    Works on ``torch.nn.LSTM``/``LSTMCell`` and the book's twins alike (same names, same rows).
    """
    hidden = layer.hidden_size
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("bias_ih"):
                p[hidden:2 * hidden] = value
            elif name.startswith("bias_hh"):
                p[hidden:2 * hidden] = 0.0
