"""The neural probabilistic language model of Bengio, Ducharme, Vincent and Jauvin (2003).

For the ``n - 1`` tokens before position ``t`` (``context_size = n - 1``)::

    x = [C[w_{t-n+1}]; ...; C[w_{t-1}]]          (B, T, (n-1) m)   shared embedding table C (V, m)
    y = b + W x + U tanh(d + H x)                 (B, T, V)         logits; softmax gives p(w_t | .)

with ``H`` (h, (n-1) m), ``d`` (h,), ``U`` (V, h), ``b`` (V,) and the optional *direct
connections* ``W`` (V, (n-1) m). Parameters: ``V m + h (n-1) m + h + V h + V`` plus ``V (n-1) m``
with direct connections.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn


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
        if state is None:
            state = ids.new_full((ids.size(0), n1), self.pad_id)
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
