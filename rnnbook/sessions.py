"""Session-parallel mini-batches (Hidasi et al. 2016, Section 3.1.1): sessions of item
indices read side by side, one click per step, each lane taking the next session when its own
ends.

The layout is plain batching (no model, no task): :mod:`rnnbook.tasks.rank` trains on it and
:func:`rnnbook.diagrams.session_parallel` draws it. :class:`SessionParallelBatches` follows the
batcher protocol of :mod:`rnnbook.batching` (iterate, ``len``, ``state_dict`` /
``load_state_dict``).
"""

from __future__ import annotations

import heapq
from typing import Any, Iterator, NamedTuple, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from .batching import ReplayablePasses
from .text import IGNORE

__all__ = ["SessionBatch", "SessionParallelBatches"]


class SessionBatch(NamedTuple):
    """One time step of ``B`` lanes: inputs ``x`` and targets ``y`` ``(B, 1)`` (``y =``
    :data:`~rnnbook.text.IGNORE` on an idle lane), and ``start`` ``(B,)``: lanes whose state
    must be zeroed before this step because a new session (or idleness) begins there."""

    x: Tensor
    y: Tensor
    start: Tensor


class SessionParallelBatches(ReplayablePasses):
    """GRU4Rec's session-parallel mini-batches over sessions of item indices.

    ``batch_size`` lanes each read one session after another, one click per step: at step
    ``t`` lane ``b`` gives input ``s_i`` and target ``s_{i+1}`` of its current session. When a
    session's last pair is consumed, the lane that frees first takes the next session (ties:
    the lowest lane) and is marked ``start`` so that the loss zeroes its state; once no
    session is left a lane idles (``x = 0``, ``y = IGNORE``, ``start`` set). A pass ends when
    every lane is idle. Sessions are shuffled anew each pass (``shuffle=True``, reproducible
    from ``seed``). ``len()`` is the number of steps of the coming pass.

    ``plan()`` gives a whole pass as three ``(steps, B)`` tensors ``x``, ``y``, ``start``.

    :meth:`state_dict` / :meth:`load_state_dict` follow
    :class:`~rnnbook.batching.PaddedBatches`: the generator state from which the pass in
    progress was shuffled, and ``position``, its steps already handed out. A pass is planned
    whole from its shuffle, so replaying it and skipping ``position`` steps (the caller's job)
    gives the very steps that were left, each lane in the middle of the same session; the
    recurrent state those lanes carried is the loss's (:meth:`SessionLoss.state_dict`).
    """

    def __init__(self, sessions: Sequence[Sequence[int]], batch_size: int,
                 shuffle: bool = True, seed: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.sessions = [list(map(int, s)) for s in sessions]
        if not self.sessions:
            raise ValueError("no sessions to batch")
        short = [k for k, s in enumerate(self.sessions) if len(s) < 2]
        if short:
            raise ValueError(f"session {short[0]} has {len(self.sessions[short[0]])} item(s): "
                             "every session needs at least 2 (an input and a target)")
        negative = [k for k, s in enumerate(self.sessions) if min(s) < 0]
        if negative:
            raise ValueError(f"session {negative[0]} holds a negative item "
                             f"({self.sessions[negative[0]]}): items are indices 0 .. V - 1")
        self.batch_size, self.shuffle = batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)
        self._next = self._draw()

    def _draw(self) -> tuple[Tensor, list[int]]:
        """The coming pass: the generator state it is drawn from, and its order."""
        before = self.generator.get_state()
        n = len(self.sessions)
        order = torch.randperm(n, generator=self.generator).tolist() if self.shuffle \
            else list(range(n))
        return before, order

    def plan(self, order: Optional[list[int]] = None) -> tuple[Tensor, Tensor, Tensor]:
        """``x``, ``y`` (int64) and ``start`` (bool), each ``(steps, batch_size)``, for the
        sessions taken in ``order`` (default: the coming pass's order)."""
        order = self._next[1] if order is None else order
        B = self.batch_size
        free = [(0, b) for b in range(B)]  # (step at which lane b is free, b)
        placed = []
        for k in order:
            t, b = heapq.heappop(free)
            placed.append((t, b, k))
            heapq.heappush(free, (t + len(self.sessions[k]) - 1, b))
        steps = max(t for t, _ in free)
        x = np.zeros((steps, B), dtype=np.int64)
        y = np.full((steps, B), IGNORE, dtype=np.int64)
        start = np.ones((steps, B), dtype=bool)
        for t, b, k in placed:
            s = self.sessions[k]
            x[t:t + len(s) - 1, b] = s[:-1]
            y[t:t + len(s) - 1, b] = s[1:]
            start[t + 1:t + len(s) - 1, b] = False
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(start)

    def __len__(self) -> int:
        return self.plan()[0].size(0)

    def state_dict(self) -> dict[str, Any]:
        """``{"generator": ByteTensor, "position": int}``: the generator state from which the
        next iteration draws the order of the pass in progress (or of the next pass, when none
        is in progress), and how many steps of that pass were already handed out."""
        return self._pass_state(self._next[0].clone())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`: the next iteration replays the saved pass from its
        start (skipping its first ``position`` steps is the caller's job)."""
        if not isinstance(state, dict) or not isinstance(state.get("generator"), Tensor):
            raise ValueError("expected a SessionParallelBatches.state_dict(): a dict with the "
                             f"generator state (a ByteTensor) and a position, got {state!r}")
        self.generator.set_state(state["generator"])
        self._next = self._draw()
        self._forget_pass()

    def __iter__(self) -> Iterator[SessionBatch]:
        before, order = self._next
        x, y, start = self.plan(order)
        self._next = self._draw()
        self._begin_pass(before, x.size(0))
        for t in range(x.size(0)):
            self._handed_out()
            yield SessionBatch(x[t, :, None], y[t, :, None], start[t])
