"""Count-based n-gram language models: add-k and interpolated Kneser-Ney, vectorised with NumPy.

An n-gram model predicts token ``w_t`` from the ``n - 1`` tokens before it::

    add-k:       p(w | h) = (c(h w) + k) / (c(h) + k V)
    Kneser-Ney:  p_k(w | h) = max(a_k(h w) - D_k, 0) / a_k(h .)
                              + D_k N1+(h .) / a_k(h .) * p_{k-1}(w | h')

Kneser-Ney here is the *interpolated* form of Chen & Goodman (1999) with one discount ``D_k``
per order; their best smoother, *modified* Kneser-Ney, uses three discounts per order (for
counts 1, 2 and 3 or more), and Kneser & Ney (1995), who introduced continuation counts, used
them in a back-off model. In the recursion ``h'`` is ``h`` without its oldest token; ``a_k`` is
the raw count ``c`` at the highest order and the *continuation count* ``N1+(. h w)`` (the number
of distinct tokens seen before ``h w``) at every lower order; ``a_k(h .)`` is the sum of
``a_k(h v)`` over all ``v``, and ``N1+(h .)`` the number of distinct tokens seen after ``h``. The
recursion ends in the uniform distribution ``p_0 = 1 / V``, so no token ever gets probability
zero. A context never seen in training passes all its mass to the lower order.

Counting is vectorised: the k-gram ending at position ``t`` gets a dense integer id from the id
of the (k-1)-gram ending at ``t - 1`` and the token ``x_t`` (key ``id * V + x_t``, numbered with
``np.unique``); held-out n-grams are found with ``np.searchsorted``. So a word-level model of a
million tokens fits in seconds, and scoring a stream has no Python loop over positions.

Scoring a stream ``x_0 .. x_{N-1}`` predicts ``x_1 .. x_{N-1}`` (the first token has no context);
the first ``n - 2`` of these use the shorter context that exists (``x_0 .. x_{t-1}``).
"""

from __future__ import annotations

import math
from typing import Sequence, Union

import numpy as np

Ids = Union[Sequence[int], np.ndarray, "torch.Tensor"]  # noqa: F821


def as_ids(ids: Ids) -> np.ndarray:
    """A 1-D int64 NumPy array from a list, an array or a tensor of token ids.

    Ids must be integers: a float (or bool) array or tensor, or a non-integral number in a
    list, raises ``ValueError`` instead of being truncated.
    """
    typed = hasattr(ids, "dtype")  # an array or a tensor, whose dtype says what it holds
    if hasattr(ids, "detach"):
        ids = ids.detach().cpu().numpy()
    arr = np.asarray(ids)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False).reshape(-1)
    if arr.size == 0:  # nothing to truncate ([] is float64 to NumPy)
        return np.zeros(0, dtype=np.int64)
    if typed or arr.dtype.kind != "f":
        raise ValueError(f"token ids must be integers, got an array of dtype {arr.dtype}")
    bad = ~np.isfinite(arr) | (arr != np.round(arr))
    if bad.any():
        raise ValueError(f"token ids must be integers, got {arr[bad].flat[0]!r}")
    return arr.astype(np.int64).reshape(-1)


def _gram_keys(prev: np.ndarray, x: np.ndarray, vocab_size: int) -> np.ndarray:
    """Key of the k-gram ending at each position ``t``: ``id_{k-1}[t-1] * V + x[t]``, or -1."""
    keys = np.full(len(x), -1, dtype=np.int64)
    if len(x) > 1:
        ok = prev[:-1] >= 0
        keys[1:][ok] = prev[:-1][ok] * vocab_size + x[1:][ok]
    return keys


