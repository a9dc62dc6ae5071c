"""Backpropagation through time, by hand, and probes of how gradients travel back in time.

The network is the one-layer tanh RNN with a linear read-out at every step (row vectors, as in
PyTorch; ``B`` sequences, ``F`` input features, ``H`` hidden units, ``V`` outputs)::

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh        (B, H)
    h_t = tanh(a_t)                                         (B, H)
    y_t = h_t W_out^T + b_out                               (B, V)
    L   = 1/(B T) sum_t sum_b loss(y_t[b], target_t[b])

with ``loss`` the cross-entropy (integer targets, ``y_t`` are logits) or the squared error
summed over the ``V`` outputs (float targets). For cross-entropy ``L`` is exactly
``F.cross_entropy(y.reshape(-1, V), target.reshape(-1))``, the loss of the book's language models.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Union

import torch
from torch import Tensor, nn


def rnn_forward(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
                ) -> Tensor:
    """The states ``h_0..h_T`` as one tensor ``(T + 1, B, H)`` for inputs ``x`` ``(T, B, F)``."""
    hs = [h0]
    for t in range(x.size(0)):
        hs.append(torch.tanh(x[t] @ w_ih.T + b_ih + hs[-1] @ w_hh.T + b_hh))
    return torch.stack(hs)


def bptt(x: Tensor, target: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
         w_out: Tensor, b_out: Tensor, h0: Optional[Tensor] = None
         ) -> tuple[float, dict[str, Tensor]]:
    """Loss and gradients of the RNN above, computed by a loop backwards over time.

    ``x`` ``(T, B, F)``; ``target`` ``(T, B)`` class ids (cross-entropy) or ``(T, B, V)`` floats
    (squared error); ``h0`` ``(B, H)`` (zeros if ``None``). Returns ``(L, grads)`` with
    ``grads`` keyed ``W_ih, W_hh, b_ih, b_hh, W_out, b_out, h0``. No autograd is used::

        dy_t = dL/dy_t                                  (B, V)   from the loss alone
        dh_t = dy_t W_out + da_{t+1} W_hh               (B, H)   read-out + the future
        da_t = dh_t * (1 - h_t^2)                       (B, H)   through tanh
        dW_ih += da_t^T x_t,  dW_hh += da_t^T h_{t-1},  db_ih = db_hh += sum_b da_t
        dh_0  = da_1 W_hh
    """
    T, B = x.shape[:2]
    H = w_hh.size(0)
    if h0 is None:
        h0 = x.new_zeros(B, H)
    with torch.no_grad():
        hs = rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh)        # (T+1, B, H); hs[t] = h_t
        y = hs[1:] @ w_out.T + b_out                           # (T, B, V)
        n = T * B
        if target.dtype in (torch.int64, torch.int32):
            logp = torch.log_softmax(y, dim=-1)
            loss = -logp.gather(-1, target[..., None].long()).sum() / n
            dy = logp.exp()
            dy.scatter_add_(-1, target[..., None].long(), -torch.ones_like(dy[..., :1]))
            dy /= n                                            # (softmax - onehot) / (B T)
        else:
            diff = y - target
            loss = (diff ** 2).sum() / n
            dy = 2 * diff / n
        grads = {"W_ih": torch.zeros_like(w_ih), "W_hh": torch.zeros_like(w_hh),
                 "b_ih": torch.zeros_like(b_ih), "b_hh": torch.zeros_like(b_hh),
                 "W_out": torch.einsum("tbv,tbh->vh", dy, hs[1:]), "b_out": dy.sum((0, 1))}
        da_next = x.new_zeros(B, H)                            # da_{T+1} = 0: no future
        for t in range(T, 0, -1):                              # t = T, ..., 1
            dh = dy[t - 1] @ w_out + da_next @ w_hh            # (B, H)
            da = dh * (1 - hs[t] ** 2)                         # tanh'(a_t) = 1 - h_t^2
            grads["W_ih"] += da.T @ x[t - 1]
            grads["W_hh"] += da.T @ hs[t - 1]
            grads["b_ih"] += da.sum(0)
            da_next = da
        grads["b_hh"] = grads["b_ih"].clone()                  # both biases enter a_t alike
        grads["h0"] = da_next @ w_hh
    return float(loss), grads


def bptt_module(rnn: nn.Module, readout: nn.Linear, x: Tensor, target: Tensor,
                h0: Optional[Tensor] = None) -> tuple[float, dict[str, Tensor]]:
    """:func:`bptt` with the weights of a one-layer tanh ``torch.nn.RNN`` (or the book's
    :class:`~rnnbook.layers.RNN`) and a ``torch.nn.Linear`` read-out; ``x`` is ``(T, B, F)``
    (time first, whatever the layer's ``batch_first``), ``h0`` ``(B, H)``."""
    if getattr(rnn, "num_layers", 1) != 1 or getattr(rnn, "bidirectional", False) or \
            getattr(rnn, "nonlinearity", "tanh") != "tanh":
        raise ValueError("bptt_module handles a one-layer, one-direction tanh RNN only")
    return bptt(x, target, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0,
                readout.weight, readout.bias, h0)


def _as_tuple(state: Any) -> tuple[Tensor, ...]:
    return (state,) if isinstance(state, Tensor) else tuple(state)


def hidden_state_gradients(
    layer: nn.Module, input: Tensor, hx: Any = None,
    loss_fn: Optional[Callable[[Tensor], Tensor]] = None,
) -> Tensor:
    """``|| dl_T / ds_{T-k} ||`` for ``k = 0..T``: how strongly each earlier state moves the loss.

    ``layer`` is any one-direction recurrent layer with ``torch.nn.RNN``'s call signature (the
    book's RNN/LSTM/GRU, ``torch.nn.RNN``/``LSTM``/``GRU``); ``input`` ``(B, T, F)`` with
    ``batch_first``, else ``(T, B, F)``. The sequence is run one step at a time so that every
    state ``s_t`` (``h_t``, or ``(h_t, c_t)`` for an LSTM, all layers) is a node of the graph;
    ``s_0`` is ``hx`` (zeros if ``None``). ``l_T = loss_fn(o_T)`` is a scalar function of the
    last output ``o_T`` ``(B, H)``; by default the sum of its entries, so ``dl/do_T`` is all
    ones. Returns ``(B, T + 1)`` norms over the whole state, column ``k`` for ``s_{T-k}`` (so
    column ``T`` is the initial state). The examples of a batch do not interact, so each row is
    that example's own gradient.
    """
    if getattr(layer, "bidirectional", False):
        raise ValueError("a bidirectional layer has no single direction of time to probe")
    batch_first = getattr(layer, "batch_first", False)
    x = input.transpose(0, 1) if batch_first else input      # (T, B, F)
    T, B = x.shape[:2]
    n_layers = getattr(layer, "num_layers", 1)
    if hx is None:
        zeros = x.new_zeros(n_layers, B, layer.hidden_size)
        n_state = 2 if isinstance(layer, nn.LSTM) or getattr(layer, "state_size", 1) == 2 else 1
        hx = zeros if n_state == 1 else (zeros, zeros.clone())
    state = tuple(s.detach().clone().requires_grad_(True) for s in _as_tuple(hx))
    states = [state]
    for t in range(T):
        step = x[t:t + 1].transpose(0, 1) if batch_first else x[t:t + 1]
        _, new = layer(step, state if len(state) > 1 else state[0])
        state = _as_tuple(new)
        states.append(state)
    last = state[0][-1]  # (B, H): the top layer's h_T, equal to the last output o_T
    loss = loss_fn(last) if loss_fn is not None else last.sum()
    flat = [s for st in states for s in st]
    grads = torch.autograd.grad(loss, flat, allow_unused=True)
    k = len(states[0])
    norms = []
    for t in range(T + 1):
        parts = [g if g is not None else torch.zeros_like(s)
                 for g, s in zip(grads[t * k:(t + 1) * k], states[t])]
        # each part is (layers, B, H): the squared norm per example sums layers and units
        sq = sum((p.detach() ** 2).sum(dim=(0, 2)) for p in parts)
        norms.append(sq.sqrt())
    return torch.stack(norms[::-1], dim=1)                    # (B, T + 1), distance 0 first


def spectral_radius(matrix: Tensor) -> float:
    """The largest absolute eigenvalue of a square matrix."""
    return float(torch.linalg.eigvals(matrix.detach().double()).abs().max())


@torch.no_grad()
def set_spectral_radius(weight: Tensor, radius: float) -> Tensor:
    """Rescale a square matrix in place so that its spectral radius is ``radius``; return it."""
    weight.mul_(radius / spectral_radius(weight))
    return weight


class ValueClipped:
    """An optimiser that first clips every gradient entry to ``[-value, value]``, then steps.

    Pass it as ``rnnbook.train(..., optimizer=ValueClipped(torch.optim.SGD(...), 0.1),
    clip=None)`` to compare clipping by value with clipping by norm; it clips with
    ``torch.nn.utils.clip_grad_value_``. Every other attribute is the wrapped optimiser's.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, value: float):
        self.optimizer, self.value = optimizer, value

    def _params(self) -> Iterable[Tensor]:
        return [p for g in self.optimizer.param_groups for p in g["params"]]

    def step(self, closure: Union[Callable[[], float], None] = None):
        nn.utils.clip_grad_value_(self._params(), self.value)
        return self.optimizer.step(closure)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def __getattr__(self, name: str) -> Any:
        if name == "optimizer":  # not set yet (e.g. while unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.optimizer, name)


__all__ = ["rnn_forward", "bptt", "bptt_module", "hidden_state_gradients", "spectral_radius",
           "set_spectral_radius", "ValueClipped"]
