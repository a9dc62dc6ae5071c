"""Session-based recommendation: rank every item for the next click of a session.

A *session* is a list of item indices ``s_1 .. s_n`` (consecutive repeats collapsed). For each
``t = 1 .. n-1`` a method sees ``s_1 .. s_t`` and scores all ``V`` items; the *event* is scored
by the rank of the true next item ``s_{t+1}`` in that full ranking (no sampled negatives):

    rank = 1 + #{j : score_j > score_target} + #{j != target : score_j = score_target}

that is, ties count against the target (*pessimistic*: a method gains nothing from giving many
items the same score; ``ties="optimistic"`` drops the second term, ``"mean"`` halves it).
``Recall@k`` is the share of events with ``rank <= k`` and ``MRR@k`` the mean of ``1 / rank``
over events, with ``0`` when ``rank > k``.

The module holds the data preparation (:func:`time_split`), the session-parallel mini-batches
of GRU4Rec (:class:`SessionParallelBatches`) and their loss (:class:`SessionLoss`), the ranking
metrics and :func:`lm_scores`, which turns any language model over item ids
(``(ids, state) -> (logits, state)``) into a scorer. The count-based baselines
(:class:`MostPopular`, :class:`Markov`, :class:`CoOccurrence`, :class:`SessionItemKNN`) live in
:mod:`rnnbook.tasks.rank_baselines` and are importable from here.
"""

from __future__ import annotations

import datetime
import heapq
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..batching import ReplayablePasses
from ..history import History
from ..layers import length_mask
from ..runtime import detach, eval_mode, model_device, to_device
from ..text import IGNORE, pad
from ..train import train
from .rank_baselines import CoOccurrence, Markov, MostPopular, SessionItemKNN, check_items

__all__ = [
    "IGNORE", "TIES", "LOSSES", "collapse_repeats", "SessionSplit", "time_split", "SessionBatch",
    "SessionParallelBatches", "reset_lanes", "in_batch_negatives", "bpr_in_batch",
    "SessionLoss", "target_ranks", "recall_mrr", "event_gains", "paired_bootstrap", "Events",
    "events", "sample_negatives", "rank_events", "lm_scores", "breakdown", "bucket", "fit_sessions",
    # the count-based baselines, from rank_baselines
    "MostPopular", "Markov", "CoOccurrence", "SessionItemKNN", "check_items",
]

TIES = ("pessimistic", "optimistic", "mean")
Scorer = Callable[[Sequence[Sequence[int]]], np.ndarray]


# --------------------------------------------------------------------------------------------
# Data: collapse repeats, a split in time, item indices
# --------------------------------------------------------------------------------------------

def collapse_repeats(items: Sequence[int]) -> list[int]:
    """``items`` with each run of the same item kept once: ``[5, 5, 3, 5] -> [5, 3, 5]``."""
    out: list[int] = []
    for item in items:
        if not out or out[-1] != item:
            out.append(item)
    return out


@dataclass
class SessionSplit:
    """Sessions as lists of item indices ``0 .. n_items - 1``, split in time.

    ``items[k]`` is the raw ID of index ``k`` (the items seen in training, sorted);
    ``train_dates`` and ``test_dates`` give each session's date; ``cutoff`` is the date of the
    first test session; ``unseen_dropped`` counts test clicks on items never seen in training
    (removed before scoring, repeats collapsed again), ``test_sessions_dropped`` the test
    sessions left with fewer than two items after that.
    """

    train: list[list[int]]
    test: list[list[int]]
    items: list[int]
    train_dates: list[datetime.datetime]
    test_dates: list[datetime.datetime]
    cutoff: datetime.datetime
    unseen_dropped: int
    test_sessions_dropped: int

    @property
    def n_items(self) -> int:
        return len(self.items)


