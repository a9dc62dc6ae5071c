"""Sequence labelling: data from CoNLL-U treebanks, batches, a masked loss, a baseline, scores.

A tagging example is a sentence and one tag per word: ``(["show", "me", "flights"],
["VERB", "PRON", "NOUN"])``. Batches are padded; padded tag positions hold
:data:`~rnnbook.text.IGNORE` (-100), which the loss skips, and the tagger packs or masks the
padding away, so it changes nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..batching import PaddedBatches
from ..evaluation import outputs
from ..text import IGNORE, PAD, UNK, Vocab, pad_collate

Pair = tuple[list[str], list[str]]  # (words, tags) of one sentence


def words_and_tags(sentences: Iterable[Any], column: str = "upos") -> list[Pair]:
    """``(words, tags)`` per sentence from ``conllu.TokenList``s.

    Only syntactic words count: multi-word tokens (``don't`` with id ``1-2``, whose parts
    ``do`` and ``n't`` carry the tags) and empty nodes (ids like ``8.1``) are skipped.
    """
    pairs = []
    for sentence in sentences:
        tokens = [t for t in sentence if isinstance(t["id"], int)]
        pairs.append(([t["form"] for t in tokens], [t[column] for t in tokens]))
    return pairs


@dataclass
class TaggingVocabs:
    """Vocabularies of a tagging task: words (``<pad>``, ``<unk>``), tags, characters."""

    words: Vocab
    tags: Vocab
    chars: Vocab
    lower: bool = True

    @classmethod
    def build(cls, pairs: Sequence[Pair], min_freq: int = 1, lower: bool = True
              ) -> TaggingVocabs:
        """Count the training sentences; words seen fewer than ``min_freq`` times are unknown."""
        norm = (lambda w: w.lower()) if lower else (lambda w: w)
        words = Vocab.build((norm(w) for ws, _ in pairs for w in ws), min_freq=min_freq,
                            specials=(PAD, UNK))
        tags = Vocab.build((t for _, ts in pairs for t in ts), specials=())
        chars = Vocab.build((c for ws, _ in pairs for w in ws for c in w), specials=(PAD, UNK))
        return cls(words, tags, chars, lower)

    def word_ids(self, words: Sequence[str]) -> list[int]:
        return self.words.encode(w.lower() if self.lower else w for w in words)

    def tag_ids(self, tags: Sequence[str]) -> list[int]:
        """Tag ids; a tag the training data never had (e.g. PUNCT in ATIS) becomes ``IGNORE``."""
        return [self.tags.stoi.get(t, IGNORE) for t in tags]

    def known(self, word: str) -> bool:
        """Whether ``word`` has its own embedding (it is not ``<unk>``)."""
        return (word.lower() if self.lower else word) in self.words.stoi


class TaggedBatch(NamedTuple):
    """A batch of tagged sentences; padded tags are ``IGNORE``, ``chars`` is ``None`` unless
    the batches spell their words."""

    words: torch.Tensor  #: (B, T) word ids, padded
    lengths: torch.Tensor  #: (B,) real words per sentence
    tags: torch.Tensor  #: (B, T) tag ids, IGNORE where padded
    chars: Optional[torch.Tensor] = None  #: (B, T, C) character ids, 0 = padding


class TaggedBatches(PaddedBatches):
    """Padded batches of tagged sentences: :class:`TaggedBatch` ``(words (B, T), lengths (B,),
    tags (B, T), chars)``, with ``chars (B, T, C)`` when ``chars=True`` (character ids,
    0 = padding), else ``None``.

    Padded tags are ``IGNORE``. Shuffling and length-sorting work as in
    :class:`~rnnbook.batching.PaddedBatches`; with ``shuffle=False`` the order is the input's.
    """

    def __init__(self, pairs: Sequence[Pair], vocabs: TaggingVocabs, batch_size: int,
                 chars: bool = False, shuffle: bool = True, seed: int = 0,
                 sort_by_length: bool = False):
        for k, (ws, ts) in enumerate(pairs):
            if len(ws) != len(ts):
                raise ValueError(f"sentence {k} has {len(ws)} words but {len(ts)} tags; every "
                                 "word needs exactly one tag")
        examples = [(vocabs.word_ids(ws), vocabs.tag_ids(ts)) for ws, ts in pairs]
        super().__init__(examples, batch_size, pad_id=vocabs.words.pad_id, shuffle=shuffle,
                         seed=seed, sort_by_length=sort_by_length)
        self.spellings = [[vocabs.chars.encode(w) for w in ws] for ws, _ in pairs] if chars \
            else None

    def __iter__(self):
        collate = pad_collate(self.pad_id)
        for idx in self._batches():
            x, lengths, y = collate([self.examples[i] for i in idx])
            if self.spellings is None:
                yield TaggedBatch(x, lengths, y)
                continue
            longest = max(len(w) for i in idx for w in self.spellings[i])
            chars = torch.zeros(*x.shape, longest, dtype=torch.long)
            for b, i in enumerate(idx):
                for t, w in enumerate(self.spellings[i]):
                    chars[b, t, :len(w)] = torch.tensor(w)
            yield TaggedBatch(x, lengths, y, chars)


class TaggingLoss:
    """Token-level cross-entropy over real tokens only: padded targets (``IGNORE``) are skipped.

    ``loss_fn(model, batch) -> (mean loss per token, tokens)`` for a :class:`TaggedBatch`, for
    :func:`rnnbook.train` and :func:`rnnbook.evaluate`.
    """

    def __call__(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        words, lengths, tags, *chars = batch
        chars = [c for c in chars if c is not None]
        logits = model(words, lengths, *chars)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tags.reshape(-1),
                               ignore_index=IGNORE)
        return loss, int((tags != IGNORE).sum())


def predict(model: nn.Module, pairs: Sequence[Pair], vocabs: TaggingVocabs,
            batch_size: int = 256, chars: Optional[bool] = None) -> list[list[str]]:
    """The model's tags for every word of every sentence, as strings, in order: its best path
    (``model.decode``, e.g. a CRF's Viterbi) when it has one, else the arg-max per word."""
    if chars is None:
        chars = getattr(model, "chars", None) is not None
    best_path = hasattr(model, "decode")

    def step(m: nn.Module, b: TaggedBatch) -> list[list[str]]:
        spell = () if b.chars is None else (b.chars,)
        best = (m.decode(b.words, b.lengths, *spell) if best_path
                else m(b.words, b.lengths, *spell).argmax(-1)).cpu()
        return [vocabs.tags.decode(best[i, :n]) for i, n in enumerate(b.lengths.tolist())]

    return outputs(model, TaggedBatches(pairs, vocabs, batch_size, chars=chars, shuffle=False),
                   step)


class MostFrequentTag:
    """The baseline: each word gets the tag it had most often in training.

    A word never seen in training gets the tag most common among words seen exactly once
    (rare words are a good sample of unseen ones: mostly nouns and names).
    """

    def __init__(self, lower: bool = True):
        self.lower = lower
        self.table: dict[str, str] = {}
        self.default = ""

    def _norm(self, w: str) -> str:
        return w.lower() if self.lower else w

    def fit(self, pairs: Sequence[Pair]) -> MostFrequentTag:
        counts: dict[str, Counter] = defaultdict(Counter)
        for ws, ts in pairs:
            for w, t in zip(ws, ts):
                counts[self._norm(w)][t] += 1
        # ties go to the alphabetically first tag, so the table does not depend on order
        self.table = {w: min(c, key=lambda t: (-c[t], t)) for w, c in counts.items()}
        rare = Counter(t for w, c in counts.items() if sum(c.values()) == 1 for t in c)
        every = Counter(t for c in counts.values() for t in c.elements())
        pool = rare or every
        self.default = min(pool, key=lambda t: (-pool[t], t))
        return self

    def predict(self, pairs: Sequence[Pair]) -> list[list[str]]:
        return [[self.table.get(self._norm(w), self.default) for w in ws] for ws, _ in pairs]


def _same_length(pairs: Sequence[Pair], predicted: Sequence[Sequence[str]]) -> None:
    if len(pairs) != len(predicted):
        raise ValueError(f"{len(pairs)} sentences but {len(predicted)} predictions")


def tag_accuracy(pairs: Sequence[Pair], predicted: Sequence[Sequence[str]],
                 known: Optional[Any] = None) -> dict[str, float]:
    """Token accuracy, and accuracy on words unseen in training.

    ``known(word) -> bool`` says whether a word was seen in training (e.g.
    :meth:`TaggingVocabs.known`). Returns ``accuracy``, ``unseen_accuracy`` (``nan`` if no
    unseen word), ``unseen_rate`` and ``tokens``.
    """
    _same_length(pairs, predicted)
    right = total = unseen_right = unseen = 0
    for (ws, gold), pred in zip(pairs, predicted):
        if len(gold) != len(pred):
            raise ValueError(f"a sentence has {len(gold)} gold tags and {len(pred)} predicted")
        for w, g, p in zip(ws, gold, pred):
            total += 1
            right += g == p
            if known is not None and not known(w):
                unseen += 1
                unseen_right += g == p
    if total == 0:
        raise ValueError("no tokens to score")
    return {"accuracy": right / total,
            "unseen_accuracy": unseen_right / unseen if unseen else float("nan"),
            "unseen_rate": unseen / total, "tokens": total}


def confusion_matrix(pairs: Sequence[Pair], predicted: Sequence[Sequence[str]],
                     labels: Sequence[str]) -> np.ndarray:
    """Counts ``M[i, j]`` of tokens with gold tag ``labels[i]`` predicted as ``labels[j]``
    (tags outside ``labels`` are left out)."""
    _same_length(pairs, predicted)
    index = {t: i for i, t in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for (_, gold), pred in zip(pairs, predicted):
        for g, p in zip(gold, pred):
            if g in index and p in index:
                m[index[g], index[p]] += 1
    return m


def highlight_errors(words: Sequence[str], gold: Sequence[str], predicted: Sequence[str]
                     ) -> str:
    """A tagged sentence in Markdown: ``word/TAG``, errors in bold as ``word/PRED (gold)``."""
    out = []
    for w, g, p in zip(words, gold, predicted):
        out.append(f"{w}/{p}" if g == p else f"**{w}/{p}** (gold {g})")
    return " ".join(out)
