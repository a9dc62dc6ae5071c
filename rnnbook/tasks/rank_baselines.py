"""The count-based baselines of session-based recommendation, each a scorer for
:func:`rnnbook.tasks.rank.rank_events`: ``scorer(sessions)`` gives a ``(sum(n - 1), V)``
array, the scores of all ``V`` items after each prefix ``s_1 .. s_t`` of each session.

:class:`MostPopular` (training clicks), :class:`Markov` (transitions from the last item),
:class:`CoOccurrence` (sessions holding the last item and the candidate) and
:class:`SessionItemKNN` (cosine item similarity summed over the session, recency weighted).
Items are indices ``0 .. V - 1``, in training and when scoring: an index outside that range
is an error, never wrapped around (NumPy would read ``-1`` as the last item).
"""

from __future__ import annotations

from numbers import Integral
from typing import Optional, Sequence

import numpy as np

__all__ = ["MostPopular", "Markov", "CoOccurrence", "SessionItemKNN", "check_items"]


def check_items(sessions: Sequence[Sequence[int]], n_items: int,
                what: str = "a session") -> None:
    """Raise :class:`ValueError` unless every item of ``sessions`` is an integer index in
    ``[0, n_items)`` (a negative index would silently wrap to the end of a table)."""
    for s in sessions:
        for i in s:
            if not isinstance(i, Integral) or not 0 <= i < n_items:
                raise ValueError(f"{what} holds the item {i!r}, outside the item indices "
                                 f"[0, {n_items}): {list(s)}; map raw IDs to indices as "
                                 "time_split does, and drop the items unseen in training")


def _check_sessions(sessions: Sequence[Sequence[int]], n_items: int) -> None:
    if not sessions:
        raise ValueError("no training sessions")
    check_items(sessions, n_items, "a training session")


def _session_sets(sessions: Sequence[Sequence[int]], n_items: int) -> np.ndarray:
    """``(sessions, V)`` 0/1 matrix: which items each session holds."""
    m = np.zeros((len(sessions), n_items), dtype=np.float64)
    for k, s in enumerate(sessions):
        m[k, list(s)] = 1.0
    return m


class MostPopular:
    """Score = the item's number of clicks in the training sessions; the same for every
    event."""

    def __init__(self, sessions: Sequence[Sequence[int]], n_items: int):
        _check_sessions(sessions, n_items)
        self.counts = np.bincount([i for s in sessions for i in s], minlength=n_items
                                  ).astype(np.float64)

    def __call__(self, sessions: Sequence[Sequence[int]]) -> np.ndarray:
        check_items(sessions, len(self.counts), "a session to score")
        n = sum(len(s) - 1 for s in sessions)
        return np.repeat(self.counts[None], n, axis=0)


class _LastItem:
    """Scores that depend on the last item only: row ``s_t`` of a ``(V, V)`` table."""

    table: np.ndarray

    def __call__(self, sessions: Sequence[Sequence[int]]) -> np.ndarray:
        check_items(sessions, self.table.shape[0], "a session to score")
        return self.table[[i for s in sessions for i in s[:-1]]]


class Markov(_LastItem):
    """First-order Markov: ``score(j | s_t = i) = #(i followed by j)`` in training."""

    def __init__(self, sessions: Sequence[Sequence[int]], n_items: int):
        _check_sessions(sessions, n_items)
        self.table = np.zeros((n_items, n_items))
        pairs = np.array([(a, b) for s in sessions for a, b in zip(s, s[1:])]).reshape(-1, 2)
        np.add.at(self.table, (pairs[:, 0], pairs[:, 1]), 1.0)


class CoOccurrence(_LastItem):
    """``score(j | s_t = i) = #(training sessions holding both i and j)``, ``j != i``."""

    def __init__(self, sessions: Sequence[Sequence[int]], n_items: int):
        _check_sessions(sessions, n_items)
        m = _session_sets(sessions, n_items)
        self.table = m.T @ m
        np.fill_diagonal(self.table, 0.0)


class SessionItemKNN:
    """Item-kNN over the whole session so far, recency weighted:

        score_t(j) = sum_{u=1..t} (u / t) cos(s_u, j),   cos(i, j) = c_ij / sqrt(c_i c_j)

    with ``c_ij`` the number of training sessions holding both items (``c_ii = 0``) and
    ``c_i`` those holding ``i``: the last item weighs 1, the first ``1 / t``. With
    ``neighbours`` (a positive number) only each item's that many most similar items keep
    their similarity.
    """

    def __init__(self, sessions: Sequence[Sequence[int]], n_items: int,
                 neighbours: Optional[int] = None):
        if neighbours is not None and (isinstance(neighbours, bool)
                                       or not isinstance(neighbours, Integral)
                                       or neighbours < 1):
            raise ValueError(f"neighbours must be a positive number of items (or None for "
                             f"all), got {neighbours!r}")
        _check_sessions(sessions, n_items)
        m = _session_sets(sessions, n_items)
        co = m.T @ m
        norm = np.sqrt(np.maximum(np.diag(co), 1.0))
        np.fill_diagonal(co, 0.0)
        self.sim = co / norm[:, None] / norm[None, :]
        if neighbours is not None and neighbours < n_items:
            cut = np.partition(self.sim, -neighbours, axis=1)[:, -neighbours][:, None]
            self.sim = np.where(self.sim >= cut, self.sim, 0.0)

    def __call__(self, sessions: Sequence[Sequence[int]]) -> np.ndarray:
        check_items(sessions, self.sim.shape[0], "a session to score")
        rows = []
        for s in sessions:
            sims = self.sim[list(s[:-1])]                     # (n - 1, V)
            t = np.arange(1, len(s))
            weights = np.tril(np.arange(1, len(s))[None, :] / t[:, None])   # (n-1, n-1): u/t
            rows.append(weights @ sims)
        return np.concatenate(rows) if rows else np.zeros((0, self.sim.shape[1]))
