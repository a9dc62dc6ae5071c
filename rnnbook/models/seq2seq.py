"""An encoder-decoder (sequence to sequence) model, with or without attention.

The encoder reads the source ``x_1 .. x_L`` with a bidirectional RNN (packed: padding is never
read); the decoder is a left-to-right RNN that writes the target one token at a time::

    h_s = [h->_s ; h<-_s] = BiGRU(E_src x)_s        (B, S, K)   K = 2H, the encoder states
    c   = [h->_L ; h<-_1]                           (B, K)      the whole source in one vector
    s_0 = tanh(W_b c + b_b)                         (B, H)      the decoder's first state
    s_t = GRU([E_tgt y_{t-1} ; c], s_{t-1})         (B, H)      (Cho et al., 2014: c at every step)
    c_t = c                       without attention (Sutskever et al., 2014; Cho et al., 2014)
    c_t = sum_s a_ts h_s          with attention,  a_t = softmax_s(score(s_t, h_s))  over s <= L
    o_t = tanh(W_c [s_t ; c_t] + b_c)               (B, H)      Luong et al. (2015)'s h~_t
    p(y_t | y_<t, x) = softmax(W_o o_t + b_o)       (B, V)

The two models differ in one line, the context ``c_t``; everything else (sizes, parameters but
the attention's, data, steps) is shared, so a comparison measures attention and nothing else.
The attention reads the decoder's *current* state ``s_t`` (Luong et al.'s global attention,
without input feeding), so in training the decoder runs over the whole target at once (one
``torch.nn.GRU`` call) and the attention of all steps is one batched product; Bahdanau et al.
(2015) read ``s_{t-1}`` and feed ``c_t`` back into the RNN, which forces a loop over time.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import torch
from torch import Tensor, nn

from ..layers import Lengths, State, length_mask, make_layer
from ..layers.attention import Attention
from .encoder import RecurrentEncoder


class Memory(NamedTuple):
    """What the decoder reads of an encoded source batch."""

    states: Tensor  # (B, S, K) encoder states h_s, zeros at padded steps
    mask: Tensor  # (B, S) True on real source tokens
    summary: Tensor  # (B, K) c = [h->_L ; h<-_1]


def map_state(state: State, fn: Callable[[Tensor], Tensor]) -> State:
    """``fn`` applied to a recurrent state: a tensor or a tuple of them (LSTM's ``(h, c)``)."""
    return fn(state) if isinstance(state, Tensor) else tuple(fn(s) for s in state)


def select(memory: Memory, state: State, index: Tensor) -> tuple[Memory, State]:
    """Rows ``index`` of a memory and of a decoder state (beam search reorders its beams so):
    memory rows on dimension 0, state rows on dimension 1."""
    memory = Memory(*(t.index_select(0, index) for t in memory))
    return memory, map_state(state, lambda s: s.index_select(1, index))


class Seq2Seq(nn.Module):
    """Encoder-decoder over word ids (see the module's docstring for the equations).

    ``attention``: ``None`` (one context vector for the whole source) or a score of
    :class:`~rnnbook.layers.attention.Attention` (``"dot"``, ``"general"``, ``"additive"``).
    ``forward(src (B, S), lengths (B,), tgt_in (B, T)) -> logits (B, T, V_tgt)``, where
    ``tgt_in`` is ``<bos> y_1 .. y_{T-1}`` (teacher forcing). :meth:`encode` and :meth:`step`
    are what decoding uses.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed: int = 128, hidden: int = 256,
                 attention: Optional[str] = "general", cell: str = "gru",
                 dropout: float = 0.2, pad_id: int = 0, scratch: bool = False):
        super().__init__()
        self.pad_id, self.attention_score, self.cell = pad_id, attention, cell
        self.src_embed = nn.Embedding(src_vocab, embed, padding_idx=pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed, padding_idx=pad_id)
        self.encoder = RecurrentEncoder(cell, embed, hidden, bidirectional=True,
                                        scratch=scratch)
        k = self.encoder.output_size
        self.bridge = nn.Linear(k, hidden)
        self.decoder = make_layer(cell, embed + k, hidden, scratch=scratch)
        self.attention = Attention(hidden, k, attention) if attention else None
        self.combine = nn.Linear(hidden + k, hidden)
        self.out = nn.Linear(hidden, tgt_vocab)
        self.drop = nn.Dropout(dropout)
        self.hidden_size, self.tgt_vocab = hidden, tgt_vocab

    def _check(self, src: Tensor, lengths: Lengths) -> Tensor:
        if not isinstance(src, Tensor) or src.dim() != 2:
            raise ValueError("Seq2Seq: the source must be a (batch, steps) tensor of word ids, "
                             f"got {tuple(src.shape) if isinstance(src, Tensor) else src!r}")
        if src.dtype != torch.long:
            raise ValueError(f"Seq2Seq: word ids must be int64, got {src.dtype}")
        if src.size(0) == 0:
            raise ValueError("Seq2Seq: the batch is empty")
        lengths = torch.as_tensor(lengths).flatten()
        if lengths.numel() != src.size(0):
            raise ValueError(f"Seq2Seq: {lengths.numel()} lengths for a batch of "
                             f"{src.size(0)} sources")
        if int(lengths.min()) < 1 or int(lengths.max()) > src.size(1):
            raise ValueError(f"Seq2Seq: lengths must be between 1 and {src.size(1)}, got "
                             f"{lengths.tolist()}")
        return lengths

    def encode(self, src: Tensor, lengths: Lengths) -> tuple[Memory, State]:
        """Read a padded source batch: its :class:`Memory` and the decoder's first state
        ``s_0 = tanh(W_b c + b_b)`` (``(1, B, H)``; an LSTM's cell starts at zero)."""
        lengths = self._check(src, lengths)
        states, h_n = self.encoder(self.drop(self.src_embed(src)), lengths)
        h_n = h_n if isinstance(h_n, Tensor) else h_n[0]  # LSTM: (h_n, c_n)
        summary = torch.cat([h_n[-2], h_n[-1]], dim=-1)  # [h->_L ; h<-_1]
        mask = length_mask(lengths, src.size(1), src.device)
        s0 = torch.tanh(self.bridge(summary)).unsqueeze(0)
        state = (s0, torch.zeros_like(s0)) if self.cell == "lstm" else s0
        return Memory(states, mask, summary), state

    def decode(self, tgt_in: Tensor, memory: Memory, state: State
               ) -> tuple[Tensor, State, Optional[Tensor]]:
        """Teacher-forced decoder over ``tgt_in`` ``(B, T)``: ``(logits (B, T, V), state,
        attention weights (B, T, S) or None)``."""
        if tgt_in.dim() != 2 or tgt_in.size(0) != memory.states.size(0):
            raise ValueError(f"Seq2Seq: expected target ids of shape (batch={memory.states.size(0)}"
                             f", steps), got {tuple(tgt_in.shape)}")
        steps = tgt_in.size(1)
        summary = memory.summary.unsqueeze(1).expand(-1, steps, -1)
        x = torch.cat([self.drop(self.tgt_embed(tgt_in)), summary], dim=-1)
        s, state = self.decoder(x, state)  # (B, T, H): all steps in one call
        if self.attention is None:
            context, weights = summary, None
        else:
            context, weights = self.attention(s, memory.states, memory.mask)
        o = torch.tanh(self.combine(torch.cat([s, context], dim=-1)))
        return self.out(self.drop(o)), state, weights

    def step(self, prev: Tensor, memory: Memory, state: State
             ) -> tuple[Tensor, State, Optional[Tensor]]:
        """One decoding step from the previous tokens ``prev`` ``(B,)``: ``(log-probabilities
        (B, V), state, attention weights (B, S) or None)``."""
        logits, state, weights = self.decode(prev.unsqueeze(1), memory, state)
        return (torch.log_softmax(logits[:, 0].float(), dim=-1), state,
                None if weights is None else weights[:, 0])

    def forward(self, src: Tensor, lengths: Lengths, tgt_in: Tensor) -> Tensor:
        memory, state = self.encode(src, lengths)
        return self.decode(tgt_in, memory, state)[0]


__all__ = ["Memory", "Seq2Seq", "map_state", "select"]
