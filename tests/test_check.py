"""rnnbook.check: parity of a scratch layer with its torch.nn twin, and best-of-N pass timing."""

import pytest
import torch
from torch import nn

from rnnbook import check
from rnnbook.layers import GRU, LSTM, RNN


@pytest.mark.parametrize("ours_cls, ref_cls", [(RNN, nn.RNN), (LSTM, nn.LSTM), (GRU, nn.GRU)])
def test_parity_of_twins_is_rounding(ours_cls, ref_cls):
    ours, ref = check.twins(ours_cls, ref_cls, torch.float64, num_layers=2, batch_first=True)
    x = torch.randn(3, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    p = check.parity(ours, ref, x)
    assert p.largest < 1e-10
    assert p.largest == max(p.values, p.grad_input, p.grad_params)
    assert p.grads == max(p.grad_input, p.grad_params)
    assert len(p.ours.states) == (2 if ours_cls is LSTM else 1)
    assert p.ours.grads.keys() == dict(ref.named_parameters()).keys()


def test_parity_sees_a_changed_weight_in_values_and_gradients():
    ours, ref = check.twins(RNN, nn.RNN, torch.float64)
    with torch.no_grad():
        ref.weight_hh_l0[0, 0] += 0.1
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    p = check.parity(ours, ref, x)
    assert p.values > 1e-4 and p.grad_params > 1e-4 and p.grad_input > 1e-6


def test_parity_uses_the_given_loss_and_state():
    ours, ref = check.twins(LSTM, nn.LSTM, torch.float64)
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    state = (torch.randn(1, 2, 5, dtype=torch.float64), torch.randn(1, 2, 5, dtype=torch.float64))
    seen = []

    def loss(out, states):
        seen.append(len(states))
        return out.sin().sum() + states[0].sum() + (states[1] ** 2).sum()

    p = check.parity(ours, ref, x, state, loss=loss)
    assert seen == [2, 2] and p.largest < 1e-10
    # the initial state matters: without it the final states differ
    assert not torch.allclose(p.ours.states[1], check.parity(ours, ref, x).ours.states[1])


def test_parity_is_deterministic():
    ours, ref = check.twins(GRU, nn.GRU, torch.float64, num_layers=2)
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    a, b = check.parity(ours, ref, x), check.parity(ours, ref, x)
    assert (a.values, a.grads) == (b.values, b.grads)


def test_assert_same_fails_on_different_layers():
    ours, ref = check.twins(RNN, nn.RNN, torch.float64)
    with torch.no_grad():
        ref.bias_hh_l0[0] += 1e-3
    with pytest.raises(AssertionError):
        check.assert_same(*check.run_both(ours, ref, torch.randn(3, 1, 3, dtype=torch.float64)),
                          1e-10)


class _Counting(nn.Module):
    """A layer that counts its forward passes."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x * self.w, None


def test_pass_seconds_warms_up_then_takes_the_best():
    layer = _Counting()
    seconds = check.pass_seconds(layer, torch.randn(2, 3), reps=4)
    assert layer.calls == 5  # one untimed warm-up pass, then four timed ones
    assert 0 < seconds < 1
    assert layer.w.grad is None  # leaves no gradients behind
    with pytest.raises(ValueError, match="reps"):
        check.pass_seconds(layer, torch.randn(2, 3), reps=0)


def test_pass_seconds_of_a_recurrent_layer():
    layer = nn.GRU(4, 8, batch_first=True)
    assert check.pass_seconds(layer, torch.randn(2, 5, 4), reps=2) > 0
