"""A language model of stacked minGRU (or minLSTM) blocks, after Feng et al. (2024).

The Transformer's pre-norm residual blocks (:class:`~rnnbook.models.transformer.Block`) with a
:class:`~rnnbook.layers.scan.MinRNN` in place of self-attention::

    x_0 = E[ids]                                       (B, T, D)   no positions: the
    x_l = x_{l-1} + MinRNN(LN(x_{l-1}))                            recurrence knows the order
    x_l = x_l + MLP(LN(x_l))
    logits = LN(x_L) W_out^T                           (B, T, V)

A single minGRU layer is a gated linear filter of its inputs (its gates never see ``h``); the
non-linearity between layers (LayerNorm, MLP) is what lets the stack compute more. The state is
the tuple of every layer's last hidden state ``(1, B, D)``: fixed in size, whatever the context.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..layers.scan import MinRNN
from .transformer import BlockLM


class MinRNNLM(BlockLM):
    """``forward(ids (B, T), state=None) -> (logits (B, T, V), state)``; ``kind`` is ``"gru"``
    or ``"lstm"``, ``mode`` ``"parallel"`` or ``"sequential"`` (:class:`MinRNN`)."""

    def __init__(self, vocab_size: int, width: int = 128, num_layers: int = 3,
                 kind: str = "gru", mode: str = "parallel", dropout: float = 0.0,
                 tie_weights: bool = True):
        super().__init__()
        self.embed(vocab_size, width)
        self.stack([MinRNN(width, width, kind, mode) for _ in range(num_layers)], width,
                   dropout, tie_weights)

    def set_mode(self, mode: str) -> None:
        """Switch every layer to ``"parallel"`` or ``"sequential"`` (the same function)."""
        for block in self.blocks:
            block.mixer.mode = mode

    def forward(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        if ids.dim() != 2 or ids.size(1) == 0:
            raise ValueError(f"MinRNNLM takes ids of shape (batch, time) with time >= 1, got "
                             f"{tuple(ids.shape)}")
        return self.through_blocks(self.tok(ids), state)


__all__ = ["MinRNNLM"]
