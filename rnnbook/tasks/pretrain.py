"""Language-model pre-training for a text classifier: the unlabelled text a language model
reads (:func:`wikitext_tokens`, :func:`lm_stream`) and the copy of its weights into a classifier
(:func:`init_from_lm`)."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import torch
from torch import nn

from ..text import EOS, Vocab
from .classify import tokenize

# WikiText marks split numbers and hyphens as " @-@ ", " @,@ ", " @.@ " and rare words as <unk>
_WIKI_AT = re.compile(r" @(.)@ ")


def wikitext_tokens(text: str) -> list[str]:
    """WikiText-2 as plain words: ``@-@`` markers joined back, ``<unk>`` dropped, headings
    (``= = Title = =``) kept as words, one :data:`~rnnbook.text.EOS` per paragraph."""
    out: list[str] = []
    for line in text.split("\n"):
        words = tokenize(_WIKI_AT.sub(r"\1", line.replace("<unk>", " ")))
        if words:
            out += words + [EOS]
    return out


def lm_stream(token_lists: Iterable[Sequence[str]], vocab: Vocab) -> torch.Tensor:
    """One id stream for a language model: the texts' tokens, each text ended by ``<eos>``
    (a list that already ends with ``<eos>`` gets no second one)."""
    ids: list[int] = []
    for tokens in token_lists:
        ids += vocab.encode(tokens)
        if not tokens or tokens[-1] != EOS:
            ids.append(vocab[EOS])
    return torch.tensor(ids, dtype=torch.long)


def init_from_lm(classifier: nn.Module, lm: nn.Module) -> nn.Module:
    """Copy a language model's embedding and recurrent layer into a classifier.

    ``lm`` is a :class:`~rnnbook.models.CharLM` (``embed``, ``rnn``) over the classifier's
    vocabulary, with a left-to-right layer of the classifier's kind and sizes; the classifier
    (``embed``, ``encoder.rnn``) must be left to right too. Its pooling and output layer keep
    their fresh weights. Returns the classifier.
    """
    if getattr(classifier, "bidirectional", False):
        raise ValueError("a left-to-right language model initialises a left-to-right "
                         "classifier: build it with bidirectional=False")
    with torch.no_grad():
        classifier.embed.weight.copy_(lm.embed.weight)
    classifier.encoder.rnn.load_state_dict(lm.rnn.state_dict())
    return classifier


__all__ = ["wikitext_tokens", "lm_stream", "init_from_lm"]
