"""The synthetic long-range tasks: shapes, labels, seeding; the many-to-one regressor."""

import itertools
import math

import pytest
import torch
from torch import nn

import rnnbook
from rnnbook.layers import LSTM
from rnnbook.models import SequenceRegressor
from rnnbook.synthetic import (
    ADDING_BASELINE_MSE,
    AddingBatches,
    adding_problem,
    copy_baseline,
    copy_task,
)
from rnnbook.tasks.regress import mse, regression_loss


@pytest.mark.parametrize("length", [2, 3, 10, 101])
def test_adding_problem_shapes_and_labels(length):
    x, y = adding_problem(500, length, seed=1)
    assert x.shape == (500, length, 2) and y.shape == (500,)
    assert x.dtype == y.dtype == torch.float32
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert torch.equal(markers.sum(1), torch.full((500,), 2.0))
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(y, (values * markers).sum(1))
    half = length // 2
    first, second = markers[:, :half].sum(1), markers[:, half:].sum(1)
    assert torch.equal(first, torch.ones(500)) and torch.equal(second, torch.ones(500))


def test_adding_problem_seeding_and_baseline():
    a, b, c = adding_problem(50, 20, 3), adding_problem(50, 20, 3), adding_problem(50, 20, 4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    _, y = adding_problem(200_000, 10, seed=0)
    assert abs(float(((y - 1.0) ** 2).mean()) - ADDING_BASELINE_MSE) < 2e-3
    with pytest.raises(ValueError):
        adding_problem(3, 1)


def test_adding_batches_are_fresh_and_reproducible():
    first = list(itertools.islice(iter(AddingBatches(12, 4, seed=5)), 3))
    again = list(itertools.islice(iter(AddingBatches(12, 4, seed=5)), 3))
    assert first[0][0].shape == (4, 12, 2) and first[0][1].shape == (4,)
    assert not torch.equal(first[0][0], first[1][0])
    for (x1, y1), (x2, y2) in zip(first, again):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


@pytest.mark.parametrize("length,delay,symbols", [(10, 20, 8), (3, 0, 2), (1, 5, 1)])
def test_copy_task_targets(length, delay, symbols):
    x, y = copy_task(64, length, delay, symbols, seed=2)
    T = 2 * length + delay
    assert x.shape == y.shape == (64, T) and x.dtype == y.dtype == torch.long
    data = x[:, :length]
    assert ((data >= 1) & (data <= symbols)).all()
    assert (x[:, length + delay] == symbols + 1).all()
    rest = torch.cat([x[:, length:length + delay], x[:, length + delay + 1:]], 1)
    assert (rest == 0).all()
    assert torch.equal(y[:, T - length:], data)
    assert (y[:, :T - length] == 0).all()
    assert torch.equal(copy_task(64, length, delay, symbols, seed=2)[0], x)


def test_copy_baseline():
    assert copy_baseline(10, 20, 8) == pytest.approx(10 * math.log(8) / 40)


@pytest.mark.parametrize("cell,scratch", [("rnn", False), ("lstm", False), ("gru", False),
                                          ("lstm", True)])
def test_sequence_regressor_shapes_and_loss(cell, scratch):
    torch.manual_seed(0)
    model = SequenceRegressor(2, 8, cell=cell, scratch=scratch)
    assert isinstance(model.rnn, LSTM) == scratch
    x, y = adding_problem(5, 7)
    assert model(x).shape == (5,)
    loss, n = regression_loss(model, (x, y))
    assert n == 5 and loss.dim() == 0
    assert mse(model, x, y, batch_size=2) == pytest.approx(float(loss.detach()), rel=1e-5)
    two = SequenceRegressor(2, cell=nn.GRU(2, 4, batch_first=True), out_features=2)
    assert two(x).shape == (5, 2)
    with pytest.raises(ValueError):
        SequenceRegressor(2, cell=nn.GRU(2, 4))


def test_gru_learns_a_short_adding_problem():
    """Trained briefly, a GRU beats the constant baseline by far at length 10."""
    rnnbook.seed_everything(0)
    model = SequenceRegressor(2, 16, cell="gru")
    rnnbook.train(model, AddingBatches(10, 32, seed=0), regression_loss, steps=150, lr=1e-2,
                  progress=False, log=None)
    x, y = adding_problem(1000, 10, seed=99)
    assert mse(model, x, y) < 0.2 * ADDING_BASELINE_MSE
