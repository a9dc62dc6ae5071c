"""A text classifier: read a whole text with a (bi)RNN, pool its states into one vector, classify.

    e_t = E[w_t]  or  [E[w_t] ; c(w_t)]        (B, T, E)   word embedding (+ spelling, E + 2C)
    h_t = [h->_t ; h<-_t] = BiLSTM(e)_t        (B, T, D*H) packed: padding is never read
    s   = pool(h_1 .. h_L)                     (B, D*H)    one vector per text (L real tokens)
    logits = s W^T + b                         (B, K)      one score per class

``c(w)`` is optional: the character BiLSTM of the tagger (:class:`~rnnbook.models.tagger.
CharEncoder`), so a rare or unseen word (a ticker, a misspelling) still gets features from its
spelling. The ids of such a classifier are ``(B, T, 1 + C)``: column 0 the word id, columns
``1..C`` its character ids (0 after the word's last character), as
:func:`rnnbook.tasks.classify.encode` writes them with ``chars=``.

Every pooling looks at the ``L`` real steps of each text only, so padding never changes the
prediction:

- ``last``: the forward state after the last real token and the backward state after the first,
  ``s = [h->_L ; h<-_1]`` (left to right: ``s = h_L``);
- ``mean``: ``s = (1/L) sum_{t<=L} h_t``;
- ``max``: ``s_j = max_{t<=L} h_{t,j}``, feature by feature;
- ``attention`` (:class:`AttentionPooling`): ``s = sum_{t<=L} a_t h_t`` with learned weights
  ``a_t = softmax_t(v^T tanh(W h_t))`` (Yang et al., 2016; Lin et al., 2017).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ..layers import Lengths, length_mask
from .encoder import RecurrentEncoder
from .tagger import CharEncoder

POOLINGS = ("last", "mean", "max", "attention")


def last_pool(h: Tensor, mask: Tensor, bidirectional: bool) -> Tensor:
    """``[h->_L ; h<-_1]`` (bidirectional, ``h`` ``(B, T, 2H)``) or ``h_L`` ``(B, T, H)``."""
    last = (mask.sum(1) - 1).clamp(min=0)  # (B,) index of each text's last real token
    end = h[torch.arange(h.size(0), device=h.device), last]  # (B, D*H)
    if not bidirectional:
        return end
    half = h.size(-1) // 2
    return torch.cat([end[:, :half], h[:, 0, half:]], dim=-1)  # backward half ends at t = 1


def mean_pool(h: Tensor, mask: Tensor) -> Tensor:
    """``(1/L) sum_{t<=L} h_t``: ``(B, T, F)`` -> ``(B, F)``, padded steps left out."""
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1)


def max_pool(h: Tensor, mask: Tensor) -> Tensor:
    """``max_{t<=L} h_t`` per feature: ``(B, T, F)`` -> ``(B, F)``, padded steps left out."""
    return h.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1).values


class AttentionPooling(nn.Module):
    """Learned weighted average of the states of the real tokens.

        u_t = tanh(W h_t + b)                  (B, T, A)
        a_t = softmax_t(v^T u_t)  over t <= L  (B, T)     padded steps get a_t = 0
        s   = sum_t a_t h_t                    (B, F)

    ``forward(h (B, T, F), mask (B, T)) -> (s (B, F), a (B, T))``: the weights come back with
    the result, so a chapter can draw what the model looked at.
    """

    def __init__(self, input_size: int, attention_size: int = 64):
        super().__init__()
        self.proj = nn.Linear(input_size, attention_size)  # W, b
        self.v = nn.Linear(attention_size, 1, bias=False)  # v

    def forward(self, h: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.v(torch.tanh(self.proj(h))).squeeze(-1)  # (B, T)
        a = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
        return torch.bmm(a.unsqueeze(1), h).squeeze(1), a


class TextClassifier(nn.Module):
    """Embedding -> (bi)LSTM/GRU (:class:`RecurrentEncoder`) -> pooling -> linear.

    ``forward(ids (B, T), lengths (B,)) -> logits (B, K)``; :meth:`attention` gives the
    attention weights ``(B, T)`` of ``pooling="attention"``. ``dropout`` acts on the embeddings
    and on the pooled vector. With ``num_chars > 0`` each word is also spelt by a
    :class:`~rnnbook.models.tagger.CharEncoder` (``char_embed``, ``char_hidden`` per
    direction) and ``ids`` are ``(B, T, 1 + C)`` (word id, then character ids). The embedding
    and the recurrent layer are named ``embed`` and ``encoder.rnn``, like
    :class:`~rnnbook.models.CharLM`'s ``embed`` and ``rnn``, so a language model's weights load
    into them (:func:`rnnbook.tasks.pretrain.init_from_lm`).
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_size: int = 64,
                 hidden_size: int = 64, cell: str = "lstm", bidirectional: bool = True,
                 pooling: str = "attention", dropout: float = 0.0, num_layers: int = 1,
                 attention_size: int = 64, scratch: bool = False, pad_id: int = 0,
                 num_chars: int = 0, char_embed: int = 16, char_hidden: int = 32):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=pad_id)
        self.chars = CharEncoder(num_chars, char_embed, char_hidden, pad_id) if num_chars \
            else None
        spelt = self.chars.output_size if self.chars is not None else 0
        self.encoder = RecurrentEncoder(cell, embed_size + spelt, hidden_size,
                                        num_layers=num_layers, bidirectional=bidirectional,
                                        scratch=scratch)
        width = self.encoder.output_size
        self.attend = AttentionPooling(width, attention_size) if pooling == "attention" else None
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(width, num_classes)
        self.pooling, self.bidirectional, self.pad_id = pooling, bidirectional, pad_id

    def states(self, ids: Tensor, lengths: Lengths) -> tuple[Tensor, Tensor]:
        """The encoder's outputs ``(B, T, D*H)`` and the mask of real tokens ``(B, T)``."""
        want = 2 if self.chars is None else 3
        if ids.dim() != want:
            shape = "(batch, time)" if want == 2 else "(batch, time, 1 + characters)"
            raise ValueError(f"this TextClassifier takes ids of shape {shape}, got "
                             f"{tuple(ids.shape)}" + ("" if want == 2 else
                             ": encode the texts with chars= (rnnbook.tasks.classify.encode)"))
        if self.chars is None:
            e = self.embed(ids)
        else:  # word embedding and spelling, side by side
            e = torch.cat([self.embed(ids[..., 0]), self.chars(ids[..., 1:])], dim=-1)
        h, _ = self.encoder(self.drop(e), lengths)
        return h, length_mask(lengths, ids.size(1), h.device)

    def pool(self, h: Tensor, mask: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        """``(pooled (B, F), attention weights (B, T) or None)``."""
        if self.attend is not None:
            return self.attend(h, mask)
        if self.pooling == "last":
            return last_pool(h, mask, self.bidirectional), None
        return (mean_pool if self.pooling == "mean" else max_pool)(h, mask), None

    def forward(self, ids: Tensor, lengths: Lengths) -> Tensor:
        s, _ = self.pool(*self.states(ids, lengths))
        return self.out(self.drop(s))

    def attention(self, ids: Tensor, lengths: Lengths) -> Tensor:
        """Attention weights ``(B, T)`` over the tokens (zeros on padding)."""
        if self.attend is None:
            raise ValueError(f"a classifier with pooling={self.pooling!r} has no attention")
        return self.pool(*self.states(ids, lengths))[1]
