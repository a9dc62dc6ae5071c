"""The language models of the book (count-based n-grams aside: :mod:`rnnbook.ngram`).

Every one maps ``(ids (B, T), state) -> (logits (B, T, V), state)``, so one training loop, one
``generate`` and one scorer (:mod:`rnnbook.tasks.lm`) serve them all:

- :class:`BigramLM`: a table of next-token logits per current token;
- :class:`NPLM`: the neural probabilistic language model of Bengio et al. (2003);
- :class:`CharLM`: embedding, any recurrent layer, linear output (the RNN, LSTM and GRU
  chapters).

**NPLM.** The neural probabilistic language model of Bengio, Ducharme, Vincent and Jauvin (2003).

For the ``n - 1`` tokens before position ``t`` (``context_size = n - 1``)::

    x = [C[w_{t-n+1}]; ...; C[w_{t-1}]]          (B, T, (n-1) m)   shared embedding table C (V, m)
    y = b + W x + U tanh(d + H x)                 (B, T, V)         logits; softmax gives p(w_t | .)

with ``H`` (h, (n-1) m), ``d`` (h,), ``U`` (V, h), ``b`` (V,) and the optional *direct
connections* ``W`` (V, (n-1) m). Parameters: ``V m + h (n-1) m + h + V h + V`` plus ``V (n-1) m``
with direct connections.

**CharLM.** A character language model around any recurrent layer:
embedding -> recurrent layer -> linear.

    e_t = E[x_t]                       (B, T, E)
    h_t = layer(e_1..e_t, state)       (B, T, H)   the top layer's output
    logits_t = h_t W_out^T + b_out     (B, T, V)

Any module with the call signature of ``torch.nn.RNN``/``LSTM``/``GRU`` (``batch_first=True``)
can be the layer, so the RNN, LSTM and GRU chapters train the same model.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import torch
from torch import Tensor, nn

from ..layers import layer_or_kind, output_size


class BigramLM(nn.Module):
    """``p(x_{t+1} | x_t) = softmax(W[x_t])``, with ``W`` a ``(vocab, vocab)`` table.

    It has the interface of every language model in the book: ids ``(batch, time)`` and an
    (unused) state in, logits ``(batch, time, vocab)`` and the state out.
    """

    context_size = 1

    def __init__(self, vocab_size: int):
        super().__init__()
        self.logits = nn.Embedding(vocab_size, vocab_size)
        nn.init.zeros_(self.logits.weight)

    def forward(self, ids: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        return self.logits(ids), None


class NPLM(nn.Module):
    """Bengio et al.'s NPLM with the book's language-model interface.

    ``forward(ids (B, T), state=None) -> (logits (B, T, V), state)``: the logits at position
    ``t`` predict token ``t + 1`` from ``ids[t - n + 2 .. t]``, the last ``n - 1`` tokens up to
    and including ``t``. Windows that reach before the input are filled from ``state``, the
    ``(B, n - 1)`` tokens that precede ``ids``, or with ``pad_id`` when ``state`` is ``None``.
    The returned state is the last ``n - 1`` tokens, so a stream read in chunks (truncated-BPTT
    batches with ``LanguageModelLoss(stateful=True)``) keeps its full context; a caller that
    ignores the state gets left-padded windows. All windows are built at once with ``unfold``.
    """

    def __init__(
        self,
        vocab_size: int,
        context_size: int,
        embed_size: int = 32,
        hidden_size: int = 128,
        direct: bool = True,
        dropout: float = 0.0,
        pad_id: int = 0,
    ):
        super().__init__()
        if context_size < 1:
            raise ValueError(f"context_size (n - 1) must be at least 1, got {context_size}")
        self.context_size, self.pad_id = context_size, pad_id
        self.C = nn.Embedding(vocab_size, embed_size)
        self.H = nn.Linear(context_size * embed_size, hidden_size)  # weight H, bias d
        self.U = nn.Linear(hidden_size, vocab_size)  # weight U, bias b
        self.W = nn.Linear(context_size * embed_size, vocab_size, bias=False) if direct else None
        self.dropout = nn.Dropout(dropout)

    @staticmethod
    def parameters_by_formula(vocab_size: int, context_size: int, embed_size: int,
                              hidden_size: int, direct: bool = True) -> int:
        """``V m + h (n-1) m + h + V h + V`` (C, H, d, U, b), plus ``V (n-1) m`` for ``W``."""
        V, n1, m, h = vocab_size, context_size, embed_size, hidden_size
        return V * m + h * n1 * m + h + V * h + V + (V * n1 * m if direct else 0)

    @torch.no_grad()
    def start_from_unigram(self, train_ids: Tensor) -> NPLM:
        """Set the output bias ``b`` to the add-one unigram log-probabilities of ``train_ids``.

        ``b_w = log((c_w + 1) / (N + V))`` for a word seen ``c_w`` times in ``N`` tokens. ``U``
        starts small, so the untrained model predicts close to the unigram distribution instead
        of the uniform one, and training does not spend its first steps learning word
        frequencies. Returns the model.
        """
        ids = torch.as_tensor(train_ids).flatten().to(torch.long)
        V = self.U.out_features
        if ids.numel() == 0:
            raise ValueError("start_from_unigram needs a non-empty training stream")
        if ids.min() < 0 or ids.max() >= V:
            raise ValueError(f"token ids must lie in [0, {V}), got {int(ids.min())} .. "
                             f"{int(ids.max())}; was the model built for this vocabulary?")
        counts = torch.bincount(ids.cpu(), minlength=V).double() + 1
        self.U.bias.copy_((counts / counts.sum()).log().to(self.U.bias))
        return self

    @property
    def direct(self) -> bool:
        """Whether the direct connections ``W x`` from the embeddings to the output are on."""
        return self.W is not None

    def windows(self, ids: Tensor, state: Optional[Tensor] = None) -> Tensor:
        """The context of every position: ``(B, T, n - 1)`` token ids, oldest first."""
        n1 = self.context_size
        if ids.dim() != 2:
            raise ValueError(f"NPLM takes ids of shape (batch, time), got {tuple(ids.shape)}")
        if state is None:
            state = ids.new_full((ids.size(0), n1), self.pad_id)
        elif tuple(state.shape) != (ids.size(0), n1):
            raise ValueError(f"NPLM: expected a state of shape {(ids.size(0), n1)} (batch, "
                             f"context_size = n - 1 preceding tokens), got {tuple(state.shape)}")
        ext = torch.cat([state.to(ids), ids], dim=1)  # (B, n - 1 + T)
        return ext.unfold(1, n1, 1)[:, 1:]  # window t ends at ids[t]

    def forward(self, ids: Tensor, state: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        win = self.windows(ids, state)
        x = self.C(win).flatten(2)  # (B, T, (n-1) m)
        x = self.dropout(x)
        h = self.dropout(torch.tanh(self.H(x)))  # (B, T, h)
        y = self.U(h)
        if self.W is not None:
            y = y + self.W(x)
        return y, win[:, -1]  # the state: the last n - 1 tokens


class CharLM(nn.Module):
    """Embedding, recurrent layer (``batch_first``), linear output: the book's character LM.

    ``cell`` is a kind (``'rnn'``, ``'lstm'``, ``'gru'``) built by
    :func:`~rnnbook.layers.make_layer` (``torch.nn``, or the book's own with ``scratch=True``),
    or a ready recurrent module with ``batch_first=True`` (then ``hidden_size``, ``num_layers``
    and the layer's dropout are its own). ``dropout`` also acts
    on the layer's output. ``forward(ids (B, T), state=None) -> (logits (B, T, V), state)``,
    where ``state`` is whatever the layer returns (``h`` or ``(h, c)``).
    """

    def __init__(
        self,
        vocab_size: int,
        embed_size: int,
        hidden_size: Optional[int] = None,
        num_layers: int = 1,
        cell: Union[str, nn.Module] = "rnn",
        dropout: float = 0.0,
        scratch: bool = False,
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.rnn = layer_or_kind(cell, embed_size, hidden_size, "CharLM", num_layers=num_layers,
                                 dropout=dropout, scratch=scratch)
        if getattr(self.rnn, "input_size", embed_size) != embed_size:
            raise ValueError(f"the recurrent layer takes {self.rnn.input_size} features, "
                             f"but embed_size={embed_size}")
        width = output_size(self.rnn)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(width, vocab_size)
        self.vocab_size = vocab_size

    def hidden(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """The top layer's hidden states ``(B, T, H)`` and the final state."""
        return self.rnn(self.embed(ids), state)

    def forward(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        if ids.dim() != 2:
            raise ValueError(f"CharLM takes ids of shape (batch, time), got {tuple(ids.shape)}")
        h, state = self.hidden(ids, state)
        return self.out(self.drop(h)), state


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def charlm_parameters(vocab_size: int, embed_size: int, hidden_size: int, num_layers: int = 1,
                      gates: int = 1) -> int:
    """Parameters of a :class:`CharLM` with biases, by formula: ``V*E`` (embedding)
    + ``G*H*(F + H + 2)`` per layer (``F = E`` in the first, ``H`` above) + ``(H + 1)*V``."""
    layers = sum(gates * hidden_size * ((embed_size if k == 0 else hidden_size) + hidden_size + 2)
                 for k in range(num_layers))
    return vocab_size * embed_size + layers + (hidden_size + 1) * vocab_size
