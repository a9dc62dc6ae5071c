"""Causal self-attention from the equations against PyTorch's: values and gradients."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnbook.layers.self_attention import CausalSelfAttention, attend, causal_mask

TOL = {torch.float64: dict(rtol=1e-10, atol=1e-12), torch.float32: dict(rtol=1e-5, atol=1e-5)}


def _qkv(dtype, b=2, h=3, t=5, s=5, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, h, n, d, generator=g, dtype=dtype, requires_grad=True)
            for n in (t, s, s)]


def test_causal_mask_by_hand():
    assert causal_mask(3, 3).tolist() == [[True, False, False], [True, True, False],
                                          [True, True, True]]
    # two new queries after two cached keys: positions 2 and 3
    assert causal_mask(2, 4).tolist() == [[True, True, True, False], [True, True, True, True]]
    with pytest.raises(ValueError, match="queries <= keys"):
        causal_mask(4, 2)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_attend_matches_sdpa_values_and_gradients(dtype):
    q, k, v = _qkv(dtype)
    ours, weights = attend(q, k, v, causal=True)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(ours, ref, **TOL[dtype])
    assert torch.all(weights.triu(1) == 0)  # no query sees a later key
    up = torch.randn_like(ours)
    for a, b in zip(torch.autograd.grad((ours * up).sum(), (q, k, v)),
                    torch.autograd.grad((ref * up).sum(), (q, k, v))):
        torch.testing.assert_close(a, b, **TOL[dtype])


def test_attend_with_cached_keys_matches_sdpa_bottom_right_mask():
    q, k, v = _qkv(torch.float64, t=2, s=6)
    mask = causal_mask(2, 6)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(attend(q, k, v)[0], ref, **TOL[torch.float64])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_layer_matches_multihead_attention_with_the_same_weights(dtype):
    torch.manual_seed(0)
    D, h, T = 12, 3, 7
    ours = CausalSelfAttention(D, h).to(dtype)
    ref = nn.MultiheadAttention(D, h, batch_first=True).to(dtype)
    ref.load_state_dict(ours.state_dict())  # the same parameter names
    nn.init.normal_(ref.in_proj_bias)  # non-zero biases, loaded back into ours
    nn.init.normal_(ref.out_proj.bias)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, T, D, dtype=dtype, requires_grad=True)
    y, _ = ours(x)
    mask = ~causal_mask(T, T)  # True = not allowed, PyTorch's boolean convention
    y_ref, _ = ref(x, x, x, attn_mask=mask, need_weights=False)
    torch.testing.assert_close(y, y_ref, **TOL[dtype])
    up = torch.randn_like(y)
    g = torch.autograd.grad((y * up).sum(), [x, *ours.parameters()])
    g_ref = torch.autograd.grad((y_ref * up).sum(), [x, *ref.parameters()])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, **TOL[dtype])


def test_kv_cache_gives_the_same_outputs_as_one_pass():
    torch.manual_seed(1)
    att = CausalSelfAttention(8, 2).double()
    x = torch.randn(2, 9, 8, dtype=torch.float64)
    full, (k, v) = att(x)
    y1, cache = att(x[:, :4])
    y2, cache = att(x[:, 4:5], cache)
    y3, cache = att(x[:, 5:], cache)
    torch.testing.assert_close(torch.cat([y1, y2, y3], 1), full)
    assert cache[0].shape == k.shape == (2, 2, 9, 4)


def test_a_later_token_does_not_change_earlier_outputs():
    torch.manual_seed(2)
    att = CausalSelfAttention(8, 4).double()
    x = torch.randn(1, 6, 8, dtype=torch.float64)
    changed = x.clone()
    changed[:, 4] += 1.0
    a, b = att(x)[0], att(changed)[0]
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        CausalSelfAttention(10, 3)
    with pytest.raises(ValueError, match="batch, time, 8"):
        CausalSelfAttention(8, 2)(torch.randn(2, 5, 6))
