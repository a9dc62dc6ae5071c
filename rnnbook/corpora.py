"""Corpora ready for language modelling: a vocabulary and id tensors per split.

Characters (:func:`char_corpus`), words (:func:`word_corpus`) and names (:func:`names_corpus`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from .text import Vocab, char_tokenize, word_tokenize


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


def word_corpus(text: str, test_fraction: float = 0.1, val_fraction: float = 0.1,
                min_freq: int = 2) -> Corpus:
    """Lower-cased words and punctuation; contiguous train / val / test streams.

    The last ``test_fraction`` of the tokens is the test set; the last ``val_fraction`` of the
    rest is the validation set (for early stopping and mixing weights, never the test set). The
    vocabulary is built from the training stream alone: tokens seen fewer than ``min_freq``
    times there become ``<unk>`` everywhere.
    """
    tokens = word_tokenize(text, lower=True)
    rest, test = contiguous_split(tokens, (1 - test_fraction, test_fraction))
    train, val = contiguous_split(rest, (1 - val_fraction, val_fraction))
    vocab = Vocab.build(train, min_freq=min_freq)

    def ids(part):
        return torch.tensor(vocab.encode(part), dtype=torch.long)

    return Corpus(vocab, ids(train), ids(val), ids(test))


def names_corpus(names: Sequence[str], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                 seed: int = 0, boundary: str = ".") -> Corpus:
    """Names shuffled (seeded) into train / val / test, each split one character stream.

    Every name is followed by ``boundary``, and each stream starts with it: ``.emma.olivia.``.
    The vocabulary is ``boundary`` (id 0) and the letters, with no special tokens. Predicting
    the boundary is predicting the end of a name.
    """
    names = list(names)
    random.Random(seed).shuffle(names)
    parts = contiguous_split(names, fractions)
    chars = sorted(set("".join(names)) - {boundary})
    vocab = Vocab([boundary] + chars, specials=())

    def ids(part):
        text = boundary + "".join(n + boundary for n in part)
        return torch.tensor(vocab.encode(text), dtype=torch.long)

    return Corpus(vocab, *(ids(p) for p in parts))


__all__ = ["Corpus", "contiguous_split", "char_corpus", "word_corpus", "names_corpus"]
