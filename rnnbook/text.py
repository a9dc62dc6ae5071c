"""Tokenizers, the vocabulary and padding: what old tutorials took from torchtext."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch.nn.utils.rnn import pad_sequence

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
#: the label of a padded position, which every loss skips (``ignore_index`` of PyTorch's losses)
IGNORE = -100

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]|_", re.UNICODE)


def char_tokenize(text: str) -> list[str]:
    """Split text into characters (spaces and newlines included)."""
    return list(text)


def word_tokenize(text: str, lower: bool = True) -> list[str]:
    """Split text into words and punctuation marks: ``"Don't stop!" -> ["don't", "stop", "!"]``.

    Words keep inner apostrophes; every other non-space symbol is a token of its own.
    """
    if lower:
        text = text.lower()
    return _WORD.findall(text)


class Vocab:
    """A two-way map between tokens and integer ids.

    Ids ``0..len(specials)-1`` are the special tokens (by default ``<pad> <unk> <bos> <eos>``),
    the rest are tokens by decreasing frequency (ties alphabetical), so a vocabulary built from
    the same text is always the same. Unknown tokens map to ``<unk>`` when it is a special.
    """

    def __init__(self, tokens: Sequence[str], specials: Sequence[str] = SPECIALS):
        self.specials = tuple(specials)
        self.itos: list[str] = list(self.specials) + [t for t in tokens if t not in self.specials]
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("a vocabulary cannot hold the same token twice")
        self.counts: Counter[str] = Counter()  # token frequencies, filled by build()

    @classmethod
    def build(
        cls,
        tokens: Iterable[str] | Iterable[Sequence[str]],
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = SPECIALS,
    ) -> Vocab:
        """Count ``tokens`` (a flat stream, or token sequences) and keep the frequent ones.

        ``min_freq`` drops tokens seen fewer times; ``max_size`` caps the number of non-special
        tokens. Dropped tokens will encode as ``<unk>``.
        """
        counts: Counter[str] = Counter()
        for item in tokens:
            if isinstance(item, str):
                counts[item] += 1
            else:
                counts.update(item)
        ranked = sorted((t for t, c in counts.items() if c >= min_freq),
                        key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[:max_size]
        vocab = cls(ranked, specials)
        vocab.counts = counts
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        idx = self.stoi.get(token)
        if idx is not None:
            return idx
        if UNK in self.stoi:
            return self.stoi[UNK]
        raise KeyError(f"token {token!r} is not in the vocabulary and it has no {UNK} token; "
                       f"build it with specials that include {UNK!r}")

    def _special(self, token: str) -> int:
        if token not in self.stoi:
            raise AttributeError(
                f"this vocabulary has no {token} token (specials: {self.specials})")
        return self.stoi[token]

    pad_id = property(lambda self: self._special(PAD), doc="Id of ``<pad>``.")
    unk_id = property(lambda self: self._special(UNK), doc="Id of ``<unk>``.")
    bos_id = property(lambda self: self._special(BOS), doc="Id of ``<bos>``.")
    eos_id = property(lambda self: self._special(EOS), doc="Id of ``<eos>``.")

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Token ids for ``tokens``."""
        return [self[t] for t in tokens]

    def decode(self, ids: Iterable[int], skip_specials: bool = False) -> list[str]:
        """Tokens for ``ids`` (a list or a 1-D tensor); optionally drop special tokens."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        n = len(self.specials)
        out = []
        for i in ids:
            if not 0 <= i < len(self.itos):
                raise IndexError(f"id {i} is outside the vocabulary (size {len(self.itos)})")
            if skip_specials and i < n:
                continue
            out.append(self.itos[i])
        return out

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON (specials and tokens in id order)."""
        data = {"specials": list(self.specials), "itos": self.itos[len(self.specials):]}
        Path(path).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data["itos"], data["specials"])

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.itos[:8])
        return f"Vocab(size={len(self)}, [{head}{', ...' if len(self) > 8 else ''}])"


def _id_tensor(seq: Sequence[int] | torch.Tensor) -> torch.Tensor:
    """``seq`` (a list of ints, a NumPy integer array, an integer tensor) as an int64 tensor.

    Float ids are an error, not a silent truncation: a float (or bool) tensor or array is
    rejected; in a Python list only integral numbers (``3`` or ``3.0``) pass.
    """
    t = torch.as_tensor(seq)
    typed = isinstance(seq, torch.Tensor) or hasattr(seq, "dtype")  # a tensor or an array
    if t.numel() == 0:  # nothing to truncate ([] is float32 to torch)
        return t.to(torch.long)
    if t.dtype == torch.bool or t.dtype.is_complex or (typed and t.dtype.is_floating_point):
        raise ValueError(f"token ids must be integers, got a {type(seq).__name__} of "
                         f"dtype {t.dtype}")
    if t.dtype.is_floating_point:
        bad = ~torch.isfinite(t) | (t != t.round())
        if bool(bad.any()):
            raise ValueError(f"token ids must be integers, got {t[bad].flatten()[0].item()}")
    return t.to(torch.long)


def pad(
    sequences: Sequence[Sequence[int] | torch.Tensor], pad_id: int = 0, batch_first: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad id sequences to one length (with ``torch.nn.utils.rnn.pad_sequence``).

    Returns ``(padded, lengths)``: ``padded`` is ``(batch, max_len)`` (or ``(max_len, batch)``
    when ``batch_first=False``), ``lengths`` is ``(batch,)``, int64, on the CPU (as
    ``pack_padded_sequence`` wants). Ids must be integers: a float tensor or array, or a
    non-integral number, raises ``ValueError`` instead of being truncated.
    """
    if len(sequences) == 0:
        raise ValueError("cannot pad an empty batch: it has no sequences")
    seqs = [_id_tensor(s) for s in sequences]
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    if int(lengths.min()) == 0:
        raise ValueError("a sequence in the batch is empty; drop empty sequences before padding")
    out = pad_sequence(seqs, batch_first=batch_first, padding_value=pad_id)
    return out, lengths


def pad_collate(pad_id: int = 0):
    """A ``collate_fn`` for ``(ids, label)`` pairs: returns ``(padded, lengths, labels)``.

    Labels may be integers (classification) or id sequences (tagging; padded with
    :data:`IGNORE`, the default ``ignore_index`` of ``cross_entropy``). Float ids or labels
    are an error.
    """
    def collate(batch):
        if len(batch) == 0:
            raise ValueError("cannot collate an empty batch")
        seqs, labels = zip(*batch)
        x, lengths = pad(seqs, pad_id)
        first = labels[0]
        if torch.is_tensor(first) and first.dim() == 0:
            y = _id_tensor(torch.stack([torch.as_tensor(v) for v in labels]))
        elif isinstance(first, (int, float)):  # class labels: integers (a bool counts as 0/1)
            y = _id_tensor([int(v) if isinstance(v, bool) else v for v in labels])
        else:
            y, _ = pad(labels, IGNORE)
        return x, lengths, y

    return collate
