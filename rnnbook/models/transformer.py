"""A decoder-only Transformer language model (GPT-style, after Vaswani et al., 2017), with the
book's language-model interface ``(ids (B, T), state) -> (logits (B, T, V), state)``.

    x_0 = E[ids] + P[positions]                      (B, T, D)   learned position embeddings
    x_l = x_{l-1} + Attn(LN(x_{l-1}))                             pre-norm residual blocks,
    x_l = x_l + W_2 GELU(W_1 LN(x_l))                             MLP of width 4 D
    logits = LN(x_L) W_out^T                         (B, T, V)   W_out = E when tied

:class:`Block` is the residual block around any *mixer* with the signature
``mixer(x, state) -> (y, state)``: causal self-attention here, a minGRU layer in
:class:`~rnnbook.models.minrnn.MinRNNLM`.

**State.** A Transformer has no recurrent state; what it carries is its *context*: the state
is ``(context ids (B, n), caches)``, with ``caches`` the keys and values of those ``n`` tokens in
every layer (:mod:`~rnnbook.layers.self_attention`). While ``n + T <= block_size``, a call
computes only its ``T`` new positions against the cache (generation: one token per call). The
learned positions stop at ``block_size``; past it the model reads the last ``block_size``
tokens afresh (the cache is rebuilt), and an input longer than the block is read in windows
that advance by half a block, so each token sees at least half a block of context.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from ..layers.self_attention import CausalSelfAttention


class MLP(nn.Module):
    """``W_2 GELU(W_1 x + b_1) + b_2``, hidden width ``ratio * D``."""

    def __init__(self, width: int, ratio: int = 4):
        super().__init__()
        self.fc = nn.Linear(width, ratio * width)
        self.proj = nn.Linear(ratio * width, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(nn.functional.gelu(self.fc(x)))


class Block(nn.Module):
    """Pre-norm residual block: ``x + mixer(LN(x))``, then ``x + MLP(LN(x))``.

    ``forward(x (B, T, D), state) -> (x (B, T, D), state)``; the state is the mixer's.
    """

    def __init__(self, mixer: nn.Module, width: int, dropout: float = 0.0):
        super().__init__()
        self.ln1, self.mixer = nn.LayerNorm(width), mixer
        self.ln2, self.mlp = nn.LayerNorm(width), MLP(width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        y, state = self.mixer(self.ln1(x), state)
        x = x + self.drop(y)
        return x + self.drop(self.mlp(self.ln2(x))), state


def init_gpt_(model: nn.Module, num_layers: int) -> None:
    """GPT-2's initialisation (as in nanoGPT): weights ``N(0, 0.02)``, biases 0, and the
    projections back into the residual stream ``N(0, 0.02 / sqrt(2 L))``."""
    for name, p in model.named_parameters():
        if p.dim() < 2:
            if name.endswith("bias"):
                nn.init.zeros_(p)
            continue
        std = 0.02 / (2 * num_layers) ** 0.5 if name.endswith("proj.weight") else 0.02
        nn.init.normal_(p, 0.0, std)


class BlockLM(nn.Module):
    """The skeleton that :class:`TransformerLM` and :class:`~rnnbook.models.minrnn.MinRNNLM`
    share: token embedding ``tok``, a stack of :class:`Block` around the given mixers, a final
    LayerNorm ``ln`` and an output layer ``out`` (tied to ``tok`` or not), GPT-2 initialised.

    A subclass calls :meth:`embed`, adds what it needs between (positions), then :meth:`stack`,
    so that the parameters keep that order (and a seed gives the same weights).
    """

    def embed(self, vocab_size: int, width: int) -> None:
        """The token embedding ``tok`` ``(V, D)``."""
        self.vocab_size = vocab_size
        self.tok = nn.Embedding(vocab_size, width)

    def stack(self, mixers: list[nn.Module], width: int, dropout: float,
              tie_weights: bool) -> None:
        """One :class:`Block` per mixer, ``ln`` and ``out``; then :func:`init_gpt_` over every
        parameter, and ``out.weight = tok.weight`` when tied."""
        self.blocks = nn.ModuleList(Block(mixer, width, dropout) for mixer in mixers)
        self.ln = nn.LayerNorm(width)
        self.out = nn.Linear(width, self.vocab_size, bias=False)
        init_gpt_(self, len(mixers))
        if tie_weights:
            self.out.weight = self.tok.weight

    def through_blocks(self, x: Tensor, states: Optional[tuple] = None
                       ) -> tuple[Tensor, tuple]:
        """``x`` ``(B, T, D)`` through every block, each with its state (``None``: none), then
        ``ln`` and ``out``: ``(logits (B, T, V), the blocks' new states)``."""
        new = []
        for i, block in enumerate(self.blocks):
            x, state = block(x, None if states is None else states[i])
            new.append(state)
        return self.out(self.ln(x)), tuple(new)


class TransformerLM(BlockLM):
    """Decoder-only Transformer LM (see the module's docstring for the equations and state).

    ``forward(ids (B, T), state=None) -> (logits (B, T, V), state)``. Training calls it without
    a state on windows of at most ``block_size`` tokens; :func:`rnnbook.generate` passes the
    state back, so each new token costs one position against the KV cache.
    """

    def __init__(self, vocab_size: int, width: int = 128, num_layers: int = 4,
                 num_heads: int = 4, block_size: int = 64, dropout: float = 0.0,
                 tie_weights: bool = True):
        super().__init__()
        if block_size < 2:
            raise ValueError(f"block_size must be at least 2, got {block_size}")
        self.block_size = block_size
        self.embed(vocab_size, width)
        self.pos = nn.Embedding(block_size, width)
        self.drop = nn.Dropout(dropout)
        self.stack([CausalSelfAttention(width, num_heads) for _ in range(num_layers)], width,
                   dropout, tie_weights)

    def run(self, ids: Tensor, start: int = 0, caches: Optional[tuple] = None
            ) -> tuple[Tensor, tuple]:
        """Logits of ``ids`` at positions ``start .. start + T - 1``, given the caches of the
        ``start`` positions before them; returns the caches grown by ``T``."""
        pos = torch.arange(start, start + ids.size(1), device=ids.device)
        return self.through_blocks(self.drop(self.tok(ids) + self.pos(pos)), caches)

    def forward(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        if ids.dim() != 2 or ids.size(1) == 0:
            raise ValueError(f"TransformerLM takes ids of shape (batch, time) with time >= 1, "
                             f"got {tuple(ids.shape)}")
        context, caches = state if state is not None else (ids[:, :0], None)
        n, T, L = context.size(1), ids.size(1), self.block_size
        if caches is not None and n + T <= L:  # the KV cache: new positions only
            logits, caches = self.run(ids, n, caches)
            return logits, (torch.cat([context, ids], dim=1), caches)
        ext = torch.cat([context, ids], dim=1)
        if T <= L:  # one window: the last L tokens, read afresh
            window = ext[:, -L:]
            logits, caches = self.run(window)
            return logits[:, -T:], (window, caches)
        return self.windows(ext, n), (ext[:, -(L - 1):], None)

    def windows(self, ext: Tensor, n: int) -> Tensor:
        """Logits of ``ext[:, n:]`` read in windows of ``block_size`` tokens that advance by
        half a block; each position sees at least half a block of context (when there is)."""
        L, step, out = self.block_size, self.block_size // 2, []
        for s in range(n, ext.size(1), step):
            e = min(s + step, ext.size(1))
            lo = max(0, e - L)
            out.append(self.run(ext[:, lo:e])[0][:, s - lo:])
        return torch.cat(out, dim=1)


__all__ = ["MLP", "Block", "init_gpt_", "BlockLM", "TransformerLM"]
