"""GRU4Rec's session-parallel training, killed and resumed from its checkpoint, repeats the
straight run bit for bit: the batcher saves the shuffle of the pass in progress and its
position, the loss saves the lanes' carried state."""

import functools
import io

import numpy as np
import pytest
import torch
from resume import kill_and_resume, same_weights

import rnnbook
from rnnbook.batching import Batcher
from rnnbook.models.lm import CharLM
from rnnbook.tasks import rank as R
from rnnbook.train import train

RNG = np.random.default_rng(5)
SESSIONS = [RNG.integers(0, 12, size=RNG.integers(2, 9)).tolist() for _ in range(40)]


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def steps_of(batches):
    return [tuple(t.clone() for t in b) for b in batches]


def same_steps(a, b):
    assert len(a) == len(b)
    for s, t in zip(a, b):
        assert all(torch.equal(u, v) for u, v in zip(s, t))


@pytest.mark.parametrize("consumed", [0, 1, 7])
def test_batcher_state_replays_the_pass_in_progress(consumed):
    a = R.SessionParallelBatches(SESSIONS, 4, seed=3)
    steps_of(a)                                    # the first pass
    it = iter(a)                                   # the second pass, `consumed` steps in
    taken = [next(it) for _ in range(consumed)]
    state = a.state_dict()
    assert state["position"] == consumed
    rest = steps_of(it)
    third = steps_of(a)
    b = R.SessionParallelBatches(SESSIONS, 4, seed=99)  # another seed: the state decides
    b.load_state_dict(state)
    replay = steps_of(b)
    same_steps(replay[consumed:], rest)            # skipping `consumed` gives what was left
    same_steps(replay[:consumed], [tuple(t) for t in taken])
    same_steps(steps_of(b), third)                 # and the pass after is the same too


def test_batcher_state_after_a_whole_pass_is_the_next_pass():
    a = R.SessionParallelBatches(SESSIONS, 4, seed=3)
    steps_of(a)
    state = a.state_dict()
    assert state["position"] == 0
    b = R.SessionParallelBatches(SESSIONS, 4, seed=99)
    b.load_state_dict(state)
    assert len(b) == len(a)
    same_steps(steps_of(b), steps_of(a))
    with pytest.raises(ValueError, match="state_dict"):
        b.load_state_dict({"position": 3})


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_session_loss_state_round_trips_through_a_weights_only_file(cell):
    torch.manual_seed(0)
    model = CharLM(12, 4, 6, cell=cell)
    loss = R.SessionLoss("bpr")
    for batch, _ in zip(R.SessionParallelBatches(SESSIONS, 4), range(3)):
        loss(model, batch)
    buffer = io.BytesIO()
    torch.save(loss.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    other = R.SessionLoss("bpr")
    other.load_state_dict(saved)
    for a, b in zip(*(s if isinstance(s, tuple) else (s,) for s in (loss.state, other.state))):
        assert torch.equal(a, b) and a.abs().sum() > 0
    fresh = R.SessionLoss("bpr")
    fresh.load_state_dict(fresh.state_dict())
    assert fresh.state is None
    with pytest.raises(ValueError, match="'bpr' loss"):
        R.SessionLoss("xe").load_state_dict(saved)


PASS = len(R.SessionParallelBatches(SESSIONS, 4, seed=1))   # steps of the first pass
TOTAL = 2 * PASS + 5


def session_run(steps, kind, **kw):
    """fit_sessions's recipe (Adam, one-cycle over TOTAL steps, no clipping), cut at
    ``steps``."""
    rnnbook.seed_everything(0)
    model = CharLM(12, 6, 8, cell="gru")
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=TOTAL,
                                                pct_start=0.05)
    train(model, R.SessionParallelBatches(SESSIONS, 4, seed=1), R.SessionLoss(kind),
          steps=steps, optimizer=opt, scheduler=sched, clip=None, progress=False, log=None,
          **kw)
    return model


@pytest.mark.parametrize("kind", ["xe", "bpr"])
@pytest.mark.parametrize("split", [PASS // 2, PASS, PASS + PASS // 2 + 1],
                         ids=["in pass 1", "pass end", "in pass 2"])
def test_session_training_resumes_bit_exactly(tmp_path, kind, split):
    run = functools.partial(session_run, kind=kind)
    same_weights(*kill_and_resume(run, TOTAL, split, tmp_path, eval_every=split))


def test_session_batches_follow_the_batcher_protocol():
    """rnnbook.batching.Batcher: passes by iteration, len() the coming pass's steps, and a
    state that makes the next iteration replay the pass it was saved before."""
    batches = R.SessionParallelBatches(SESSIONS, 4, seed=1)
    assert isinstance(batches, Batcher)
    state = batches.state_dict()
    n = len(batches)
    first = [b.y.tolist() for b in batches]
    assert len(first) == n
    batches.load_state_dict(state)
    assert [b.y.tolist() for b in batches] == first
