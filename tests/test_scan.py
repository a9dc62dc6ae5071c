"""The parallel log-space scan against the loop, and minGRU / minLSTM against their equations."""

import pytest
import torch

from rnnbook.layers.scan import CHUNK, MinRNN, log_g, scan_log, scan_sequential

TOL = {torch.float64: 1e-12, torch.float32: 1e-5}


def assert_near(ours, ref, tol):
    """Largest difference at most ``tol`` times the largest entry of ``ref`` (a sum over up to
    ``T`` steps is only as exact as its largest terms)."""
    err = float(((ours - ref).abs().max() / ref.abs().max()).detach())
    assert err <= tol, f"relative difference {err:.2e} > {tol:.0e}"


def _log_ab(dtype, b=3, t=50, h=4, seed=0):
    """``log a`` (a in (0.01, 0.99)), ``log b`` (b > 0), ``h0`` (> 0), the upstream gradient."""
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(b, t, h, generator=g, dtype=dtype) * 0.98 + 0.01
    bb = torch.rand(b, t, h, generator=g, dtype=dtype) + 0.05
    h0 = torch.rand(b, h, generator=g, dtype=dtype) + 0.1
    up = torch.randn(b, t, h, generator=g, dtype=dtype)
    return [a.log().requires_grad_(), bb.log().requires_grad_(), h0.requires_grad_(), up]


def test_sequential_scan_by_hand():
    a = torch.tensor([[[0.5], [0.25]]])
    b = torch.tensor([[[1.0], [2.0]]])
    h = scan_sequential(a, b, torch.tensor([[4.0]]))
    # h1 = 0.5 * 4 + 1 = 3, h2 = 0.25 * 3 + 2 = 2.75
    assert h.flatten().tolist() == [3.0, 2.75]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("with_h0", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("chunk", [CHUNK, 7, 1])  # one chunk; 8, the last one short; 50
@pytest.mark.parametrize("sign", [1, -1])
def test_log_scan_matches_the_loop_values_and_gradients(dtype, with_h0, seed, chunk, sign):
    log_a, log_b, h0, up = _log_ab(dtype, seed=seed)
    h0 = sign * h0  # the state carried in may be negative: it needs no log
    seq = scan_sequential(log_a.exp(), log_b.exp(), h0 if with_h0 else None)
    par = scan_log(log_a, log_b, h0 if with_h0 else None, chunk=chunk)
    assert_near(par, seq, TOL[dtype])
    inputs = (log_a, log_b, h0) if with_h0 else (log_a, log_b)
    for x, y in zip(torch.autograd.grad((par * up).sum(), inputs),
                    torch.autograd.grad((seq * up).sum(), inputs)):
        assert_near(x, y, TOL[dtype])


@pytest.mark.parametrize("seed", [0, 1])
def test_float32_scan_stays_exact_at_long_lengths(seed):
    # a* = sum of log a over the whole sequence would reach about -16,000 here, and float32
    # keeps ~7 digits of it: one log-space scan over all steps is off by ~9e-4 (relative);
    # restarted every CHUNK steps it stays near 5e-6, as does the loop
    T = 16_384
    log_a, log_b, h0, _ = _log_ab(torch.float32, b=2, t=T, h=8, seed=seed)
    log_a, log_b, h0 = log_a.detach(), log_b.detach(), h0.detach()
    exact = scan_sequential(log_a.double().exp(), log_b.double().exp(), h0.double())
    assert_near(scan_log(log_a, log_b, h0).double(), exact, 2e-5)
    assert_near(scan_sequential(log_a.exp(), log_b.exp(), h0).double(), exact, 2e-5)


@pytest.mark.parametrize("chunk", [1, 3, 16, 200])
def test_the_chunk_length_does_not_change_the_function(chunk):
    log_a, log_b, h0, _ = _log_ab(torch.float64, t=100)
    torch.testing.assert_close(scan_log(log_a, log_b, h0, chunk=chunk),
                               scan_log(log_a, log_b, h0, chunk=100), rtol=1e-12, atol=0)


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


def test_a_negative_state_carried_in_gives_the_loop():
    torch.manual_seed(0)
    layer = MinRNN(3, 4).double()
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    h0 = -torch.rand(1, 2, 4, dtype=torch.float64) - 0.5
    par, last = layer(x, h0)
    layer.mode = "sequential"
    seq, _ = layer(x, h0)
    assert torch.isfinite(par).all() and (par[:, 0] < 0).any()
    torch.testing.assert_close(par, seq)
    torch.testing.assert_close(last[0], seq[:, -1])


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


def test_scan_log_refuses_bad_arguments():
    log_a, log_b, h0, _ = _log_ab(torch.float64)
    with pytest.raises(ValueError, match="one shape"):
        scan_log(log_a, log_b[:, :-1])
    with pytest.raises(ValueError, match="one shape"):
        scan_log(log_a[0], log_b[0])
    with pytest.raises(ValueError, match=r"h0 must have shape \(batch, hidden\) = \(3, 4\)"):
        scan_log(log_a, log_b, h0[None])
    with pytest.raises(ValueError, match="chunk must be"):
        scan_log(log_a, log_b, chunk=0)
    with pytest.raises(ValueError, match="no steps"):
        scan_log(log_a[:, :0], log_b[:, :0])
