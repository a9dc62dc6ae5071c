"""A sequence tagger: one label per token, read from both sides of the sentence.

    e_t = [E[w_t] ; c(w_t)]                  (B, T, E + 2C)  word embedding, spelling features
    h_t = [h->_t ; h<-_t] = BiLSTM(e)_t      (B, T, 2H)      (or H, left to right only)
    logits_t = h_t W^T + b                   (B, T, K)       one score per tag

``c(w)`` is optional: a small BiLSTM over the characters of the word, its two final states
concatenated (as in Lample et al., 2016 and Plank et al., 2016), so a word never seen in
training still gets features from its spelling (suffixes, capitals, digits).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..layers import Lengths
from .encoder import RecurrentEncoder


def distinct_rows(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(rows (U, C), inverse (N,))``: the distinct rows of ``x`` ``(N, C)`` in lexicographic
    order, and for each row of ``x`` the index of its copy, ``rows[inverse] == x``. The same as
    ``torch.unique(x, dim=0, return_inverse=True)``, by ``C`` stable sorts of one column each
    (last column first), which is many times faster on the CPU."""
    order = torch.arange(len(x), device=x.device)
    for j in reversed(range(x.size(1))):
        order = order[torch.sort(x[order, j], stable=True).indices]
    ranked = x[order]
    new = torch.ones(len(x), dtype=torch.bool, device=x.device)
    new[1:] = (ranked[1:] != ranked[:-1]).any(-1)  # a row unlike the one before it
    inverse = torch.empty_like(order)
    inverse[order] = new.cumsum(0) - 1
    return ranked[new], inverse


class CharEncoder(nn.Module):
    """Spell each word: ``chars`` ``(B, T, C)`` (``pad_id`` after each word's last character,
    and everywhere for padded words) -> ``(B, T, 2H)``, zeros for padded words.

    Each distinct word of the batch is spelt once ("the" may occur fifty times in a batch) and
    its features are copied to its every occurrence; the distinct words run through the LSTM
    as one packed batch, so no padding is read. The outputs and gradients are those of
    spelling every token on its own.
    """

    def __init__(self, num_chars: int, embed_size: int = 16, hidden_size: int = 32,
                 pad_id: int = 0):
        super().__init__()
        self.embed = nn.Embedding(num_chars, embed_size, padding_idx=pad_id)
        self.rnn = nn.LSTM(embed_size, hidden_size, batch_first=True, bidirectional=True)
        self.pad_id, self.output_size = pad_id, 2 * hidden_size

    def forward(self, chars: Tensor) -> Tensor:
        real = (chars != self.pad_id).any(-1)  # (B, T): the real words
        out = chars.new_zeros(*chars.shape[:2], self.output_size, dtype=torch.float)
        if real.any():
            words, inverse = distinct_rows(chars[real])  # words[inverse] == chars[real]
            lengths = (words != self.pad_id).sum(-1)  # (U,): characters per distinct word
            packed = pack_padded_sequence(self.embed(words), lengths.cpu(), batch_first=True,
                                          enforce_sorted=False)
            _, (h_n, _) = self.rnn(packed)  # h_n (2, U, H), in the words' order
            spelt = torch.cat([h_n[0], h_n[1]], dim=-1)  # last forward, first backward
            out = out.to(spelt.dtype)
            out[real] = spelt[inverse]  # each word's features at its every occurrence
        return out


class Tagger(nn.Module):
    """Embeddings (+ optional :class:`CharEncoder`) -> (Bi)LSTM -> linear, for every token.

    ``forward(words (B, T), lengths (B,), chars (B, T, C) or None) -> logits (B, T, K)``.
    Padding is packed away (or masked with ``scratch=True``), so it changes no real token's
    logits. ``word_dropout`` replaces each word id by ``unk_id`` with that probability in
    training, so the ``<unk>`` embedding learns what an unseen word looks like.
    """

    def __init__(
        self,
        vocab_size: int,
        num_tags: int,
        embed_size: int = 64,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
        word_dropout: float = 0.0,
        num_chars: int = 0,
        char_embed: int = 16,
        char_hidden: int = 32,
        cell: str = "lstm",
        scratch: bool = False,
        pad_id: int = 0,
        unk_id: int = 1,
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=pad_id)
        self.chars = CharEncoder(num_chars, char_embed, char_hidden) if num_chars else None
        width = embed_size + (self.chars.output_size if self.chars is not None else 0)
        self.encoder = RecurrentEncoder(cell, width, hidden_size, num_layers=num_layers,
                                        bidirectional=bidirectional, dropout=dropout,
                                        scratch=scratch)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(self.encoder.output_size, num_tags)
        self.word_dropout, self.pad_id, self.unk_id = word_dropout, pad_id, unk_id

    def forward(self, words: Tensor, lengths: Lengths, chars: Optional[Tensor] = None
                ) -> Tensor:
        if self.training and self.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.word_dropout
            words = words.masked_fill(drop & (words != self.pad_id), self.unk_id)
        e = self.embed(words)
        if self.chars is not None:
            if chars is None:
                raise ValueError("this tagger spells words: pass chars (B, T, C)")
            e = torch.cat([e, self.chars(chars)], dim=-1)
        h, _ = self.encoder(self.drop(e), lengths)
        return self.out(self.drop(h))
