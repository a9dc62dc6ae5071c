"""Backpropagation through time by hand equals autograd; the gradient-by-distance probe is right."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnbook.bptt import (
    ValueClipped,
    bptt_module,
    hidden_state_gradients,
    set_spectral_radius,
    spectral_radius,
)
from rnnbook.layers import GRU, LSTM, RNN

F64 = torch.float64


def autograd_reference(rnn, readout, x, target, h0):
    """Loss and gradients of the same network by autograd (torch.nn.RNN, time first)."""
    h0a = None if h0 is None else h0.clone().requires_grad_(True)
    out, _ = rnn(x, None if h0a is None else h0a[None])
    y = readout(out)
    if target.dtype == torch.long:
        loss = F.cross_entropy(y.reshape(-1, y.size(-1)), target.reshape(-1))
    else:
        loss = ((y - target) ** 2).sum(-1).mean()
    rnn.zero_grad()
    readout.zero_grad()
    loss.backward()
    grads = {"W_ih": rnn.weight_ih_l0.grad, "W_hh": rnn.weight_hh_l0.grad,
             "b_ih": rnn.bias_ih_l0.grad, "b_hh": rnn.bias_hh_l0.grad,
             "W_out": readout.weight.grad, "b_out": readout.bias.grad}
    if h0a is not None:
        grads["h0"] = h0a.grad
    return float(loss.detach()), grads


@pytest.mark.parametrize("T", [1, 2, 7, 30])
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_bptt_equals_autograd(T, with_h0, loss):
    gen = torch.Generator().manual_seed(T)
    B, Fin, H, V = 3, 4, 6, 5
    torch.manual_seed(T)
    rnn, readout = nn.RNN(Fin, H).to(F64), nn.Linear(H, V).to(F64)
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(2.0)  # larger weights: saturated units and larger gradients too
    x = torch.randn(T, B, Fin, generator=gen, dtype=F64)
    h0 = torch.randn(B, H, generator=gen, dtype=F64) if with_h0 else None
    target = (torch.randint(0, V, (T, B), generator=gen) if loss == "ce"
              else torch.randn(T, B, V, generator=gen, dtype=F64))
    ref_loss, ref = autograd_reference(rnn, readout, x, target, h0)
    our_loss, ours = bptt_module(rnn, readout, x, target, h0)
    assert abs(our_loss - ref_loss) < 1e-10
    for name, g in ref.items():
        assert ours[name].shape == g.shape
        torch.testing.assert_close(ours[name], g, atol=1e-6, rtol=1e-6, msg=name)
    assert ours["h0"].shape == (B, H)
    assert all(torch.isfinite(g).all() for g in ours.values())


def test_bptt_works_on_the_books_rnn():
    torch.manual_seed(0)
    ours_rnn = RNN(3, 4).to(F64)
    readout = nn.Linear(4, 2).to(F64)
    ref = nn.RNN(3, 4).to(F64)
    ref.load_state_dict(ours_rnn.state_dict())
    x = torch.randn(5, 2, 3, dtype=F64)
    target = torch.randint(0, 2, (5, 2))
    a = bptt_module(ours_rnn, readout, x, target)[1]
    b = bptt_module(ref, readout, x, target)[1]
    for k in a:
        torch.testing.assert_close(a[k], b[k])


def test_bptt_module_rejects_what_it_does_not_compute():
    with pytest.raises(ValueError):
        bptt_module(nn.RNN(3, 4, num_layers=2), nn.Linear(4, 2), torch.randn(2, 1, 3),
                    torch.zeros(2, 1, dtype=torch.long))


def direct_gradients(layer, x, hx, T):
    """The same quantity by autograd.grad on each state, one state at a time (time first)."""
    norms = []
    for k in range(T + 1):  # gradient of l_T with respect to s_{T-k}
        start = T - k
        state = hx
        with torch.no_grad():
            for t in range(start):
                _, state = layer(x[t:t + 1], state)
        leaves = tuple(s.clone().requires_grad_(True)
                       for s in ((state,) if torch.is_tensor(state) else state))
        out, _ = layer(x[start:], leaves[0] if len(leaves) == 1 else leaves) if start < T \
            else (None, None)
        if out is None:  # k = 0: l_T = sum(o_T); o_T is the top layer's h_T, part of s_T
            g = [torch.zeros_like(s) for s in leaves]
            g[0][-1] = 1.0
        else:
            g = torch.autograd.grad(out[-1].sum(), leaves)
        norms.append(torch.sqrt(sum((gi ** 2).sum(dim=(0, 2)) for gi in g)))
    return torch.stack(norms, dim=1)


@pytest.mark.parametrize("make", [
    lambda: nn.RNN(3, 5), lambda: nn.LSTM(3, 5), lambda: nn.GRU(3, 5),
    lambda: RNN(3, 5), lambda: LSTM(3, 5), lambda: GRU(3, 5), lambda: nn.LSTM(3, 5, 2)])
def test_hidden_state_gradients_match_autograd(make):
    torch.manual_seed(0)
    layer = make().to(F64)
    T, B = 6, 2
    x = torch.randn(T, B, 3, dtype=F64)
    got = hidden_state_gradients(layer, x)
    assert got.shape == (B, T + 1)
    L = getattr(layer, "num_layers", 1)
    z = torch.zeros(L, B, 5, dtype=F64)
    hx = (z, z.clone()) if isinstance(layer, (nn.LSTM, LSTM)) else z
    want = direct_gradients(layer, x, hx, T)
    torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-8)
    # distance 0 is the last state: d(sum o_T)/d h_T is all ones, norm sqrt(H)
    torch.testing.assert_close(got[:, 0], torch.full((B,), 5 ** 0.5, dtype=F64))


def test_hidden_state_gradients_batch_first_and_custom_loss():
    torch.manual_seed(0)
    layer = nn.GRU(3, 4, batch_first=True).to(F64)
    x = torch.randn(2, 5, 3, dtype=F64)
    a = hidden_state_gradients(layer, x, loss_fn=lambda o: (o ** 2).sum())
    layer.batch_first = False
    b = hidden_state_gradients(layer, x.transpose(0, 1), loss_fn=lambda o: (o ** 2).sum())
    torch.testing.assert_close(a, b)


def test_vanishing_and_exploding_by_spectral_radius():
    """A linear-regime tanh RNN: the gradient shrinks for radius < 1 and grows for radius > 1."""
    torch.manual_seed(0)
    x = torch.zeros(40, 1, 2, dtype=F64)  # zero input, zero state: tanh'(0) = 1 all the way
    ends = {}
    for radius in (0.5, 1.5):
        layer = nn.RNN(2, 8, bias=False).to(F64)
        nn.init.orthogonal_(layer.weight_hh_l0)
        set_spectral_radius(layer.weight_hh_l0, radius)
        assert abs(spectral_radius(layer.weight_hh_l0) - radius) < 1e-9
        g = hidden_state_gradients(layer, x)[0]
        ends[radius] = float(g[-1] / g[0])
    assert ends[0.5] < 1e-6 and ends[1.5] > 1e6


def test_value_clipped_optimizer_clips_each_entry():
    p = nn.Parameter(torch.zeros(3))
    opt = ValueClipped(torch.optim.SGD([p], lr=1.0), 0.5)
    p.grad = torch.tensor([2.0, -0.1, -3.0])
    opt.step()
    torch.testing.assert_close(p.data, torch.tensor([-0.5, 0.1, 0.5]))
    opt.zero_grad()
    assert p.grad is None and opt.param_groups[0]["lr"] == 1.0
