"""A word-level LSTM language model worth transferring, and the classifier that inherits it.

:class:`WordLM` (the language model; AWD-LSTM's dropouts, Merity et al. 2018, and an adaptive
softmax, Grave et al. 2017)::

    e_t = drop_words(E)[w_t]                   (B, T, E)  a dropped word loses its whole row
    h_t = LSTM(locked_drop(e))_t               (B, T, H)  one dropout mask for every step
    log p(w_{t+1} | w_<=t) = AdaptiveSoftmax(locked_drop(h_t))

:class:`ConcatPoolClassifier` (ULMFiT's classifier, Howard & Ruder 2018): the same embedding and
left-to-right LSTM, then concat pooling ``s = [h_L ; mean_t h_t ; max_t h_t]`` (B, 3H) and a
small head (batch norm, dropout, linear, ReLU, batch norm, dropout, linear). Both name their
parts ``embed`` and ``rnn`` / ``encoder.rnn``, so
:func:`rnnbook.tasks.pretrain.init_from_lm` copies one into the other.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor, nn

from ..layers import Lengths, length_mask, make_layer
from .classifier import last_pool, max_pool, mean_pool
from .encoder import RecurrentEncoder


def locked_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout with one mask per sequence and feature, the same at every step ``t``
    (variational dropout, Gal & Ghahramani 2016; AWD-LSTM's LockedDropout): ``x`` ``(B, T, F)``."""
    if not training or p == 0:
        return x
    mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p) / (1 - p)
    return x * mask


def embedding_dropout(embed: nn.Embedding, ids: Tensor, p: float, training: bool) -> Tensor:
    """Look up ``ids`` in ``embed`` with whole words dropped: each word type's row is zeroed with
    probability ``p`` (for every occurrence in the batch), the others scaled by ``1/(1-p)``
    (AWD-LSTM's embedding dropout)."""
    if not training or p == 0:
        return embed(ids)
    keep = embed.weight.new_empty(embed.weight.size(0), 1).bernoulli_(1 - p) / (1 - p)
    return nn.functional.embedding(ids, embed.weight * keep, embed.padding_idx)


def adaptive_cutoffs(vocab_size: int, cutoffs: Sequence[int] = (2000, 10000)) -> list[int]:
    """The cutoffs of ``cutoffs`` that fit a vocabulary of ``vocab_size`` (a small vocabulary,
    e.g. at the smoke budget, keeps those below ``vocab_size - 1``, and at least one)."""
    kept = [c for c in cutoffs if 0 < c < vocab_size - 1]
    return kept or [max(1, vocab_size // 2)]


class WordLM(nn.Module):
    """Word embedding -> LSTM -> adaptive softmax: a word-level language model.

    ``forward(ids (B, T), state=None) -> (log-probabilities (B, T, V), state)``, the book's
    interface of every language model (log-probabilities are logits whose softmax is the
    distribution itself). Training reads :meth:`hidden` and :meth:`nll`, which never build the
    ``(B, T, V)`` tensor: the adaptive softmax scores a frequent word with one ``H x (c_0 +
    clusters)`` product and a rare one with a second, smaller product for its cluster
    (:class:`torch.nn.AdaptiveLogSoftmaxWithLoss`, ``div_value`` shrinks each tail cluster's
    projection). ``embed_dropout`` drops word types, ``dropout`` is locked dropout on the
    LSTM's input and output; ``num_layers > 1`` adds dropout ``dropout`` between layers.
    """

    def __init__(self, vocab_size: int, embed_size: int = 200, hidden_size: int = 256,
                 num_layers: int = 1, cutoffs: Sequence[int] = (2000, 10000),
                 div_value: float = 4.0, dropout: float = 0.2, embed_dropout: float = 0.05,
                 pad_id: int = 0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=pad_id)
        self.rnn = make_layer("lstm", embed_size, hidden_size, num_layers, dropout=dropout)
        self.out = nn.AdaptiveLogSoftmaxWithLoss(hidden_size, vocab_size,
                                                 adaptive_cutoffs(vocab_size, cutoffs),
                                                 div_value=div_value)
        self.dropout, self.embed_dropout = dropout, embed_dropout
        self.vocab_size, self.hidden_size = vocab_size, hidden_size

    def hidden(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """The LSTM's outputs after dropout ``(B, T, H)`` and its final state."""
        if ids.dim() != 2:
            raise ValueError(f"WordLM takes ids of shape (batch, time), got {tuple(ids.shape)}")
        e = embedding_dropout(self.embed, ids, self.embed_dropout, self.training)
        h, state = self.rnn(locked_dropout(e, self.dropout, self.training), state)
        return locked_dropout(h, self.dropout, self.training), state

    def nll(self, h: Tensor, targets: Tensor) -> Tensor:
        """Mean negative log-likelihood (nats) of ``targets`` ``(B, T)`` given ``h``
        ``(B, T, H)``."""
        return self.out(h.reshape(-1, h.size(-1)), targets.reshape(-1)).loss

    def forward(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        h, state = self.hidden(ids, state)
        return self.out.log_prob(h.reshape(-1, h.size(-1))).view(*ids.shape, -1), state


class ConcatPoolClassifier(nn.Module):
    """Embedding -> left-to-right LSTM -> concat pooling ``[h_L ; mean ; max]`` -> head.

    ``forward(ids (B, T), lengths (B,)) -> logits (B, K)``. The head is ULMFiT's: batch norm,
    dropout, ``Linear(3H, head_size)``, ReLU, batch norm, dropout, ``Linear(head_size, K)``;
    batch norm puts the pooled features of a language model's LSTM, whatever their scale, on
    one footing. ``dropout`` is locked dropout on the embeddings (and the LSTM's outputs);
    ``head_dropout`` acts in the head. :meth:`layers` lists the parts bottom to top (embedding,
    LSTM, head), the order of discriminative learning rates and gradual unfreezing.
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_size: int = 200,
                 hidden_size: int = 256, num_layers: int = 1, dropout: float = 0.3,
                 head_dropout: float = 0.3, head_size: int = 50, pad_id: int = 0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=pad_id)
        self.encoder = RecurrentEncoder("lstm", embed_size, hidden_size, num_layers=num_layers,
                                        bidirectional=False)
        width = 3 * hidden_size
        self.head = nn.Sequential(
            nn.BatchNorm1d(width), nn.Dropout(head_dropout), nn.Linear(width, head_size),
            nn.ReLU(), nn.BatchNorm1d(head_size), nn.Dropout(head_dropout),
            nn.Linear(head_size, num_classes))
        self.dropout, self.bidirectional = dropout, False

    def layers(self) -> list[nn.Module]:
        """``[embed, encoder, head]``: bottom to top."""
        return [self.embed, self.encoder, self.head]

    def pooled(self, ids: Tensor, lengths: Lengths) -> Tensor:
        """``[h_L ; mean_{t<=L} h_t ; max_{t<=L} h_t]`` ``(B, 3H)``, padding left out."""
        if ids.dim() != 2:
            raise ValueError(f"ConcatPoolClassifier takes ids of shape (batch, time), got "
                             f"{tuple(ids.shape)}")
        e = locked_dropout(self.embed(ids), self.dropout, self.training)
        h, _ = self.encoder(e, lengths)
        h = locked_dropout(h, self.dropout, self.training)
        mask = length_mask(lengths, ids.size(1), h.device)
        return torch.cat([last_pool(h, mask, False), mean_pool(h, mask), max_pool(h, mask)], -1)

    def forward(self, ids: Tensor, lengths: Lengths) -> Tensor:
        return self.head(self.pooled(ids, lengths))
