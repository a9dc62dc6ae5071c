"""The smallest language model: a table of next-token logits per current token."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


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