def time_split(sessions: Sequence[tuple[datetime.datetime, Sequence[int]]],
               test_share: float = 0.1, min_length: int = 2) -> SessionSplit:
    """Collapse repeats, keep sessions of at least ``min_length`` items, sort them by date
    (stably) and hold out the latest ``floor(test_share * n)`` as the test set.

    ``sessions`` are ``(date, raw item IDs)`` pairs. Items are indexed by the training
    sessions only: a test click on an item never seen in training cannot be predicted by any
    method, so it is removed (and counted in ``unseen_dropped``).
    """
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must lie in (0, 1), got {test_share}")
    kept = [(date, collapse_repeats(list(items))) for date, items in sessions]
    kept = [pair for pair in kept if len(pair[1]) >= min_length]
    kept.sort(key=lambda pair: pair[0])
    n_test = int(test_share * len(kept))
    if n_test < 1 or n_test >= len(kept):
        raise ValueError(f"{len(kept)} sessions of at least {min_length} items cannot be split "
                         f"{1 - test_share:.0%} / {test_share:.0%}")
    train, test = kept[:-n_test], kept[-n_test:]
    items = sorted({item for _, s in train for item in s})
    index = {item: k for k, item in enumerate(items)}
    test_out, test_dates, unseen, dropped = [], [], 0, 0
    for date, s in test:
        known = [index[item] for item in s if item in index]
        unseen += len(s) - len(known)
        known = collapse_repeats(known)
        if len(known) < min_length:
            dropped += 1
            continue
        test_out.append(known)
        test_dates.append(date)
    return SessionSplit([[index[i] for i in s] for _, s in train], test_out, items,
                        [d for d, _ in train], test_dates, test[0][0], unseen, dropped)


# --------------------------------------------------------------------------------------------
# Session-parallel mini-batches (Hidasi et al. 2016, Section 3.1.1)
# --------------------------------------------------------------------------------------------

class SessionBatch(NamedTuple):
    """One time step of ``B`` lanes: inputs ``x`` and targets ``y`` ``(B, 1)`` (``y = -100``
    on an idle lane), and ``start`` ``(B,)``: lanes whose state must be zeroed before this
    step because a new session (or idleness) begins there."""

    x: Tensor
    y: Tensor
    start: Tensor


