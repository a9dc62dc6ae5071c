"""A run killed and resumed from its checkpoint repeats the straight run bit for bit, or is
refused at the start."""

import pytest
import torch
from resume import kill_and_resume, same_weights
from torch import nn
from torch.nn import functional as F

import rnnbook
from rnnbook.batching import PaddedBatches, StreamBatches
from rnnbook.checkpoint import load_checkpoint
from rnnbook.evaluation import evaluate
from rnnbook.models import CharLM, SequenceRegressor
from rnnbook.synthetic import AddingBatches
from rnnbook.tasks.lm import LanguageModelLoss
from rnnbook.tasks.regress import regression_loss
from rnnbook.train import train

# a stream of 4 rows x 60 tokens: 6 batches of 10 steps per pass (the last one 9)
STREAM = torch.randint(0, 7, (240,), generator=torch.Generator().manual_seed(3))


def lm_run(steps, eval_every=5, **kw):
    """An LSTM language model with dropout on truncated-BPTT batches: the loss carries the
    LSTM's state (h, c) from batch to batch."""
    rnnbook.seed_everything(0)
    model = CharLM(7, 8, 16, cell="lstm", dropout=0.2)
    train(model, StreamBatches(STREAM, 4, 10), LanguageModelLoss(stateful=True), steps=steps,
          lr=1e-2, eval_every=eval_every, progress=False, log=None, **kw)
    return model


@pytest.mark.parametrize("split", [5, 10, 12], ids=["in pass 1", "in pass 2", "pass end"])
def test_a_stateful_lm_resumes_bit_exactly(tmp_path, split):
    """The carried LSTM state is saved with the checkpoint and restored: without it the
    resumed run starts its batch from a zero state and drifts from the straight run."""
    straight, resumed = kill_and_resume(
        lambda steps, **kw: lm_run(steps, eval_every=split, **kw), 20, split, tmp_path)
    same_weights(straight, resumed)


def test_the_checkpoint_holds_the_carried_state(tmp_path):
    ckpt = tmp_path / "ck.pt"
    lm_run(5, checkpoint=ckpt)
    loss = LanguageModelLoss(stateful=True)
    load_checkpoint(ckpt, CharLM(7, 8, 16, cell="lstm"), loss_fn=loss)
    h, c = loss.state
    assert h.shape == c.shape == (1, 4, 16) and h.abs().sum() > 0


def adding_run(steps, **kw):
    rnnbook.seed_everything(0)
    model = SequenceRegressor(2, 8, cell="gru")
    train(model, AddingBatches(6, 8, seed=4), regression_loss, steps=steps, lr=1e-2,
          eval_every=4, progress=False, log=None, **kw)
    return model


def test_the_endless_adding_stream_resumes_where_it_stopped(tmp_path):
    """AddingBatches has no length: the resumed run skips the batches already trained on
    instead of starting the stream again."""
    same_weights(*kill_and_resume(adding_run, 12, 8, tmp_path))


class VaryingBatches:
    """A random number (2 to 5) of random regression batches per pass, like a batcher whose
    passes differ in length (session-parallel batches); follows the batcher protocol."""

    def __init__(self, seed=0):
        self.generator = torch.Generator().manual_seed(seed)
        self.start, self.position, self.batches = self.generator.get_state(), 0, 0

    def __len__(self):  # the length of *a* pass: it says nothing about the pass in progress
        return 4

    def __iter__(self):
        self.start = self.generator.get_state()
        self.batches = int(torch.randint(2, 6, (), generator=self.generator))
        self.position = 0
        xs = torch.randn(self.batches, 3, 2, generator=self.generator)
        for x in xs:
            self.position += 1
            yield x, x.sum(-1, keepdim=True)

    def state_dict(self):
        if 0 < self.position < self.batches:
            return {"generator": self.start.clone(), "position": self.position}
        return {"generator": self.generator.get_state(), "position": 0}

    def load_state_dict(self, state):
        self.generator.set_state(state["generator"])
        self.position = self.batches = 0


def varying_run(steps, **kw):
    rnnbook.seed_everything(0)
    model = nn.Linear(2, 1)
    hist = train(model, VaryingBatches(), lambda m, b: (F.mse_loss(m(b[0]), b[1]), 3),
                 steps=steps, epochs=4, lr=0.1, eval_every=1, progress=False, log=None, **kw)
    return model, hist


