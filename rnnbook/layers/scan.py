"""minGRU and minLSTM (Feng et al., 2024): recurrences that train in parallel.

Both drop the previous hidden state from the gates, so every step is the *linear* recurrence

    h_t = a_t * h_{t-1} + b_t        (B, T, H), element-wise; a_t in (0, 1), b_t > 0

with ``a`` and ``b`` computed from the inputs alone, all steps at once. Unrolled,
``h_t = A_t h_0 + sum_{s <= t} (A_t / A_s) b_s`` with ``A_t = a_1 ... a_t``, which two cumulative
operations compute without a loop. In log space, with ``a*_t = sum_{r <= t} log a_r``::

    log h_t = a*_t + logcumsumexp_{s <= t}(log b_s - a*_s)      (h_0 enters as b_0, a*_0 = 0)

(:func:`scan_log`, the form of the paper; products of many gates would underflow in linear
space). :func:`scan_sequential` is the step-by-step loop, the same function.

**minGRU.** ``z_t = sigmoid(x_t W_z^T + b_z)``, ``h~_t = g(x_t W_h^T + b_h)``,
``h_t = (1 - z_t) h_{t-1} + z_t h~_t``: ``a = 1 - z``, ``b = z h~``.
**minLSTM.** ``f_t = sigmoid(x_t W_f^T + b_f)``, ``i_t = sigmoid(x_t W_i^T + b_i)``, normalised to
``f' = f / (f + i)``, ``i' = i / (f + i)``; ``h_t = f'_t h_{t-1} + i'_t h~_t``.
``g(u) = u + 1/2`` for ``u >= 0`` and ``sigmoid(u)`` below keeps ``h~ > 0``, so ``log b`` exists.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MODES = ("parallel", "sequential")


def log_g(u: Tensor) -> Tensor:
    """``log g(u)``: ``log(u + 1/2)`` for ``u >= 0``, ``log sigmoid(u) = -softplus(-u)`` below."""
    return torch.where(u >= 0, (F.relu(u) + 0.5).log(), -F.softplus(-u))


def scan_sequential(a: Tensor, b: Tensor, h0: Optional[Tensor] = None) -> Tensor:
    """``h_t = a_t h_{t-1} + b_t`` step by step; ``a``, ``b`` ``(B, T, H)``, ``h0`` ``(B, H)``
    (zeros if ``None``) -> ``h`` ``(B, T, H)``."""
    h = torch.zeros_like(b[:, 0]) if h0 is None else h0
    out = []
    for t in range(b.size(1)):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, dim=1)


def scan_log(log_a: Tensor, log_b: Tensor, log_h0: Optional[Tensor] = None) -> Tensor:
    """The same recurrence, all steps at once, from ``log a``, ``log b`` ``(B, T, H)`` and
    ``log h0`` ``(B, H)`` (``None``: ``h0 = 0``) -> ``h`` ``(B, T, H)`` (see the module)."""
    a_star = torch.cumsum(log_a, dim=1)
    if log_h0 is not None:
        log_b = torch.cat([log_h0[:, None], log_b], dim=1)
        a_star = F.pad(a_star, (0, 0, 1, 0))  # a*_0 = 0 for h_0
    log_h = a_star + torch.logcumsumexp(log_b - a_star, dim=1)
    return log_h.exp()[:, -log_a.size(1):]


class MinRNN(nn.Module):
    """One minGRU (``kind="gru"``) or minLSTM (``kind="lstm"``) layer, ``batch_first``.

    ``forward(x (B, T, F), h0 (1, B, H) or None) -> (h (B, T, H), h_T (1, B, H))``, the call
    signature of ``nn.GRU(batch_first=True)``, so :class:`~rnnbook.models.lm.CharLM` takes it.
    ``mode`` is ``"parallel"`` (:func:`scan_log`) or ``"sequential"`` (:func:`scan_sequential`);
    both compute the same function. ``h0`` must be positive (the state of an earlier call is).
    """

    def __init__(self, input_size: int, hidden_size: int, kind: str = "gru",
                 mode: str = "parallel"):
        super().__init__()
        if kind not in ("gru", "lstm"):
            raise ValueError(f"kind must be 'gru' (minGRU) or 'lstm' (minLSTM), got {kind!r}")
        self.input_size, self.hidden_size, self.kind = input_size, hidden_size, kind
        self.mode = mode
        self.linear = nn.Linear(input_size, (2 if kind == "gru" else 3) * hidden_size)

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self._mode = mode

    def log_coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``log a`` and ``log b`` ``(B, T, H)`` of the recurrence, from the inputs alone."""
        if self.kind == "gru":
            k, u = self.linear(x).chunk(2, dim=-1)
            return -F.softplus(k), -F.softplus(-k) + log_g(u)  # log(1 - z), log z + log h~
        kf, ki, u = self.linear(x).chunk(3, dim=-1)
        diff = F.softplus(-kf) - F.softplus(-ki)  # log i - log f
        return -F.softplus(diff), -F.softplus(-diff) + log_g(u)  # log f', log i' + log h~

    def forward(self, x: Tensor, h0: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        if x.dim() != 3 or x.size(-1) != self.input_size:
            raise ValueError(f"MinRNN takes x of shape (batch, time, {self.input_size}), got "
                             f"{tuple(x.shape)}")
        if x.size(1) == 0:
            raise ValueError("MinRNN got a sequence of no steps")
        h0 = None if h0 is None else h0[0]
        log_a, log_b = self.log_coefficients(x)
        if self.mode == "parallel":
            h = scan_log(log_a, log_b, None if h0 is None else h0.log())
        else:
            h = scan_sequential(log_a.exp(), log_b.exp(), h0)
        return h, h[:, -1][None]

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, kind={self.kind!r}, "
                f"mode={self.mode!r}")


__all__ = ["MODES", "log_g", "scan_sequential", "scan_log", "MinRNN"]