class SessionParallelBatches(ReplayablePasses):
    """GRU4Rec's session-parallel mini-batches over sessions of item indices.

    ``batch_size`` lanes each read one session after another, one click per step: at step
    ``t`` lane ``b`` gives input ``s_i`` and target ``s_{i+1}`` of its current session. When a
    session's last pair is consumed, the lane that frees first takes the next session (ties:
    the lowest lane) and is marked ``start`` so that the loss zeroes its state; once no
    session is left a lane idles (``x = 0``, ``y = -100``, ``start`` set). A pass ends when
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

    def __iter__(self):
        before, order = self._next
        x, y, start = self.plan(order)
        self._next = self._draw()
        self._begin_pass(before, x.size(0))
        for t in range(x.size(0)):
            self._handed_out()
            yield SessionBatch(x[t, :, None], y[t, :, None], start[t])


def reset_lanes(state: Any, start: Tensor) -> Any:
    """Zero the recurrent state of the lanes where ``start`` is set.

    ``state`` is ``h`` ``(layers, B, H)`` or a tuple of such tensors (an LSTM's ``(h, c)``)."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        if state.dim() != 3 or state.size(1) != start.numel():
            raise ValueError(f"expected a state (layers, {start.numel()}, hidden), "
                             f"got {tuple(state.shape)}")
        return state * (~start).to(state.dtype).view(1, -1, 1)
    return type(state)(reset_lanes(s, start) for s in state)


LOSSES = ("xe", "bpr")


def in_batch_negatives(targets: Tensor) -> Tensor:
    """``(N, N)`` bool: ``[b, j]`` is set when row ``j``'s target is a negative for row
    ``b``, i.e. another item than ``b``'s own target."""
    return targets[None, :] != targets[:, None]


def bpr_in_batch(logits: Tensor, targets: Tensor) -> Tensor:
    """BPR with the mini-batch's other targets as negatives (Hidasi et al. 2016, Sec. 3.1.2):

        loss = -mean_{(b, j) : y_j != y_b} log sigmoid(r_{b, y_b} - r_{b, y_j})

    over the ``N`` rows of ``logits`` ``(N, V)`` (scores ``r``) and their ``targets`` ``(N,)``.
    A negative that happens to be the row's own target (two lanes, same item) is left out, so
    a row whose target every other row shares has no pair and adds nothing; when no row has a
    negative (all ``N`` targets the same) the loss is ``0`` with zero gradient, not the mean
    of nothing (NaN). :func:`in_batch_negatives` gives the pairs."""
    if logits.dim() != 2 or targets.shape != (logits.size(0),):
        raise ValueError(f"expected logits (N, V) and targets (N,), got {tuple(logits.shape)}"
                         f" and {tuple(targets.shape)}")
    if logits.size(0) < 2:
        raise ValueError("BPR in the batch needs at least two targets (one is the negative)")
    keep = in_batch_negatives(targets)
    if not bool(keep.any()):
        return logits.sum() * 0.0
    r = logits[:, targets]                                     # (N, N): r[b, j] = r_{b, y_j}
    diff = r.diagonal()[:, None] - r
    return -F.logsigmoid(diff[keep]).mean()


class SessionLoss:
    """The loss of a language model over item ids on :class:`SessionParallelBatches`.

    Carries the recurrent state from step to step (detached: each step is one click) and
    zeroes it on the lanes that start a session, so no information crosses a session
    boundary. ``kind="xe"``: full-softmax cross-entropy ``-mean log softmax(logits)[y]`` over
    the non-idle lanes, which it counts; ``kind="bpr"``: :func:`bpr_in_batch` over them
    (pairwise ranking with the other lanes' targets as negatives), counting the lanes that
    have at least one negative (``0``, and a loss of ``0``, when none has).

    :meth:`state_dict` / :meth:`load_state_dict` save and restore the carried state (tensors
    and plain values), so that a run resumed in the middle of a pass carries on with the
    lanes' states of the straight run.
    """

    def __init__(self, kind: str = "xe") -> None:
        if kind not in LOSSES:
            raise ValueError(f"kind must be one of {', '.join(LOSSES)}, got {kind!r}")
        self.kind = kind
        self.state: Any = None

    def reset(self) -> None:
        self.state = None

    def fresh(self) -> SessionLoss:
        return SessionLoss(self.kind)

    def state_dict(self) -> dict[str, Any]:
        """``{"kind": str, "state": None | Tensor | tuple of Tensors}``: the carried state
        ``(layers, B, H)`` (an LSTM's ``(h, c)``), on the CPU."""
        return {"kind": self.kind, "state": to_device(detach(self.state), torch.device("cpu"))}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (of a loss of the same kind); the state moves to the
        model's device at the next step."""
        if not isinstance(state, dict) or "state" not in state:
            raise ValueError(f"expected a SessionLoss.state_dict(), got {state!r}")
        if state.get("kind", self.kind) != self.kind:
            raise ValueError(f"the saved state is of a {state['kind']!r} loss, this loss is "
                             f"{self.kind!r}: resume with the same kind of loss")
        self.state = state["state"]

    def __call__(self, model: nn.Module, batch: SessionBatch) -> tuple[Tensor, int]:
        x, y, start = batch
        state = to_device(self.state, x.device) if self.state is not None else None
        logits, state = model(x, reset_lanes(state, start))
        self.state = detach(state)
        busy = y.reshape(-1) != IGNORE
        logits = logits.reshape(-1, logits.size(-1))
        if self.kind == "bpr":
            targets = y.reshape(-1)[busy]
            ranked = int(in_batch_negatives(targets).any(1).sum())  # lanes with a negative
            if ranked == 0:  # no negative in the batch: nothing to learn from this step
                return logits.sum() * 0.0, 0
            return bpr_in_batch(logits[busy], targets), ranked
        n = int(busy.sum())
        loss = F.cross_entropy(logits, y.reshape(-1), ignore_index=IGNORE,
                               reduction="sum") / max(n, 1)
        return loss, n


# --------------------------------------------------------------------------------------------
# Ranking metrics over the full item set
# --------------------------------------------------------------------------------------------

def target_ranks(scores: Tensor | np.ndarray, targets: Tensor | np.ndarray,
                 ties: str = "pessimistic") -> np.ndarray:
    """The rank (1 = best) of each target among all items: ``scores`` ``(N, V)``, ``targets``
    ``(N,)``. ``1 + #higher + #tied others`` (pessimistic), ``1 + #higher`` (optimistic) or
    ``1 + #higher + #tied others / 2`` (mean). Float64 array ``(N,)``."""
    if ties not in TIES:
        raise ValueError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
    s = torch.as_tensor(scores)
    t = torch.as_tensor(targets, device=s.device).long()
    if s.dim() != 2 or t.shape != (s.size(0),):
        raise ValueError(f"expected scores (N, V) and targets (N,), got {tuple(s.shape)} "
                         f"and {tuple(t.shape)}")
    if s.size(0) and (t.min() < 0 or t.max() >= s.size(1)):
        raise ValueError(f"targets must lie in [0, {s.size(1)})")
    if torch.isnan(s).any():
        raise ValueError("scores contain NaN: a NaN cannot be ranked")
    mine = s.gather(1, t[:, None])
    higher = (s > mine).sum(1).double()
    tied = (s == mine).sum(1).double() - 1
    extra = {"pessimistic": tied, "optimistic": 0 * tied, "mean": tied / 2}[ties]
    return (1 + higher + extra).cpu().numpy()


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def recall_mrr(ranks: np.ndarray, k: int = 20) -> tuple[float, float]:
    """``(Recall@k, MRR@k)`` from the targets' ranks; ``k`` is a positive number of items."""
    _check_positive("k", k)
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("no ranks to score")
    hit = ranks <= k
    return float(hit.mean()), float(np.where(hit, 1.0 / ranks, 0.0).mean())


def event_gains(ranks: np.ndarray, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Per event, its hit ``rank <= k`` (0/1) and its reciprocal rank ``1 / rank`` (0 beyond
    ``k``): the terms whose means are Recall@k and MRR@k."""
    _check_positive("k", k)
    ranks = np.asarray(ranks, dtype=np.float64)
    hit = ranks <= k
    return hit.astype(np.float64), np.where(hit, 1.0 / ranks, 0.0)


def paired_bootstrap(a: np.ndarray, b: np.ndarray, groups: np.ndarray, n: int = 2000,
                     seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """``(mean(a - b), low, high)``: the mean paired difference of two methods' per-event
    scores (:func:`event_gains`) and its percentile bootstrap interval at ``level``.

    Each of the ``n`` resamples draws the groups (the test sessions, ``groups[e]`` for event
    ``e``) with replacement and keeps all events of a drawn group, since the events of one
    session are not independent; the difference is that of the resampled events' means. An
    interval above zero says that ``a`` beats ``b`` on test sets like this one, not only on
    this one."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    groups = np.asarray(groups)
    if a.ndim != 1 or a.shape != b.shape or groups.shape != a.shape or a.size == 0:
        raise ValueError(f"expected three equal, non-empty 1-d arrays (one value per event), "
                         f"got shapes {a.shape}, {b.shape} and {groups.shape}")
    _check_positive("n", n)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    _, g = np.unique(groups, return_inverse=True)
    sums = np.bincount(g, weights=a - b)
    counts = np.bincount(g).astype(np.float64)
    rng = np.random.default_rng(seed)
    diffs = np.empty(n)
    for lo in range(0, n, 100):      # 100 resamples at a time: memory stays small
        draw = rng.integers(0, len(sums), size=(min(100, n - lo), len(sums)))
        diffs[lo:lo + len(draw)] = sums[draw].sum(1) / counts[draw].sum(1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float((a - b).mean()), float(low), float(high)


class Events(NamedTuple):
    """The next-item events of a list of sessions, in order: for event ``e`` the session
    ``session[e]``, the number of items seen ``position[e]`` (1 .. n-1), the session's
    length ``length[e]`` and the ``target[e]`` item."""

    session: np.ndarray
    position: np.ndarray
    length: np.ndarray
    target: np.ndarray


def events(sessions: Sequence[Sequence[int]]) -> Events:
    """Every event ``(s_1..s_t -> s_{t+1})`` of ``sessions`` (``sum(n - 1)`` of them)."""
    sess, pos, length, target = [], [], [], []
    for k, s in enumerate(sessions):
        n = len(s)
        sess += [k] * (n - 1)
        pos += range(1, n)
        length += [n] * (n - 1)
        target += list(s[1:])
    return Events(*(np.asarray(a, dtype=np.int64) for a in (sess, pos, length, target)))


def sample_negatives(targets: np.ndarray, n_items: int, n: int,
                     rng: np.random.Generator) -> np.ndarray:
    """For each target, ``n`` distinct other items drawn uniformly: ``(N, n)`` int64."""
    targets = np.asarray(targets, dtype=np.int64)
    if not 0 < n < n_items:
        raise ValueError(f"the number of negatives must lie in [1, {n_items - 1}], got {n}")
    draws = np.argsort(rng.random((len(targets), n_items - 1)), axis=1)[:, :n]
    return draws + (draws >= targets[:, None])  # skip the target: items 0..V-1 minus it


def rank_events(scorer: Scorer, sessions: Sequence[Sequence[int]], ties: str = "pessimistic",
                chunk: int = 512, negatives: Optional[int] = None, seed: int = 0
                ) -> np.ndarray:
    """The target rank of every event of ``sessions`` (in :func:`events` order).

    ``scorer(sessions)`` returns a ``(sum(n - 1), V)`` array: the scores after each prefix of
    each session, in order. Sessions are scored ``chunk`` at a time, so memory stays small.
    Every method of the chapter is scored by this one function.

    By default the rank is over all ``V`` items. With ``negatives=m`` it is the *sampled* rank
    among the target and ``m`` other items drawn uniformly for each event (the same draws for
    every scorer, given ``seed``): the shortcut whose results Krichene and Rendle (2020) showed
    to be inconsistent with the full ranking. A sampled rank is never worse than the full
    one (the target meets a subset of its competitors).

    Sessions of a single item have no event; a chunk of only such sessions is not scored.
    """
    _check_positive("chunk", chunk)
    out, rng = [], np.random.default_rng(seed)
    for lo in range(0, len(sessions), chunk):
        part = sessions[lo:lo + chunk]
        want = sum(max(len(s) - 1, 0) for s in part)
        if want == 0:
            continue
        scores = np.asarray(scorer(part))
        if scores.shape[0] != want:
            raise ValueError(f"the scorer gave {scores.shape[0]} rows for {want} events")
        targets = np.array([i for s in part for i in s[1:]], dtype=np.int64)
        if negatives is not None:
            neg = sample_negatives(targets, scores.shape[1], negatives, rng)
            keep = np.concatenate([targets[:, None], neg], axis=1)
            scores, targets = np.take_along_axis(scores, keep, axis=1), np.zeros_like(targets)
        out.append(target_ranks(scores, targets, ties))
    return np.concatenate(out) if out else np.zeros(0)


# --------------------------------------------------------------------------------------------
# A recurrent model as a scorer
# --------------------------------------------------------------------------------------------

def lm_scores(model: nn.Module, batch_size: int = 256) -> Scorer:
    """A scorer from a language model over item ids, ``(ids (B, T), state) -> (logits, state)``.

    Each session runs from a zero state (``state=None``), padded at its end (which a causal
    model never reads before the end); the logits after item ``t`` score the next item. Items
    must be indices ``0 .. V - 1`` of the model's ``V`` outputs; sessions of a single item
    have no event (``(0, V)`` scores when no session has one).
    """
    _check_positive("batch_size", batch_size)

    def score(sessions: Sequence[Sequence[int]]) -> np.ndarray:
        dev, out = model_device(model), []
        with eval_mode(model):
            # the prefix s_1 .. s_{n-1} of each session (one of a single item has no event)
            prefixes = [list(s[:-1]) for s in sessions if len(s) > 1]
            probe, _ = model(torch.zeros(1, 1, dtype=torch.long, device=dev))
            check_items(prefixes, probe.size(-1), "a session to score")
            for lo in range(0, len(prefixes), batch_size):
                ids, lengths = pad(prefixes[lo:lo + batch_size])
                logits, _ = model(ids.to(dev))
                out.append(logits[length_mask(lengths, ids.size(1), dev)].float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, probe.size(-1)), np.float32)

    return score


def breakdown(ranks: np.ndarray, groups: np.ndarray, k: int = 20
              ) -> dict[int, tuple[int, float, float]]:
    """``{group: (events, Recall@k, MRR@k)}`` for each value of ``groups`` (one per event)."""
    return {int(g): (int((groups == g).sum()), *recall_mrr(ranks[groups == g], k))
            for g in np.unique(groups)}


def bucket(values: np.ndarray, edges: Sequence[int]) -> np.ndarray:
    """Each value's bucket: the largest edge ``<= value`` (``edges`` ascending)."""
    e = np.asarray(edges)
    return e[np.searchsorted(e, values, side="right") - 1]



def fit_sessions(model: nn.Module, sessions: Sequence[Sequence[int]], *, epochs: int,
                 batch_size: int, lr: float, loss: str = "xe", seed: int = 0,
                 log=print) -> History:
    """Train a language model over item ids on session-parallel batches with
    :func:`rnnbook.train.train`: :class:`SessionLoss` of kind ``loss`` (``"xe"``, ``"bpr"``),
    Adam, a one-cycle learning rate (5% warm-up, cosine decay), no gradient clipping; a log
    line per epoch.

    A pass's number of steps depends on its shuffle, so the run is ``epochs`` times the first
    pass's steps (a fixed number, the same on every machine)."""
    batches = SessionParallelBatches(sessions, batch_size, seed=seed)
    per_epoch = len(batches)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = per_epoch * epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.05)
    return train(model, batches, SessionLoss(loss), steps=steps, optimizer=opt, scheduler=sched,
                 clip=None, eval_every=per_epoch, progress=False, log=log, unit="click")
