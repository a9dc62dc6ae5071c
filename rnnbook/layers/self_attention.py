"""Causal multi-head self-attention, written from the equations of Vaswani et al. (2017).

A sequence attends to itself. For ``x`` ``(B, T, D)`` and ``h`` heads of width ``d = D / h``::

    [Q, K, V] = x W_in^T + b_in                  (B, T, 3D)   then split into heads (B, h, T, d)
    A_i = softmax(Q_i K_i^T / sqrt(d) + M)        (B, h, T, S) M_ts = -inf where key s is later
                                                                than query t (the causal mask)
    head_i = A_i V_i                              (B, h, T, d)
    y = concat(head_1 .. head_h) W_out^T + b_out  (B, T, D)

The parameters carry the names of ``torch.nn.MultiheadAttention`` (``in_proj_weight`` (3D, D),
``in_proj_bias`` (3D,), ``out_proj``), so a ``state_dict`` loads both ways. Positions are not
part of the layer: a model adds them to ``x`` (learned position embeddings in
:class:`~rnnbook.models.transformer.TransformerLM`).

**KV cache.** The keys and values of earlier positions do not change when a new token
arrives (the mask stops them from seeing it), so generation keeps them: ``forward(x, cache)``
with ``cache = (K_past, V_past)`` ``(B, h, S0, d)`` computes only the ``T`` new positions,
which attend to the ``S0`` cached ones and to each other causally, and returns the cache grown
to ``S0 + T`` positions.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

KVCache = tuple[Tensor, Tensor]


def causal_mask(queries: int, keys: int, device: Optional[torch.device] = None) -> Tensor:
    """``(queries, keys)`` boolean, True where query ``t`` may see key ``s``.

    The queries are the *last* ``queries`` of the ``keys`` positions (with a cache of
    ``keys - queries`` earlier ones): query ``t`` sees keys ``s <= keys - queries + t``.
    """
    if not 0 < queries <= keys:
        raise ValueError(f"causal_mask needs 0 < queries <= keys, got {queries} and {keys}")
    offset = keys - queries
    t = torch.arange(queries, device=device)[:, None]
    return torch.arange(keys, device=device)[None] <= t + offset


def attend(q: Tensor, k: Tensor, v: Tensor, causal: bool = True) -> tuple[Tensor, Tensor]:
    """``softmax(Q K^T / sqrt(d) + M) V`` per head: ``q`` ``(..., T, d)``, ``k``, ``v``
    ``(..., S, d)`` -> ``(out (..., T, d), weights (..., T, S))``.

    With ``causal``, query ``t`` is position ``S - T + t`` and sees keys up to it
    (:func:`causal_mask`). The mask differs per query, so :func:`~rnnbook.layers.attention.
    masked_softmax` (one padding mask per source) does not apply.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if causal:
        mask = causal_mask(q.size(-2), k.size(-2), q.device)
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention (see the module's docstring for the equations).

    ``forward(x (B, T, D), cache=None) -> (y (B, T, D), cache)``, where the returned cache
    ``(K, V)``, each ``(B, h, S0 + T, d)``, holds the keys and values of every position so far.
    Without a cache it computes what ``nn.MultiheadAttention(D, h, batch_first=True)`` does
    with ``attn_mask`` the causal mask and the same weights.
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be a multiple of num_heads "
                             f"({num_heads}): each head gets embed_dim / num_heads features")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim)) if bias else None
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        nn.init.xavier_uniform_(self.in_proj_weight)  # as nn.MultiheadAttention

    def heads(self, x: Tensor) -> Tensor:
        """``(B, T, D) -> (B, h, T, d)``."""
        B, T, _ = x.shape
        return x.view(B, T, self.num_heads, -1).transpose(1, 2)

    def forward(self, x: Tensor, cache: Optional[KVCache] = None) -> tuple[Tensor, KVCache]:
        if x.dim() != 3 or x.size(-1) != self.embed_dim:
            raise ValueError(f"CausalSelfAttention takes x of shape (batch, time, "
                             f"{self.embed_dim}), got {tuple(x.shape)}")
        q, k, v = map(self.heads, nn.functional.linear(
            x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1))
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        out, _ = attend(q, k, v, causal=True)
        B, T = x.shape[:2]
        return self.out_proj(out.transpose(1, 2).reshape(B, T, self.embed_dim)), (k, v)

    def extra_repr(self) -> str:
        return f"{self.embed_dim}, num_heads={self.num_heads}"


__all__ = ["KVCache", "causal_mask", "attend", "CausalSelfAttention"]
