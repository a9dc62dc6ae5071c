"""Corpora ready for language modelling: a vocabulary and id tensors per split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from .text import Vocab, char_tokenize


@dataclass
class Corpus:
    """A tokenised corpus: ``vocab`` and 1-D int64 id streams per split."""

    vocab: Vocab
    train: torch.Tensor
    val: torch.Tensor
    test: Optional[torch.Tensor] = None

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,}" for k, v in
                          (("train", self.train), ("val", self.val), ("test", self.test))
                          if v is not None)
        return f"Corpus(vocab={len(self.vocab)}, {sizes})"


def contiguous_split(seq: Sequence, fractions: Sequence[float]) -> list:
    """Cut ``seq`` into consecutive pieces of the given fractions (in order, no shuffling).

    Contiguous pieces keep held-out text unseen: a random split of overlapping windows would
    leak training text into the test set.
    """
    if abs(sum(fractions) - 1.0) > 1e-9 or any(f <= 0 for f in fractions):
        raise ValueError(f"fractions must be positive and sum to 1, got {list(fractions)}")
    bounds, acc = [0], 0.0
    for f in fractions:
        acc += f
        bounds.append(round(acc * len(seq)))
    return [seq[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def char_corpus(text: str, fractions: Sequence[float] = (0.9, 0.1)) -> Corpus:
    """Character-level corpus: the first 90% of ``text`` to train, the rest to validate.

    The vocabulary is every character of the whole text, with no special tokens (as in
    char-rnn and nanoGPT), so ids run ``0..V-1``.
    """
    vocab = Vocab.build(char_tokenize(text), specials=())
    ids = torch.tensor(vocab.encode(text), dtype=torch.long)
    parts = contiguous_split(ids, fractions)
    return Corpus(vocab, *parts)