@pytest.mark.parametrize("split", [1, 3, 6, 9])
def test_passes_of_varying_length_resume_at_the_right_pass(tmp_path, split):
    """The checkpoint records the pass and the place in it; counting passes from len() would
    put the resumed run in the wrong pass (and stop after the wrong number of them)."""
    (straight, h1), (resumed, h2) = kill_and_resume(
        lambda steps, **kw: varying_run(steps, **kw), 100, split, tmp_path)
    assert h2.step == h1.step  # the same number of steps in 4 passes
    same_weights(straight, resumed)


LISTED = [(torch.full((2, 1), float(k)), torch.full((2, 1), 2.0 * k + 1)) for k in range(5)]


@pytest.mark.parametrize("split", [3, 5, 7])
def test_a_list_of_batches_resumes_exactly(tmp_path, split):
    def run(steps, **kw):
        torch.manual_seed(0)
        model = nn.Linear(1, 1)
        train(model, LISTED, lambda m, b: (F.mse_loss(m(b[0]), b[1]), 2), steps=steps,
              lr=0.01, eval_every=1, progress=False, log=None, **kw)
        return model

    same_weights(*kill_and_resume(run, 12, split, tmp_path))


class NoState:
    """Random batches without state_dict(): where it is cannot be saved."""

    def __iter__(self):
        for _ in range(4):
            x = torch.randn(3, 2)
            yield x, x.sum(-1, keepdim=True)


class CarryingLoss:
    """A loss that carries something across batches (has reset()) but cannot save it."""

    def __init__(self):
        self.carried = 0.0

    def reset(self):
        self.carried = 0.0

    def __call__(self, model, batch):
        x, y = batch
        loss = F.mse_loss(model(x), y) + self.carried
        self.carried = 0.01 * float(loss.detach())
        return loss, len(y)


def mse(model, batch):
    x, y = batch
    return F.mse_loss(model(x), y), len(y)


def refused_before_training(tmp_path, error, match, data, loss, **kw):
    model = nn.Linear(2, 1)
    before = model.weight.detach().clone()
    ckpt = tmp_path / "run.pt"
    with pytest.raises(error, match=match):
        train(model, data, loss, steps=3, checkpoint=ckpt, progress=False, log=None, **kw)
    assert torch.equal(model.weight, before) and not ckpt.exists()
    # without a checkpoint there is nothing to resume: the same run trains
    train(model, data, loss, steps=3, progress=False, log=None, **kw)
    assert not torch.equal(model.weight, before)


def test_checkpointing_data_without_state_is_refused(tmp_path):
    refused_before_training(tmp_path, TypeError, r"NoState, has no state_dict\(\)/load_state_dict"
                            r"\(\).*give NoState both methods.*list of batches.*without a "
                            "checkpoint", NoState(), mse)


def test_checkpointing_a_generator_is_refused(tmp_path):
    batches = ((torch.randn(3, 2), torch.randn(3, 1)) for _ in range(5))
    model = nn.Linear(2, 1)
    with pytest.raises(TypeError, match="one-shot iterator.*cannot be replayed"):
        train(model, batches, mse, steps=3, checkpoint=tmp_path / "run.pt", progress=False,
              log=None)


def test_a_loss_with_part_of_the_stateful_protocol_is_refused(tmp_path):
    """A loss with reset() but no state_dict() could neither be saved nor evaluated apart:
    refused before training, with or without a checkpoint, and by evaluate."""
    model = nn.Linear(2, 1)
    before = model.weight.detach().clone()
    match = (r"CarryingLoss, has reset\(\) but not fresh\(\), state_dict\(\), "
             r"load_state_dict\(\).*StatefulLoss")
    for kw in ({"checkpoint": tmp_path / "run.pt"}, {}):
        with pytest.raises(TypeError, match=match):
            train(model, LISTED_2D, CarryingLoss(), steps=3, progress=False, log=None, **kw)
    with pytest.raises(TypeError, match=match):
        evaluate(model, LISTED_2D, CarryingLoss())
    assert torch.equal(model.weight, before) and not (tmp_path / "run.pt").exists()


LISTED_2D = [(torch.randn(3, 2, generator=torch.Generator().manual_seed(k)),
              torch.ones(3, 1) * k) for k in range(4)]


