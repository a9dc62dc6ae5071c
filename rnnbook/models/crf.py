"""A linear-chain conditional random field (Lafferty et al., 2001) on top of a tagger.

A tagger gives every position ``t`` a score per tag, the *emissions* ``e_t`` ``(B, T, K)``.
The CRF adds a score for every pair of neighbouring tags, ``A[i, j]`` for tag ``i`` followed
by tag ``j``, and a score to start (``s``) and to end (``f``) in each tag. A whole tag path
``y = y_1..y_L`` of a sentence of ``L`` words then scores

    score(y) = s[y_1] + sum_{t=1..L} e_t[y_t] + sum_{t=2..L} A[y_{t-1}, y_t] + f[y_L]

and the CRF's probability of the path is ``p(y | x) = exp(score(y)) / Z`` with
``Z = sum over all K^L paths of exp(score(y'))``. Training minimises ``-log p(y | x) =
log Z - score(y)``. ``log Z`` comes from the forward algorithm in log space,

    alpha_1 = s + e_1,   alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + A[i, j]) + e_t[j],
    log Z = logsumexp_j(alpha_L[j] + f[j]),

and the best path from Viterbi, the same recursion with ``max`` for ``logsumexp`` plus
back-pointers. Both cost ``O(L K^2)`` instead of ``O(K^L)``: a loop over time, vectorised over
the batch and the tags. Forbidden transitions (``O`` -> ``I-PER`` in IOB2) can be given a
score of minus infinity, so no decoded path ever contains one. (Hard IOB2 constraints
are this book's choice: Lample et al., 2016 learn every transition score, those from the
start and to the end of a sentence included, without constraints, and tag in IOBES.)
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from ..layers import Lengths, length_mask
from .tagger import Tagger

Constraints = tuple[Tensor, Tensor, Tensor]  # allowed (K, K), allowed start (K,), end (K,)


def iob2_constraints(tags: Sequence[str]) -> Constraints:
    """Which transitions IOB2 allows, for the tag names ``tags`` (in id order).

    ``I-X`` may only follow ``B-X`` or ``I-X``, so it can neither start a sentence nor follow
    ``O``, ``B-Y`` or ``I-Y`` of another type ``Y``; every other transition, start and end is
    allowed. Returns boolean ``(allowed (K, K), start (K,), end (K,))``; ``allowed[i, j]`` is
    for tag ``i`` followed by tag ``j``.
    """
    for t in tags:
        if t != "O" and not (t[:2] in ("B-", "I-") and len(t) > 2):
            raise ValueError(f"{t!r} is not an IOB2 tag (O, B-TYPE or I-TYPE)")
    k = len(tags)
    allowed = torch.ones(k, k, dtype=torch.bool)
    start = torch.ones(k, dtype=torch.bool)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            start[j] = False
            for i, prev in enumerate(tags):
                allowed[i, j] = prev in ("B-" + tag[2:], tag)
    return allowed, start, torch.ones(k, dtype=torch.bool)


def _length_without_path(allowed: Tensor, start: Tensor, end: Tensor) -> Optional[int]:
    """The shortest sentence length for which no tag path is allowed, or ``None`` if every
    length has one. ``reach_t`` (the tags an allowed path of ``t`` words can end in) follows
    ``reach_{t+1}[j] = any_i reach_t[i] & allowed[i, j]``; the sequence of sets repeats
    after finitely many steps, so checking lengths until a repeat covers every length."""
    reach, seen, length = start.clone(), set(), 1
    while True:
        if not bool((reach & end).any()):
            return length
        key = tuple(reach.tolist())
        if key in seen:
            return None
        seen.add(key)
        reach = (reach.unsqueeze(1) & allowed).any(0)
        length += 1


class CRF(nn.Module):
    """A linear-chain CRF over ``K`` tags: transition scores ``A`` ``(K, K)``, start ``s`` and
    end ``f`` ``(K,)`` (see the module's docstring for the equations).

    Every method takes emissions ``(B, T, K)`` and a mask ``(B, T)`` (``True`` on real
    positions: a prefix of each row, at least one per sentence); padded positions change
    nothing. ``constraints`` (e.g. :func:`iob2_constraints`) fixes the score of forbidden
    transitions, starts and ends at ``-inf``.

    - ``log_partition(e, mask) -> log Z`` ``(B,)`` (forward algorithm)
    - ``score(e, tags, mask) -> score(y)`` ``(B,)`` of the tags ``(B, T)`` (padding: any id)
    - ``forward(e, tags, mask) -> -log p(y | x) = log Z - score(y)`` ``(B,)``
    - ``decode(e, mask) -> best path`` ``(B, T)`` (Viterbi; ``-1`` on padded positions)
    """

    def __init__(self, num_tags: int, constraints: Optional[Constraints] = None):
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"a CRF needs at least one tag, not {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        if constraints is None:
            constraints = (torch.ones(num_tags, num_tags, dtype=torch.bool),
                           torch.ones(num_tags, dtype=torch.bool),
                           torch.ones(num_tags, dtype=torch.bool))
        allowed, start, end = (torch.as_tensor(c, dtype=torch.bool) for c in constraints)
        k = num_tags
        if allowed.shape != (k, k) or start.shape != (k,) or end.shape != (k,):
            raise ValueError(f"constraints must be (K, K), (K,), (K,) with K = {k} tags; got "
                             f"{tuple(allowed.shape)}, {tuple(start.shape)}, {tuple(end.shape)}")
        if not (start.any() and end.any()):
            raise ValueError("the constraints forbid every start or every end tag")
        length = _length_without_path(allowed, start, end)
        if length is not None:
            raise ValueError(f"the constraints allow no tag path for a sentence of {length} "
                             "word(s): allow more transitions, starts or ends")
        self.register_buffer("allowed", allowed)
        self.register_buffer("allowed_start", start)
        self.register_buffer("allowed_end", end)

    def forbidden(self, tags: Tensor, mask: Tensor) -> Tensor:
        """Which tag paths ``(B, T)`` the constraints forbid ``(B,)``: a forbidden start, end,
        or transition between two real positions."""
        tags = tags.masked_fill(~mask, 0)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        pair_ok = self.allowed[tags[:, :-1], tags[:, 1:]] | ~mask[:, 1:]
        return ~(self.allowed_start[tags[:, 0]] & self.allowed_end[last] & pair_ok.all(1))

    def scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(A, s, f)`` with the forbidden entries at ``-inf``."""
        no = float("-inf")
        return (self.transitions.masked_fill(~self.allowed, no),
                self.start.masked_fill(~self.allowed_start, no),
                self.end.masked_fill(~self.allowed_end, no))

    def _check(self, emissions: Tensor, mask: Tensor) -> None:
        if emissions.dim() != 3 or emissions.size(-1) != self.num_tags:
            raise ValueError(f"emissions must be (B, T, {self.num_tags}), got "
                             f"{tuple(emissions.shape)}")
        if not emissions.is_floating_point():
            raise TypeError(f"emissions must be floating point, not {emissions.dtype}")
        if emissions.size(0) == 0 or emissions.size(1) == 0:
            raise ValueError(f"empty batch: emissions {tuple(emissions.shape)}")
        if mask.shape != emissions.shape[:2] or mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor {tuple(emissions.shape[:2])}, got "
                             f"{mask.dtype} {tuple(mask.shape)}")
        if not bool(mask[:, 0].all()):
            raise ValueError("every sentence needs at least one word (mask[:, 0] all True)")
        if bool((mask[:, 1:] & ~mask[:, :-1]).any()):
            raise ValueError("the mask must be True on a prefix of each row (padding at the end)")

    def log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """``log Z`` per sentence ``(B,)``: the forward algorithm, in log space."""
        self._check(emissions, mask)
        trans, start, end = self.scores()
        alpha = start + emissions[:, 0]  # (B, K)
        for t in range(1, emissions.size(1)):
            # (B, K, 1) + (K, K) -> (B, K_prev, K_next), summed out over the previous tag
            step = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t:t + 1], step, alpha)  # padding: alpha stays
        return torch.logsumexp(alpha + end, dim=1)

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """The score of the given tag path per sentence ``(B,)``."""
        self._check(emissions, mask)
        if tags.shape != mask.shape:
            raise ValueError(f"tags must be {tuple(mask.shape)}, got {tuple(tags.shape)}")
        real = tags[mask]
        if bool(((real < 0) | (real >= self.num_tags)).any()):
            raise ValueError(f"tag ids must lie in [0, {self.num_tags}) on real positions; "
                             f"got {int(real.min())}..{int(real.max())} (padding may hold any "
                             "id: set the mask False there)")
        trans, start, end = self.scores()
        tags = tags.masked_fill(~mask, 0)  # any valid id; its terms are masked out below
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        pair = trans[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        zero = emissions.new_zeros(())
        total = (torch.where(mask, emit, zero).sum(1)
                 + torch.where(mask[:, 1:], pair, zero).sum(1))
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        return total + start[tags[:, 0]] + end[last]

    def forward(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood ``log Z - score(y)`` per sentence ``(B,)``. A gold path
        that the constraints forbid has probability zero, so its loss would be infinite:
        that raises a ``ValueError`` instead."""
        gold = self.score(emissions, tags, mask)
        bad = self.forbidden(tags, mask)
        if bool(bad.any()):
            b = int(bad.nonzero()[0, 0])
            raise ValueError(f"{int(bad.sum())} gold tag path(s) break the constraints (the "
                             f"first: sentence {b}, tags {tags[b][mask[b]].tolist()}); fix "
                             "the tags (e.g. I-X after O in IOB2) or the constraints")
        return self.log_partition(emissions, mask) - gold

    def decode(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """The highest-scoring path per sentence (Viterbi), ``(B, T)``, ``-1`` where padded."""
        self._check(emissions, mask)
        with torch.no_grad():
            trans, start, end = self.scores()
            delta = start + emissions[:, 0]  # (B, K): best score of a path ending in each tag
            back = []
            for t in range(1, emissions.size(1)):
                best, arg = (delta.unsqueeze(2) + trans).max(dim=1)  # over the previous tag
                keep = mask[:, t:t + 1]
                delta = torch.where(keep, best + emissions[:, t], delta)
                # on padded steps each tag points at itself: the trace passes through them
                ident = torch.arange(self.num_tags, device=arg.device).expand_as(arg)
                back.append(torch.where(keep, arg, ident))
            tag = (delta + end).argmax(dim=1)  # (B,) the best last tag
            path = [tag]
            for arg in reversed(back):  # follow the pointers from the end
                tag = arg.gather(1, tag.unsqueeze(1)).squeeze(1)
                path.append(tag)
            return torch.stack(path[::-1], dim=1).masked_fill(~mask, -1)


class CRFTagger(nn.Module):
    """A :class:`~rnnbook.models.Tagger` whose per-token logits are the emissions of a
    :class:`CRF`: the BiLSTM-CRF of Huang et al. (2015) and Lample et al. (2016).

    ``forward(words (B, T), lengths (B,), chars) -> emissions (B, T, K)`` (the tagger's
    logits); ``nll(words, lengths, tags, chars) -> -log p(tags | words)`` ``(B,)``;
    ``decode(words, lengths, chars) -> best paths (B, T)`` (``-1`` where padded).
    """

    def __init__(self, tagger: Tagger, constraints: Optional[Constraints] = None):
        super().__init__()
        self.tagger = tagger
        self.crf = CRF(tagger.out.out_features, constraints)

    @property
    def chars(self) -> Optional[nn.Module]:
        """The tagger's character encoder (``None`` without one), as on a :class:`Tagger`."""
        return self.tagger.chars

    def forward(self, words: Tensor, lengths: Lengths, chars: Optional[Tensor] = None
                ) -> Tensor:
        return self.tagger(words, lengths, chars)

    def nll(self, words: Tensor, lengths: Lengths, tags: Tensor,
            chars: Optional[Tensor] = None) -> Tensor:
        emissions = self(words, lengths, chars)
        mask = length_mask(lengths, words.size(1), words.device)
        return self.crf(emissions, tags, mask)

    def decode(self, words: Tensor, lengths: Lengths, chars: Optional[Tensor] = None
               ) -> Tensor:
        with torch.no_grad():
            emissions = self(words, lengths, chars)
            return self.crf.decode(emissions,
                                   length_mask(lengths, words.size(1), words.device))