class _NGramCounts:
    """The n-gram trie of a training stream, for orders ``1..order``.

    For order ``k``: ``keys[k]`` (sorted unique keys ``prefix_id * V + w``), ``count[k]`` (raw
    counts), ``cont[k]`` (continuation counts ``N1+(. g)``), ``prefix[k]`` (the id of each
    k-gram's (k-1)-gram prefix; 0 is the empty context of the unigrams).
    """

    def __init__(self, x: np.ndarray, order: int, vocab_size: int):
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        if len(x) < 2:
            raise ValueError("fit needs a training stream of at least two tokens")
        if x.min() < 0 or x.max() >= vocab_size:
            raise ValueError(f"token ids must lie in 0..{vocab_size - 1}, "
                             f"found {x.min()}..{x.max()}")
        self.order, self.V = order, vocab_size
        self.keys: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        self.count: list[np.ndarray] = [np.array([len(x)], dtype=np.int64)]
        self.prefix: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        ids_by_order: list[np.ndarray] = [np.zeros(len(x), dtype=np.int64)]  # 0-gram: empty
        for k in range(1, order + 1):
            if k == 1:
                keys = x.copy()
            else:
                keys = _gram_keys(ids_by_order[k - 1], x, vocab_size)
            valid = keys >= 0
            uniq, inverse, counts = np.unique(keys[valid], return_inverse=True,
                                              return_counts=True)
            ids = np.full(len(x), -1, dtype=np.int64)
            ids[valid] = inverse
            ids_by_order.append(ids)
            self.keys.append(uniq)
            self.count.append(counts)
            self.prefix.append(uniq // vocab_size if k > 1 else np.zeros(len(uniq), np.int64))
        # continuation counts: N1+(. g) = number of distinct (k+1)-grams whose suffix is g
        self.cont: list[np.ndarray] = []
        for k in range(order + 1):
            if k == order:
                self.cont.append(np.zeros(0, dtype=np.int64))
                continue
            up = ids_by_order[k + 1]
            pos = np.flatnonzero(up >= 0)
            _, first = np.unique(up[pos], return_index=True)
            suffix = ids_by_order[k][pos[first]]  # the k-gram ending where each type ends
            self.cont.append(np.bincount(suffix, minlength=len(self.keys[k])))

    def lookup(self, x: np.ndarray) -> list[np.ndarray]:
        """Ids of the k-grams ending at each position of ``x`` (``-1``: not in training)."""
        out = [np.zeros(len(x), dtype=np.int64)]
        for k in range(1, self.order + 1):
            keys = x.copy() if k == 1 else _gram_keys(out[k - 1], x, self.V)
            out.append(self._find(k, keys))
        return out

    def _find(self, k: int, keys: np.ndarray) -> np.ndarray:
        table = self.keys[k]
        ids = np.full(keys.shape, -1, dtype=np.int64)
        valid = keys >= 0
        if len(table) == 0 or not valid.any():
            return ids
        pos = np.searchsorted(table, keys[valid])
        pos = np.minimum(pos, len(table) - 1)
        hit = table[pos] == keys[valid]
        found = np.where(hit, pos, -1)
        ids[valid] = found
        return ids


class _CountLM:
    """What add-k and Kneser-Ney share: fitting, scoring a stream, sampling."""

    def __init__(self, order: int, vocab_size: int):
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be positive, got {vocab_size}")
        self.order, self.vocab_size = order, vocab_size
        self.counts: _NGramCounts | None = None

    def fit(self, ids: Ids):
        """Count the n-grams of a training stream of token ids; return ``self``."""
        self.counts = _NGramCounts(as_ids(ids), self.order, self.vocab_size)
        self._prepare()
        return self

    def _prepare(self) -> None:  # per-order tables, after counting
        raise NotImplementedError

    def _check(self) -> _NGramCounts:
        if self.counts is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call .fit(train_ids) first")
        return self.counts

    def _level(self, k: int, ctx: np.ndarray, gram: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """``p_k(w | h)`` from the k-gram ids, their context ids and ``p_{k-1}``."""
        raise NotImplementedError

    def _base(self, n: int) -> np.ndarray:
        return np.full(n, 1.0 / self.vocab_size)

    def _scored_stream(self, ids: Ids):
        """Check a stream to score; return the counts, the ids and their n-gram look-ups."""
        counts = self._check()
        x = as_ids(ids)
        if len(x) < 2:
            raise ValueError("scoring needs a stream of at least two tokens")
        if x.min() < 0 or x.max() >= self.vocab_size:
            raise ValueError(f"token ids must lie in 0..{self.vocab_size - 1}")
        return counts, x, counts.lookup(x)

    def log_probs(self, ids: Ids) -> np.ndarray:
        """``log p(x_t | context)`` in nats for ``t = 1 .. N-1`` (see the module docstring)."""
        counts, x, grams = self._scored_stream(ids)
        p = self._base(len(x) - 1)
        for k in range(1, self.order + 1):
            # context: the (k-1)-gram ending at t-1; gram: the k-gram ending at t; t = 1..N-1
            ctx, gram = grams[k - 1][:-1], grams[k][1:]
            usable = np.arange(1, len(x)) >= k - 1  # position t has a context of k-1 tokens
            p = np.where(usable, self._level(k, ctx, gram, p), p)
        return np.log(p)

    def log_prob(self, ids: Ids) -> float:
        """Total log-probability (nats) of ``x_1 .. x_{N-1}`` given ``x_0``."""
        return float(self.log_probs(ids).sum())

    def cross_entropy(self, ids: Ids) -> float:
        """Mean nats per predicted token over the stream (``x_1 .. x_{N-1}``)."""
        return float(-self.log_probs(ids).mean())

    def perplexity(self, ids: Ids) -> float:
        """``exp(cross_entropy)``."""
        return math.exp(self.cross_entropy(ids))

    def probs(self, context: Ids) -> np.ndarray:
        """``p(w | context)`` for every ``w`` in the vocabulary (its last ``n-1`` ids count)."""
        counts = self._check()
        ctx = as_ids(context)[-(self.order - 1):] if self.order > 1 else np.zeros(0, np.int64)
        V = self.vocab_size
        if len(ctx) and (ctx.min() < 0 or ctx.max() >= V):
            raise ValueError(f"token ids must lie in 0..{V - 1}")
        words = np.arange(V, dtype=np.int64)
        p = self._base(V)
        for k in range(1, min(self.order, len(ctx) + 1) + 1):
            if k == 1:
                cid = 0
            else:
                hist = counts.lookup(ctx[len(ctx) - (k - 1):])
                cid = int(hist[k - 1][-1])
            keys = np.full(V, -1, dtype=np.int64) if cid < 0 else cid * V + words
            if k == 1:
                keys = words.copy()
            gram = counts._find(k, keys)
            p = self._level(k, np.full(V, cid, dtype=np.int64), gram, p)
        return p / p.sum()  # exact already; this only removes rounding error

    def sample(self, context: Ids, n: int, rng: np.random.Generator | int | None = None
               ) -> list[int]:
        """Draw ``n`` tokens one after another, each from ``p(. | the tokens before it)``."""
        rng = np.random.default_rng(rng)
        seq = list(as_ids(context))
        out: list[int] = []
        for _ in range(n):
            token = int(rng.choice(self.vocab_size, p=self.probs(seq)))
            out.append(token)
            seq.append(token)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(order={self.order}, vocab_size={self.vocab_size})"


class AddKLM(_CountLM):
    """Add-k smoothing: ``p(w | h) = (c(h w) + k) / (c(h) + k V)`` with the raw counts of order n.

    ``k = 1`` is Laplace's rule. Positions with fewer than ``n - 1`` tokens before them use the
    add-k model of the order they can; an unseen context gives the uniform ``1 / V``.
    """

    def __init__(self, order: int, vocab_size: int, k: float = 1.0):
        super().__init__(order, vocab_size)
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        self.k = k

    def _prepare(self) -> None:
        c = self.counts
        self._den = [np.bincount(c.prefix[j], weights=c.count[j],
                                 minlength=len(c.keys[j - 1])) for j in range(1, self.order + 1)]

    def _addk(self, k, ctx, gram):
        c = self.counts
        num = np.where(gram >= 0, c.count[k][np.maximum(gram, 0)], 0.0)
        den = np.where(ctx >= 0, self._den[k - 1][np.maximum(ctx, 0)], 0.0)
        return (num + self.k) / (den + self.k * self.vocab_size)

    def log_probs(self, ids: Ids) -> np.ndarray:
        # the highest order usable at each position decides: recompute per position class
        counts, x, grams = self._scored_stream(ids)
        t = np.arange(1, len(x))
        k_used = np.minimum(t + 1, self.order)  # tokens available before t, plus one
        p = np.empty(len(x) - 1)
        for k in range(1, self.order + 1):
            sel = k_used == k
            if not sel.any():
                continue
            ctx = grams[k - 1][:-1][sel] if k > 1 else np.zeros(int(sel.sum()), np.int64)
            p[sel] = self._addk(k, ctx, grams[k][1:][sel])
        return np.log(p)

    def probs(self, context: Ids) -> np.ndarray:
        counts = self._check()
        ctx = as_ids(context)[-(self.order - 1):] if self.order > 1 else np.zeros(0, np.int64)
        V = self.vocab_size
        k = min(self.order, len(ctx) + 1)
        words = np.arange(V, dtype=np.int64)
        cid = 0 if k == 1 else int(counts.lookup(ctx[len(ctx) - (k - 1):])[k - 1][-1])
        keys = words.copy() if k == 1 else (
            np.full(V, -1, dtype=np.int64) if cid < 0 else cid * V + words)
        p = self._addk(k, np.full(V, cid, dtype=np.int64), counts._find(k, keys))
        return p / p.sum()


class KneserNeyLM(_CountLM):
    """Interpolated Kneser-Ney smoothing in the form of Chen & Goodman (1999), one discount per
    order (not their *modified* Kneser-Ney, which has three)::

        p_k(w | h) = max(a_k(h w) - D_k, 0) / a_k(h .)
                     + D_k N1+(h .) / a_k(h .) * p_{k-1}(w | h')

    ``a_k`` is the raw count at the highest order ``k = n`` and the continuation count
    ``N1+(. h w)`` below it; ``h'`` drops the oldest token of ``h``; ``p_0 = 1 / V``; a context
    ``h`` never seen in training gives ``p_k(w | h) = p_{k-1}(w | h')``.

    ``discount`` is the ``D_k`` of every order (0.75 by default); ``None`` estimates one per
    order from the counts of counts of ``a_k``, ``D_k = n1 / (n1 + 2 n2)``, kept within
    [0.05, 0.95].
    """

    def __init__(self, order: int, vocab_size: int, discount: float | None = 0.75):
        super().__init__(order, vocab_size)
        if discount is not None and not 0 < discount < 1:
            raise ValueError(f"the discount must lie in (0, 1), got {discount}")
        self.discount = discount

    def _prepare(self) -> None:
        c = self.counts
        self._a, self._den, self._types, self.discounts = [None], [None], [None], [None]
        for k in range(1, self.order + 1):
            a = c.count[k] if k == self.order else c.cont[k]
            if self.discount is None:
                n1, n2 = int((a == 1).sum()), int((a == 2).sum())
                d = n1 / (n1 + 2 * n2) if n1 + n2 > 0 and n1 > 0 else 0.5
                d = min(max(d, 0.05), 0.95)
            else:
                d = self.discount
            size = len(c.keys[k - 1])
            self._a.append(a.astype(np.float64))
            self._den.append(np.bincount(c.prefix[k], weights=a, minlength=size))
            self._types.append(np.bincount(c.prefix[k], weights=(a > 0), minlength=size))
            self.discounts.append(d)

    def _level(self, k, ctx, gram, lower):
        a, den, types, d = self._a[k], self._den[k], self._types[k], self.discounts[k]
        safe_ctx = np.maximum(ctx, 0)
        den_h = np.where(ctx >= 0, den[safe_ctx], 0.0)
        seen = den_h > 0
        den_safe = np.where(seen, den_h, 1.0)
        num = np.where(gram >= 0, a[np.maximum(gram, 0)], 0.0)
        gamma = d * np.where(ctx >= 0, types[safe_ctx], 0.0) / den_safe
        p = np.maximum(num - d, 0.0) / den_safe + gamma * lower
        return np.where(seen, p, lower)


def unseen_share(train: Ids, test: Ids,
                 order: int) -> float:
    """Share of the test stream's n-grams (of ``order`` tokens) that never occur in training."""
    tr, te = as_ids(train), as_ids(test)
    if len(te) < order:
        raise ValueError(f"the test stream is shorter than {order} tokens")
    counts = _NGramCounts(tr, order, int(max(tr.max(), te.max())) + 1)
    found = counts.lookup(te)[order][order - 1:]
    return float(np.mean(found < 0))


__all__ = ["AddKLM", "KneserNeyLM", "as_ids", "unseen_share"]
