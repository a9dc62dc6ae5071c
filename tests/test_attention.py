"""Attention never reads padding: not its keys, not its values, even when they are NaN/inf."""

import pytest
import torch

from rnnbook.layers.attention import Attention, dot_attention


def _batch(seed=0, b=3, tq=4, s=6, d=5):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(b, tq, d, generator=g, dtype=torch.float64)
    k = torch.randn(b, s, d, generator=g, dtype=torch.float64)
    v = torch.randn(b, s, d + 2, generator=g, dtype=torch.float64)
    mask = torch.arange(s)[None] < torch.tensor([s, 2, 4])[:b, None]
    return q, k, v, mask


def _poison(t, mask, value):
    return t.masked_fill(~mask[..., None], value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_dot_attention_ignores_non_finite_padded_keys_and_values(bad):
    q, k, v, mask = _batch()
    clean, w = dot_attention(q, k, v, mask)
    kb = _poison(k, mask, bad).requires_grad_()
    vb = _poison(v, mask, bad).requires_grad_()
    ctx, w2 = dot_attention(q, kb, vb, mask)
    assert torch.isfinite(ctx).all()
    torch.testing.assert_close(ctx, clean, rtol=0, atol=0)
    torch.testing.assert_close(w2, w, rtol=0, atol=0)
    gk, gv = torch.autograd.grad(ctx.sum(), (kb, vb))
    assert torch.isfinite(gk).all() and torch.isfinite(gv).all()
    assert torch.all(gv[~mask] == 0)


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_attention_module_ignores_non_finite_padded_states(score, bad):
    q, k, _, mask = _batch()
    torch.manual_seed(0)
    att = Attention(5, 5, score).double()
    clean, w = att(q, k, mask)
    kb = _poison(k, mask, bad).requires_grad_()
    ctx, w2 = att(q, kb, mask)
    assert torch.isfinite(ctx).all()
    torch.testing.assert_close(ctx, clean, rtol=0, atol=0)
    torch.testing.assert_close(w2, w, rtol=0, atol=0)
    (g,) = torch.autograd.grad(ctx.sum(), (kb,))
    assert torch.isfinite(g).all() and torch.all(g[~mask] == 0)


def test_without_a_mask_every_position_is_read():
    q, k, v, _ = _batch()
    ctx, _ = dot_attention(q, k, v.clone().index_fill_(1, torch.tensor([5]), float("nan")))
    assert torch.isnan(ctx).all()  # no mask: nothing is padding, a NaN value is read
