"""Session-based recommendation: rank every item for the next click of a session.

A *session* is a list of item indices ``s_1 .. s_n`` (consecutive repeats collapsed). For each
``t = 1 .. n-1`` a method sees ``s_1 .. s_t`` and scores all ``V`` items, and the event is
scored by the rank of the true next item in that full ranking
(:mod:`rnnbook.tasks.rank_metrics`).

The module holds the data preparation (:func:`time_split`), the loss of GRU4Rec on
session-parallel mini-batches (:class:`SessionLoss`; the batches are
:class:`rnnbook.sessions.SessionParallelBatches`), :func:`fit_sessions`, and :func:`lm_scores`,
which turns any language model over item ids (``(ids, state) -> (logits, state)``) into a
scorer. The ranking metrics live in :mod:`rnnbook.tasks.rank_metrics`, the count-based
baselines (:class:`MostPopular`, :class:`Markov`, :class:`CoOccurrence`,
:class:`SessionItemKNN`) in :mod:`rnnbook.tasks.rank_baselines`; both, and the batches, are
importable from here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..evaluation import outputs
from ..history import History
from ..layers import length_mask
from ..runtime import detach, to_device
from ..sessions import SessionBatch, SessionParallelBatches
from ..text import IGNORE, pad
from ..train import train
from .rank_baselines import CoOccurrence, Markov, MostPopular, SessionItemKNN, check_items
from .rank_metrics import (
    TIES,
    Events,
    RankDifference,
    Scorer,
    breakdown,
    bucket,
    check_positive,
    compare_ranks,
    event_gains,
    events,
    paired_bootstrap,
    rank_events,
    recall_mrr,
    sample_negatives,
    target_ranks,
)

__all__ = [
    "IGNORE", "LOSSES", "collapse_repeats", "SessionSplit", "time_split", "reset_lanes",
    "in_batch_negatives", "bpr_in_batch", "SessionLoss", "next_logits", "lm_scores",
    "fit_sessions",
    # the batches, from rnnbook.sessions
    "SessionBatch", "SessionParallelBatches",
    # the metrics, from rank_metrics
    "TIES", "target_ranks", "recall_mrr", "event_gains", "paired_bootstrap", "RankDifference",
    "compare_ranks", "Events",
    "events", "sample_negatives", "rank_events", "breakdown", "bucket",
    # the count-based baselines, from rank_baselines
    "MostPopular", "Markov", "CoOccurrence", "SessionItemKNN", "check_items",
]


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
# The loss on session-parallel mini-batches (Hidasi et al. 2016, Section 3.1)
# --------------------------------------------------------------------------------------------

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
# A recurrent model as a scorer
# --------------------------------------------------------------------------------------------

def next_logits(model: nn.Module, batch: Any) -> Tensor:
    """The step of :func:`lm_scores`: the logits ``(N, V)`` (float32) after every real item
    of the padded prefixes ``batch = (ids (B, T), lengths (B,))``, row by row: ``N`` is
    ``sum(lengths)``."""
    ids, lengths = batch
    logits, _ = model(ids)
    return logits[length_mask(lengths, ids.size(1), ids.device)].float()


def lm_scores(model: nn.Module, batch_size: int = 256) -> Scorer:
    """A scorer from a language model over item ids, ``(ids (B, T), state) -> (logits, state)``.

    Each session runs from a zero state (``state=None``), padded at its end (which a causal
    model never reads before the end); the logits after item ``t`` score the next item. Items
    must be indices ``0 .. V - 1`` of the model's ``V`` outputs; sessions of a single item
    have no event (``(0, V)`` scores when no session has one).
    """
    check_positive("batch_size", batch_size)

    def score(sessions: Sequence[Sequence[int]]) -> np.ndarray:
        # the prefix s_1 .. s_{n-1} of each session (one of a single item has no event)
        prefixes = [list(s[:-1]) for s in sessions if len(s) > 1]
        n_items = outputs(model, [pad([[0]])], next_logits).size(-1)  # V, from one item
        check_items(prefixes, n_items, "a session to score")
        if not prefixes:
            return np.zeros((0, n_items), np.float32)
        batches = [pad(prefixes[lo:lo + batch_size])
                   for lo in range(0, len(prefixes), batch_size)]
        return outputs(model, batches, next_logits).numpy()

    return score


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
    return train(model, batches, SessionLoss(loss), steps=per_epoch * epochs,
                 optimizer=torch.optim.Adam(model.parameters(), lr=lr), lr=lr,
                 schedule="one-cycle", warmup=0.05, clip=None, eval_every=per_epoch,
                 progress=False, log=log, unit="click")
