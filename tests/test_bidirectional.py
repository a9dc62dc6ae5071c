"""Bidirectional layers: parity with torch.nn, and padding that changes nothing."""

import parity
import pytest
import torch
from torch import nn

from rnnbook.layers import (
    GRU,
    LSTM,
    RNN,
    final_states,
    masked_run,
    packed_run,
    run_recurrent,
    split_directions,
)
from rnnbook.models import RecurrentEncoder

TOL = 1e-5
KINDS = {"lstm": (LSTM, nn.LSTM), "gru": (GRU, nn.GRU), "rnn": (RNN, nn.RNN)}


def twins(kind, num_layers=1, batch_first=True):
    return parity.twins(*KINDS[kind], torch.float32, num_layers=num_layers,
                        batch_first=batch_first, bidirectional=True)


def states(h_n):
    return h_n if isinstance(h_n, tuple) else (h_n,)


def outputs_and_grads(model, x, run):
    xi = x.clone().requires_grad_(True)
    out, h_n = run(model, xi)
    weights = torch.linspace(-1, 1, out.numel()).view_as(out)
    loss = (out * weights).sum() + sum((s ** 2).sum() for s in states(h_n))
    model.zero_grad()
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    return out.detach(), [s.detach() for s in states(h_n)], xi.grad, grads


def assert_close_all(a, b):
    torch.testing.assert_close(a[0], b[0], atol=TOL, rtol=TOL)
    for s, t in zip(a[1], b[1]):
        torch.testing.assert_close(s, t, atol=TOL, rtol=TOL)
    torch.testing.assert_close(a[2], b[2], atol=TOL, rtol=TOL)
    assert a[3].keys() == b[3].keys()
    for name in a[3]:
        torch.testing.assert_close(a[3][name], b[3][name], atol=TOL, rtol=TOL, msg=name)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_full_length_parity_with_torch(kind, num_layers):
    """Outputs, final states and all gradients match torch.nn(bidirectional=True)."""
    ours, ref = twins(kind, num_layers)
    x = torch.randn(4, 7, 3, generator=torch.Generator().manual_seed(1))
    plain = lambda m, xi: m(xi)  # noqa: E731
    assert_close_all(outputs_and_grads(ours, x, plain), outputs_and_grads(ref, x, plain))
    out, h_n = ours(x)
    assert out.shape == (4, 7, 10)
    assert states(h_n)[0].shape == (2 * num_layers, 4, 5)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("batch_first", [True, False])
def test_masked_scratch_matches_packed_torch(kind, num_layers, batch_first):
    """Scratch layer + mask == torch.nn layer + pack_padded_sequence, gradients included."""
    ours, ref = twins(kind, num_layers, batch_first)
    gen = torch.Generator().manual_seed(2)
    lengths = torch.tensor([3, 7, 1, 5])  # unsorted on purpose
    x = torch.randn(4, 7, 3, generator=gen)
    if not batch_first:
        x = x.transpose(0, 1).contiguous()
    a = outputs_and_grads(ours, x, lambda m, xi: masked_run(m, xi, lengths))
    b = outputs_and_grads(ref, x, lambda m, xi: packed_run(m, xi, lengths))
    assert_close_all(a, b)


@pytest.mark.parametrize("scratch", [False, True], ids=["torch", "scratch"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_padding_changes_nothing(kind, scratch):
    """Each sequence alone gives the same outputs and final states as inside a padded batch."""
    torch.manual_seed(3)
    enc = RecurrentEncoder(kind, 3, 5, num_layers=2, scratch=scratch).eval()
    lengths = [2, 6, 4]
    seqs = [torch.randn(n, 3) for n in lengths]
    batch = torch.zeros(3, 6, 3)
    for i, s in enumerate(seqs):
        batch[i, :len(s)] = s
    batch[0, 2:] = 100.0  # garbage in the padding must not leak into anything
    out, h_n = enc(batch, torch.tensor(lengths))
    for i, s in enumerate(seqs):
        alone, h_alone = enc(s.unsqueeze(0))
        n = len(s)
        fwd, bwd = split_directions(out[i, :n], 5)
        fwd_alone, bwd_alone = split_directions(alone[0], 5)
        torch.testing.assert_close(fwd, fwd_alone, atol=TOL, rtol=TOL)
        torch.testing.assert_close(bwd, bwd_alone, atol=TOL, rtol=TOL)  # starts at x_L
        assert torch.all(out[i, n:] == 0)
        for s_batch, s_alone in zip(states(h_n), states(h_alone)):
            torch.testing.assert_close(s_batch[:, i], s_alone[:, 0], atol=TOL, rtol=TOL)


def test_backward_final_state_is_after_first_token():
    """h_n[1] is the backward direction's state at t=1: the backward half of output[0]."""
    torch.manual_seed(4)
    layer = LSTM(3, 5, batch_first=True, bidirectional=True)
    x = torch.randn(2, 6, 3)
    out, (h_n, _) = masked_run(layer, x, [6, 3])
    fwd, bwd = split_directions(out, 5)
    h = final_states(h_n, num_layers=1)
    torch.testing.assert_close(h[0, 1], bwd[:, 0])
    torch.testing.assert_close(h[0, 0], torch.stack([fwd[0, 5], fwd[1, 2]]))


def test_run_recurrent_dispatch_and_errors():
    layer = nn.GRU(3, 4, batch_first=True)
    x = torch.randn(2, 5, 3)
    out, _ = run_recurrent(layer, x)
    assert out.shape == (2, 5, 4)
    with pytest.raises(ValueError, match="between 1 and"):
        run_recurrent(layer, x, [0, 5])
    with pytest.raises(ValueError, match="lengths for a batch"):
        run_recurrent(GRU(3, 4, batch_first=True), x, [5])
    with pytest.raises(TypeError):
        run_recurrent(nn.Linear(3, 4), x, [5, 5])
    with pytest.raises(ValueError, match="kind must be one of"):
        RecurrentEncoder("transformer", 3, 4)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_a_packed_sequence_is_refused_with_directions(cls):
    from torch.nn.utils.rnn import pack_padded_sequence

    packed = pack_padded_sequence(torch.randn(2, 5, 3), [5, 2], batch_first=True)
    with pytest.raises(TypeError, match="masked_run"):
        cls(3, 4, batch_first=True)(packed)
