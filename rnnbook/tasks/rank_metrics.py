"""Scoring next-item recommendations over the full item set: target ranks, Recall@k and
MRR@k, per-event gains and their paired bootstrap, the events of a list of sessions, and
:func:`rank_events`, the one function that scores every method.

For each prefix ``s_1 .. s_t`` of a session a method scores all ``V`` items; the *event* is
scored by the rank of the true next item ``s_{t+1}`` in that full ranking (no sampled
negatives):

    rank = 1 + #{j : score_j > score_target} + #{j != target : score_j = score_target}

that is, ties count against the target (*pessimistic*: a method gains nothing from giving many
items the same score; ``ties="optimistic"`` drops the second term, ``"mean"`` halves it).
``Recall@k`` is the share of events with ``rank <= k`` and ``MRR@k`` the mean of ``1 / rank``
over events, with ``0`` when ``rank > k``.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["TIES", "Scorer", "target_ranks", "recall_mrr", "event_gains", "paired_bootstrap",
           "RankDifference", "compare_ranks",
           "Events", "events", "sample_negatives", "rank_events", "breakdown", "bucket",
           "check_positive"]

TIES = ("pessimistic", "optimistic", "mean")
Scorer = Callable[[Sequence[Sequence[int]]], np.ndarray]



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


def check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def recall_mrr(ranks: np.ndarray, k: int = 20) -> tuple[float, float]:
    """``(Recall@k, MRR@k)`` from the targets' ranks; ``k`` is a positive number of items."""
    check_positive("k", k)
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("no ranks to score")
    hit = ranks <= k
    return float(hit.mean()), float(np.where(hit, 1.0 / ranks, 0.0).mean())


def event_gains(ranks: np.ndarray, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Per event, its hit ``rank <= k`` (0/1) and its reciprocal rank ``1 / rank`` (0 beyond
    ``k``): the terms whose means are Recall@k and MRR@k."""
    check_positive("k", k)
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
    check_positive("n", n)
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


class RankDifference(NamedTuple):
    """Recall@k and MRR@k of one method minus another's on the same events, each as
    ``(difference, low, high)``: the mean paired difference and its bootstrap interval."""

    recall: tuple[float, float, float]
    mrr: tuple[float, float, float]


def compare_ranks(a: np.ndarray, b: np.ndarray, groups: np.ndarray, k: int = 20,
                  n: int = 2000, seed: int = 0, level: float = 0.95) -> RankDifference:
    """Two methods' target ranks ``a`` and ``b`` on the same events compared by
    :func:`paired_bootstrap` of their :func:`event_gains` (hits for Recall@k, reciprocal ranks
    for MRR@k), resampling the ``groups`` (the test sessions) with the same draws for both."""
    return RankDifference(*(paired_bootstrap(x, y, groups, n, seed, level)
                            for x, y in zip(event_gains(a, k), event_gains(b, k))))


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
    check_positive("chunk", chunk)
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


def breakdown(ranks: np.ndarray, groups: np.ndarray, k: int = 20
              ) -> dict[int, tuple[int, float, float]]:
    """``{group: (events, Recall@k, MRR@k)}`` for each value of ``groups`` (one per event)."""
    return {int(g): (int((groups == g).sum()), *recall_mrr(ranks[groups == g], k))
            for g in np.unique(groups)}


def bucket(values: np.ndarray, edges: Sequence[int]) -> np.ndarray:
    """Each value's bucket: the largest edge ``<= value`` (``edges`` ascending)."""
    e = np.asarray(edges)
    return e[np.searchsorted(e, values, side="right") - 1]
