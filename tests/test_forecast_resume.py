"""ShuffledBatches resumes exactly: its state replays the pass in progress, and a training run
stopped part-way and resumed from its checkpoint ends with the straight run's weights, bit for
bit."""

import numpy as np
import pytest
import torch
from resume import kill_and_resume, same_weights

import rnnbook
from rnnbook.batching import Batcher
from rnnbook.models.regressor import SequenceRegressor
from rnnbook.tasks.forecast import ShuffledBatches
from rnnbook.tasks.regress import regression_loss
from rnnbook.train import train

X = np.random.default_rng(0).normal(size=(30, 6))
Y = X.sum(axis=1)


def _targets(batches):
    return [b[1].tolist() for b in batches]


@pytest.mark.parametrize("consumed", [0, 2, 4, 5, 9])  # 4 batches per pass
def test_shuffled_batches_state_replays_the_pass_in_progress(consumed):
    a = ShuffledBatches(X, Y, batch_size=8, seed=4)
    straight = _targets(b for _ in range(4) for b in a)
    a = ShuffledBatches(X, Y, batch_size=8, seed=4)
    it = (b for _ in range(4) for b in a)
    for _ in range(consumed):
        next(it)
    state = a.state_dict()
    assert state["position"] == consumed % 4 and state["generator"].dtype == torch.uint8
    b = ShuffledBatches(X, Y, batch_size=8, seed=99)
    b.load_state_dict(state)
    resumed = _targets(b)[state["position"]:] + _targets(b)
    assert resumed == straight[consumed:consumed + len(resumed)]
    assert len(resumed) >= 4


def test_shuffled_batches_refuse_a_state_of_other_data():
    b = ShuffledBatches(X, Y, batch_size=8)
    with pytest.raises(ValueError, match="not a ShuffledBatches state"):
        b.load_state_dict({"position": 1})
    big = ShuffledBatches(np.zeros((100, 6)), np.zeros(100), batch_size=8)
    it = iter(big)
    for _ in range(7):
        next(it)
    with pytest.raises(ValueError, match="saved for other data"):
        b.load_state_dict(big.state_dict())


def _run(steps, seed=0, **kw):
    rnnbook.seed_everything(seed)
    model = SequenceRegressor(1, 5, cell="gru")
    data = ShuffledBatches(X, Y, batch_size=8, seed=1)  # 4 batches per pass
    train(model, data, regression_loss, steps=steps, lr=1e-2, eval_every=3, progress=False,
          log=None, **kw)
    return model


@pytest.mark.parametrize("split", [6, 8, 9])  # 8: at a pass boundary; 6, 9: inside a pass
def test_training_on_shuffled_batches_resumes_bit_exactly(tmp_path, split):
    # the resumed run: a fresh model and data, seeded otherwise
    same_weights(*kill_and_resume(_run, 16, split, tmp_path, resume_seed=123))


def test_shuffled_batches_follow_the_batcher_protocol():
    batches = ShuffledBatches(X, Y, batch_size=8, seed=4)
    assert isinstance(batches, Batcher) and len(batches) == len(list(batches)) == 4