def test_validating_on_the_shuffled_training_batcher_is_refused(tmp_path):
    """Evaluation would draw the batcher's shuffles: a resumed run could not replay them."""
    examples = [([1 + i % 4, 2], float(i % 3)) for i in range(12)]
    data = PaddedBatches(examples, batch_size=4, seed=0)

    def loss(model, batch):
        x, lengths, y = batch
        return F.mse_loss(model(x.float()).squeeze(-1), y.float()), len(y)

    refused_before_training(tmp_path, ValueError, "val_data is the training batcher itself",
                            data, loss, val_data=data)


def test_a_deterministic_stream_may_validate_on_itself(tmp_path):
    data = StreamBatches(STREAM, 4, 10)
    train(CharLM(7, 8, 16), data, LanguageModelLoss(stateful=True), steps=2, val_data=data,
          checkpoint=tmp_path / "run.pt", progress=False, log=None)
    assert (tmp_path / "run.pt").exists()


class Killed(Exception):
    """Stands for the process being killed."""


def best_run(start=0, kill=None, **kw):
    """18 steps of the stateful LSTM LM with a one-cycle schedule and keep_best scoring the
    evaluations ``start``, ``start + 1``, ... with SCORES (the best at step 9); killed at the
    evaluation ``kill``, after the checkpoint of the one before."""
    calls = iter(range(start, 99))

    def score(model):
        k = next(calls)
        if k == kill:
            raise Killed
        return SCORES[k]

    return lm_run(18, eval_every=3, schedule="one-cycle", warmup=0.25, keep_best=score, **kw)


SCORES = [1.0, 2.0, 5.0, 3.0, 4.0, 0.0]   # at steps 3, 6, ..., 18


@pytest.mark.parametrize("split", [6, 12], ids=["before the best", "after it"])
def test_keep_best_and_a_schedule_resume_bit_exactly(tmp_path, split):
    """The best score, step and weights so far and the scheduler's state are in the
    checkpoint: the resumed run ends with the straight run's best weights (of step 9)."""
    straight = best_run()
    at_best = lm_run(9, eval_every=3, schedule=lambda opt, n: torch.optim.lr_scheduler.
                     OneCycleLR(opt, max_lr=1e-2, total_steps=18, pct_start=0.25))
    ckpt = tmp_path / "run.pt"
    with pytest.raises(Killed):
        best_run(kill=split // 3, checkpoint=ckpt)
    resumed = best_run(start=split // 3, checkpoint=ckpt, resume=True)
    same_weights(straight, resumed)
    same_weights(straight, at_best)
    step, hist = load_checkpoint(ckpt, CharLM(7, 8, 16, cell="lstm"))
    assert step == 18 and hist.scores == SCORES and hist.best_step == 9


def test_resuming_with_keep_best_needs_a_checkpoint_that_kept_it(tmp_path):
    ckpt = tmp_path / "run.pt"
    lm_run(6, checkpoint=ckpt)
    with pytest.raises(ValueError, match="saved by a run without keep_best"):
        lm_run(12, checkpoint=ckpt, resume=True, keep_best=lambda m: 0.0)
    lm_run(12, checkpoint=ckpt, resume=True)           # without keep_best it resumes


def test_a_resumed_run_that_continues_a_history(tmp_path):
    """history= and a checkpoint: the saved history continues the given one; resuming with
    another history is refused."""
    def run(steps, history, **kw):
        rnnbook.seed_everything(0)
        model = CharLM(7, 8, 16, cell="lstm")
        return train(model, StreamBatches(STREAM, 4, 10), LanguageModelLoss(stateful=True),
                     steps=steps, lr=1e-2, eval_every=3, progress=False, log=None,
                     history=history, **kw), model

    def first():
        return run(4, None)[0]

    straight, model = run(9, first())
    ckpt = tmp_path / "run.pt"
    run(6, first(), checkpoint=ckpt)
    resumed, again = run(9, first(), checkpoint=ckpt, resume=True)
    same_weights(model, again)
    assert resumed.step == straight.step == [3, 4, 7, 10, 13]
    assert resumed.items == straight.items
    other = first()
    other.step[-1] = 5
    with pytest.raises(ValueError, match="does not continue the history given"):
        run(9, other, checkpoint=ckpt, resume=True)
