"""The parallel log-space scan against the loop, and minGRU / minLSTM against their equations."""

import pytest
import torch

from rnnbook.layers.scan import MinRNN, log_g, scan_log, scan_sequential

TOL = {torch.float64: 1e-12, torch.float32: 1e-5}


def assert_near(ours, ref, tol):
    """Largest difference at most ``tol`` times the largest entry of ``ref`` (a sum over up to
    ``T`` steps is only as exact as its largest terms)."""
    err = float(((ours - ref).abs().max() / ref.abs().max()).detach())
    assert err <= tol, f"relative difference {err:.2e} > {tol:.0e}"


def _log_ab(dtype, b=3, t=50, h=4, seed=0):
    """``log a`` (a in (0.01, 0.99)), ``log b`` (b > 0), ``log h0``, the upstream gradient."""
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(b, t, h, generator=g, dtype=dtype) * 0.98 + 0.01
    bb = torch.rand(b, t, h, generator=g, dtype=dtype) + 0.05
    h0 = torch.rand(b, h, generator=g, dtype=dtype) + 0.1
    up = torch.randn(b, t, h, generator=g, dtype=dtype)
    return [x.log().requires_grad_() for x in (a, bb, h0)] + [up]


def test_sequential_scan_by_hand():
    a = torch.tensor([[[0.5], [0.25]]])
    b = torch.tensor([[[1.0], [2.0]]])
    h = scan_sequential(a, b, torch.tensor([[4.0]]))
    # h1 = 0.5 * 4 + 1 = 3, h2 = 0.25 * 3 + 2 = 2.75
    assert h.flatten().tolist() == [3.0, 2.75]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("with_h0", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_log_scan_matches_the_loop_values_and_gradients(dtype, with_h0, seed):
    log_a, log_b, log_h0, up = _log_ab(dtype, seed=seed)
    seq = scan_sequential(log_a.exp(), log_b.exp(), log_h0.exp() if with_h0 else None)
    par = scan_log(log_a, log_b, log_h0 if with_h0 else None)
    assert_near(par, seq, TOL[dtype])
    inputs = (log_a, log_b, log_h0) if with_h0 else (log_a, log_b)
    for x, y in zip(torch.autograd.grad((par * up).sum(), inputs),
                    torch.autograd.grad((seq * up).sum(), inputs)):
        assert_near(x, y, TOL[dtype])


def test_the_scan_sees_a_wrong_coefficient():
    log_a, log_b, _, _ = _log_ab(torch.float64)
    seq = scan_sequential(log_a.exp(), log_b.exp())
    wrong = log_a.detach().clone()
    wrong[0, 10, 0] += 1e-6
    assert float((scan_log(wrong, log_b) - seq).abs().max().detach()) > 1e-8


def test_log_g_is_the_log_of_g():
    u = torch.linspace(-6, 6, 101, dtype=torch.float64)
    g = torch.where(u >= 0, u + 0.5, torch.sigmoid(u))
    torch.testing.assert_close(log_g(u), g.log())


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_min_rnn_follows_its_equations(kind):
    torch.manual_seed(0)
    layer = MinRNN(5, 4, kind).double()
    x = torch.randn(2, 7, 5, dtype=torch.float64)
    h0 = torch.rand(1, 2, 4, dtype=torch.float64) + 0.1
    out, last = layer(x, h0)
    W = layer.linear(x)
    h, rows = h0[0], []
    for t in range(x.size(1)):
        if kind == "gru":
            k, u = W[:, t].chunk(2, -1)
            z = torch.sigmoid(k)
            h = (1 - z) * h + z * torch.where(u >= 0, u + 0.5, torch.sigmoid(u))
        else:
            kf, ki, u = W[:, t].chunk(3, -1)
            f, i = torch.sigmoid(kf), torch.sigmoid(ki)
            h = f / (f + i) * h + i / (f + i) * torch.where(u >= 0, u + 0.5, torch.sigmoid(u))
        rows.append(h)
    torch.testing.assert_close(out, torch.stack(rows, 1))
    torch.testing.assert_close(last[0], out[:, -1])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_parallel_and_sequential_modes_agree_with_gradients(kind, dtype):
    torch.manual_seed(0)
    layer = MinRNN(6, 8, kind).to(dtype)
    x = torch.randn(3, 32, 6, dtype=dtype, requires_grad=True)
    out_p, _ = layer(x)
    g_p = torch.autograd.grad(out_p.square().sum(), [x, *layer.parameters()])
    layer.mode = "sequential"
    out_s, _ = layer(x)
    g_s = torch.autograd.grad(out_s.square().sum(), [x, *layer.parameters()])
    assert_near(out_p, out_s, TOL[dtype])
    for a, b in zip(g_p, g_s):
        assert_near(a, b, TOL[dtype])


def test_chunks_with_carried_state_equal_one_pass():
    torch.manual_seed(0)
    layer = MinRNN(3, 4).double()
    x = torch.randn(2, 20, 3, dtype=torch.float64)
    full, _ = layer(x)
    a, h = layer(x[:, :11])
    b, _ = layer(x[:, 11:], h)
    torch.testing.assert_close(torch.cat([a, b], 1), full)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="kind must be"):
        MinRNN(3, 4, kind="rnn")
    with pytest.raises(ValueError, match="mode must be"):
        MinRNN(3, 4, mode="fast")
    with pytest.raises(ValueError, match="batch, time, 3"):
        MinRNN(3, 4)(torch.randn(2, 5))
    with pytest.raises(ValueError, match="no steps"):
        MinRNN(3, 4)(torch.randn(2, 0, 3))
