"""Attention over the states of an encoder, masked over the padding of the source.

A decoder state (the *query*) ``q`` looks at the encoder states (the *keys*, which are also
the *values*) ``h_1 .. h_S`` of one source sentence of ``L <= S`` real tokens::

    e_s = score(q, h_s)                       (B, Tq, S)   one score per source position
    a_s = softmax_s(e_s)  over s <= L         (B, Tq, S)   padded positions get a_s = 0
    c   = sum_s a_s h_s                       (B, Tq, K)   the context vector

with one of three scores:

- ``"dot"``      ``e_s = q . h_s * scale``                 (Luong et al., 2015; needs Q = K)
- ``"general"``  ``e_s = q^T W h_s``                       (Luong et al., 2015, multiplicative)
- ``"additive"`` ``e_s = v^T tanh(W_q q + W_k h_s)``        (Bahdanau et al., 2015)

A padded position's key and value are set to zero first (a zero weight times a NaN or
infinite value would still be NaN) and its score to ``-inf`` before the softmax, so its weight
is exactly zero: neither its key nor its value can change the context or its gradient,
whatever they hold, and padding a source changes no output.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

SCORES = ("dot", "general", "additive")


def _check_qkv(query: Tensor, keys: Tensor, values: Tensor, mask: Optional[Tensor]) -> None:
    for name, t in (("query", query), ("keys", keys), ("values", values)):
        if not isinstance(t, Tensor) or t.dim() != 3:
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"attention: {name} must be a 3-D tensor (batch, steps, features), "
                             f"got {shape}")
    if not (query.size(0) == keys.size(0) == values.size(0)):
        raise ValueError(f"attention: batch sizes differ: query {tuple(query.shape)}, keys "
                         f"{tuple(keys.shape)}, values {tuple(values.shape)}")
    if keys.size(1) != values.size(1):
        raise ValueError(f"attention: keys have {keys.size(1)} source steps, values "
                         f"{values.size(1)}")
    if keys.size(1) == 0:
        raise ValueError("attention: the source has no steps")
    if mask is not None:
        if mask.dtype != torch.bool:
            raise ValueError(f"attention: the mask must be boolean (True = a real source "
                             f"token), got dtype {mask.dtype}")
        if tuple(mask.shape) != (keys.size(0), keys.size(1)):
            raise ValueError(f"attention: expected a mask of shape (batch, source steps) = "
                             f"{(keys.size(0), keys.size(1))}, got {tuple(mask.shape)}")


def masked_softmax(scores: Tensor, mask: Optional[Tensor]) -> Tensor:
    """``softmax`` over the last dimension of ``scores`` ``(B, Tq, S)``, with the positions
    where ``mask`` ``(B, S)`` is false set to ``-inf`` first (weight exactly 0)."""
    if mask is not None:
        if not bool(mask.any(-1).all()):
            raise ValueError("attention: a source in the batch has no real token (its mask "
                             "row is all False)")
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
    return torch.softmax(scores, dim=-1)


def masked_values(values: Tensor, mask: Optional[Tensor]) -> Tensor:
    """``values`` ``(B, S, V)`` with the padded positions (``mask`` ``(B, S)`` false) set to
    exactly 0, so that ``weights @ values`` never reads them, even when they hold NaN or
    inf (``0 * nan`` is ``nan``). No gradient flows to them."""
    return values if mask is None else values.masked_fill(~mask.unsqueeze(-1), 0.0)


def dot_attention(query: Tensor, keys: Tensor, values: Tensor, mask: Optional[Tensor] = None,
                  scale: Optional[float] = None) -> tuple[Tensor, Tensor]:
    """Scaled dot-product attention: ``a = softmax_s(q k_s^T * scale)``, ``c = a V``.

    ``query`` ``(B, Tq, D)``, ``keys`` ``(B, S, D)``, ``values`` ``(B, S, V)``, ``mask``
    ``(B, S)`` (True on real source tokens) -> ``(context (B, Tq, V), weights (B, Tq, S))``.
    ``scale`` defaults to ``1/sqrt(D)``, as in ``torch.nn.functional.scaled_dot_product_
    attention``; Luong et al.'s plain dot score is ``scale=1``.
    """
    _check_qkv(query, keys, values, mask)
    if query.size(-1) != keys.size(-1):
        raise ValueError(f"dot attention: the query has {query.size(-1)} features and the "
                         f"keys {keys.size(-1)}; they must be equal")
    scale = 1.0 / math.sqrt(query.size(-1)) if scale is None else scale
    keys, values = masked_values(keys, mask), masked_values(values, mask)
    weights = masked_softmax(torch.bmm(query, keys.transpose(1, 2)) * scale, mask)
    return torch.bmm(weights, values), weights


class Attention(nn.Module):
    """Attention of decoder states over encoder states, with a ``dot``, ``general`` or
    ``additive`` score (see the module's docstring for the equations).

    ``forward(query (B, Tq, Q) or (B, Q), keys (B, S, K), mask (B, S) or None)
    -> (context (B, Tq, K) or (B, K), weights (B, Tq, S) or (B, S))``; the keys are also the
    values. ``dot`` needs ``Q = K`` and uses ``scale=1`` (Luong et al.'s score);
    ``attention_size`` is the width ``A`` of the additive score's hidden layer.
    """

    def __init__(self, query_size: int, key_size: int, score: str = "general",
                 attention_size: Optional[int] = None):
        super().__init__()
        if score not in SCORES:
            raise ValueError(f"score must be one of {', '.join(SCORES)}, got {score!r}")
        if score == "dot" and query_size != key_size:
            raise ValueError(f"the dot score needs query_size == key_size, got {query_size} "
                             f"and {key_size}; use score='general'")
        self.query_size, self.key_size, self.score = query_size, key_size, score
        if score == "general":
            self.w = nn.Linear(query_size, key_size, bias=False)  # q^T W h = (W^T q) . h
        elif score == "additive":
            size = attention_size or key_size
            self.w_q = nn.Linear(query_size, size, bias=False)
            self.w_k = nn.Linear(key_size, size)
            self.v = nn.Linear(size, 1, bias=False)

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """Unmasked scores ``e`` ``(B, Tq, S)`` of ``query`` ``(B, Tq, Q)`` against ``keys``
        ``(B, S, K)``."""
        if self.score == "dot":
            return torch.bmm(query, keys.transpose(1, 2))
        if self.score == "general":
            return torch.bmm(self.w(query), keys.transpose(1, 2))
        # additive: v^T tanh(W_q q_t + W_k h_s) for every pair (t, s): (B, Tq, S, A)
        hidden = torch.tanh(self.w_q(query).unsqueeze(2) + self.w_k(keys).unsqueeze(1))
        return self.v(hidden).squeeze(-1)

    def forward(self, query: Tensor, keys: Tensor, mask: Optional[Tensor] = None
                ) -> tuple[Tensor, Tensor]:
        single = isinstance(query, Tensor) and query.dim() == 2
        if single:
            query = query.unsqueeze(1)
        _check_qkv(query, keys, keys, mask)
        if query.size(-1) != self.query_size or keys.size(-1) != self.key_size:
            raise ValueError(f"Attention: expected query features {self.query_size} and key "
                             f"features {self.key_size}, got {query.size(-1)} and "
                             f"{keys.size(-1)}")
        keys = masked_values(keys, mask)  # padding: zeros, whatever it held (NaN, inf)
        weights = masked_softmax(self.scores(query, keys), mask)
        context = torch.bmm(weights, keys)
        return (context.squeeze(1), weights.squeeze(1)) if single else (context, weights)

    def extra_repr(self) -> str:
        return f"{self.query_size}, {self.key_size}, score={self.score!r}"


__all__ = ["SCORES", "Attention", "dot_attention", "masked_softmax", "masked_values"]
