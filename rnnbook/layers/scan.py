"""minGRU and minLSTM (Feng et al., 2024): recurrences that train in parallel.

Both drop the previous hidden state from the gates, so every step is the *linear* recurrence

    h_t = a_t * h_{t-1} + b_t        (B, T, H), element-wise; a_t in (0, 1), b_t > 0

with ``a`` and ``b`` computed from the inputs alone, all steps at once. Unrolled,
``h_t = A_t h_0 + sum_{s <= t} (A_t / A_s) b_s`` with ``A_t = a_1 ... a_t``, which two cumulative
operations compute without a loop. In log space, with ``a*_t = sum_{r <= t} log a_r``::

    h_t = exp(a*_t) h_0 + exp(a*_t + logcumsumexp_{s <= t}(log b_s - a*_s))

(:func:`scan_log`, the form of the paper, with ``h_0`` kept in linear space so that it may
have any sign; products of many gates would underflow in linear space). ``a*_t`` grows in
size with ``t``, and float32 keeps about seven digits of it: the error of ``log h_t`` grows
with the length. :func:`scan_log` therefore restarts ``a*`` every ``CHUNK`` steps and carries
``h`` from one chunk to the next with the exact recurrence: float32's error stays that of a
``CHUNK``-step scan, whatever the length. :func:`scan_sequential` is the step-by-step
loop, the same function.

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
CHUNK = 64  # steps of one log-space scan (scan_log)


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


def scan_log(log_a: Tensor, log_b: Tensor, h0: Optional[Tensor] = None,
             chunk: int = CHUNK) -> Tensor:
    """The same recurrence from ``log a``, ``log b`` ``(B, T, H)`` and the state ``h0``
    ``(B, H)`` (any sign; ``None``: zeros) -> ``h`` ``(B, T, H)``, ``chunk`` steps at a time.

    Within a chunk, all steps at once in log space (``a*`` summed from the chunk's start):
    ``h_t = exp(a*_t + logcumsumexp_{s <= t}(log b_s - a*_s)) + exp(a*_t) h_start``. Across
    chunks the loop carries ``h_start``, one step per chunk. ``a*`` spans at most ``chunk``
    steps, so its rounding error (relative to ``|a*|``) does not grow with ``T``.
    """
    if log_a.dim() != 3 or log_a.shape != log_b.shape:
        raise ValueError(f"scan_log takes log_a and log_b of one shape (batch, time, hidden), "
                         f"got {tuple(log_a.shape)} and {tuple(log_b.shape)}")
    B, T, H = log_b.shape
    if T == 0:
        raise ValueError("scan_log got a sequence of no steps")
    if h0 is not None and h0.shape != (B, H):
        raise ValueError(f"h0 must have shape (batch, hidden) = {(B, H)}, got {tuple(h0.shape)}")
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 step, got {chunk}")
    C = min(chunk, T)
    n = -(-T // C)  # chunks; the last one padded with a = b = 1, which no kept step reads
    if n * C > T:
        log_a, log_b = (F.pad(t, (0, 0, 0, n * C - T)) for t in (log_a, log_b))
    log_a, log_b = log_a.reshape(B, n, C, H), log_b.reshape(B, n, C, H)
    a_star = torch.cumsum(log_a, dim=2)
    h = (a_star + torch.logcumsumexp(log_b - a_star, dim=2)).exp()  # from h = 0 at the start
    if n > 1 or h0 is not None:
        decay = a_star.exp()  # A_t / A_start
        ends = scan_sequential(decay[:, :, -1], h[:, :, -1], h0)  # h at each chunk's end
        first = torch.zeros_like(ends[:, :1]) if h0 is None else h0[:, None]
        h = h + decay * torch.cat([first, ends[:, :-1]], dim=1)[:, :, None]
    return h.reshape(B, n * C, H)[:, :T]


class MinRNN(nn.Module):
    """One minGRU (``kind="gru"``) or minLSTM (``kind="lstm"``) layer, ``batch_first``.

    ``forward(x (B, T, F), h0 (1, B, H) or None) -> (h (B, T, H), h_T (1, B, H))``, the call
    signature of ``nn.GRU(batch_first=True)``, so :class:`~rnnbook.models.lm.CharLM` takes it.
    ``mode`` is ``"parallel"`` (:func:`scan_log`) or ``"sequential"`` (:func:`scan_sequential`);
    both compute the same function. ``h0`` may have any sign.
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
            h = scan_log(log_a, log_b, h0)
        else:
            h = scan_sequential(log_a.exp(), log_b.exp(), h0)
        return h, h[:, -1][None]

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, kind={self.kind!r}, "
                f"mode={self.mode!r}")


__all__ = ["MODES", "CHUNK", "log_g", "scan_sequential", "scan_log", "MinRNN"]
