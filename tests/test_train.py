import math

import pytest
import torch
from torch import nn

import rnnbook
from rnnbook.models import BigramLM
from rnnbook.train import LanguageModelLoss, TrainingDiverged, evaluate, load_checkpoint, train


def periodic_stream(n=2004, period=5):
    """A stream a bigram model can learn perfectly: 0 1 2 3 4 0 1 2 ...

    4 rows of 501 tokens: 50 full batches of 10 steps per pass.
    """
    return torch.arange(n) % period


def make_run(steps, **kw):
    rnnbook.seed_everything(0)
    model = BigramLM(5)
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    hist = train(model, data, LanguageModelLoss(), steps=steps, lr=0.1, val_data=data,
                 progress=False, log=None, **kw)
    return model, hist


def test_training_lowers_the_loss_and_records_history():
    model, h = make_run(60, eval_every=20)
    assert h.step == [20, 40, 60]
    assert h.val_loss[-1] < 0.1 < math.log(5) - 0.5  # learnt the cycle
    assert h.items == [20 * 40, 40 * 40, 60 * 40]
    assert len(h.grad_norm) == 60 and all(g >= 0 for g in h.grad_norm)
    assert h.seconds > 0 and h.speed > 0 and h.best_val <= h.final_val


def test_clip_bounds_the_update_but_records_the_raw_norm():
    rnnbook.seed_everything(0)
    model = BigramLM(5)
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    before = model.logits.weight.detach().clone()
    h = train(model, data, LanguageModelLoss(), steps=1, optimizer=opt, clip=1e-3, progress=False,
              log=None)
    step = (model.logits.weight.detach() - before).norm()
    assert h.grad_norm[0] > 1e-2
    assert step.item() == pytest.approx(1e-3, rel=1e-3)


class Exploding(nn.Module):
    """Emits finite logits until the call counter reaches ``bad``, then NaN."""

    def __init__(self, bad):
        super().__init__()
        self.table = nn.Embedding(5, 5)
        self.calls, self.bad = 0, bad

    def forward(self, ids, state=None):
        self.calls += 1
        out = self.table(ids)
        return (out * float("nan") if self.calls >= self.bad else out), None


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_checkpoint(tmp_path):
    model = Exploding(bad=5)
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    ckpt = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged, match="step 5: the loss is nan.*untouched"):
        train(model, data, LanguageModelLoss(), steps=10, eval_every=2, checkpoint=ckpt,
              progress=False, log=None)
    assert torch.isfinite(model.table.weight).all()
    step, hist = load_checkpoint(ckpt, Exploding(99))
    assert step == 4 and hist.step == [2, 4]


def test_nan_stop_mode_returns_history():
    model = Exploding(bad=3)
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    h = train(model, data, LanguageModelLoss(), steps=10, on_nan="stop", progress=False, log=None)
    assert h.diverged and "not a finite number" in h.message and len(h.grad_norm) == 2


def test_resume_continues_exactly(tmp_path):
    full_model, full = make_run(40, eval_every=10)
    ckpt = tmp_path / "ck.pt"
    make_run(20, eval_every=10, checkpoint=ckpt)
    rnnbook.seed_everything(0)
    model = BigramLM(5)
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    resumed = train(model, data, LanguageModelLoss(), steps=40, lr=0.1, val_data=data,
                    eval_every=10, checkpoint=ckpt, resume=True, progress=False, log=None)
    assert resumed.step == full.step
    assert torch.allclose(model.logits.weight, full_model.logits.weight, atol=1e-6)
    assert not (tmp_path / "ck.pt.tmp").exists()


class StateEcho(nn.Module):
    """Records the state it is given; returns the number of calls as its state."""

    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(5, 5)
        self.seen = []

    def forward(self, ids, state=None):
        self.seen.append(None if state is None else int(state))
        return self.table(ids), torch.tensor(len(self.seen))


def test_stateful_loss_carries_state_and_resets_each_pass():
    model = StateEcho()
    data = rnnbook.StreamBatches(torch.arange(90) % 5, 2, 10)  # 5 batches per pass
    train(model, data, LanguageModelLoss(stateful=True), epochs=2, progress=False, log=None)
    assert model.seen[:5] == [None, 1, 2, 3, 4]
    assert model.seen[5] is None  # reset at the start of the second pass


def test_evaluate_uses_no_grad_and_eval_mode():
    model = nn.Sequential()
    seen = {}

    def loss_fn(m, batch):
        seen["grad"] = torch.is_grad_enabled()
        seen["training"] = m.training
        return torch.tensor(2.0), 3

    assert evaluate(model, [1, 2], loss_fn) == 2.0
    assert seen == {"grad": False, "training": False} and model.training


def test_empty_data_and_missing_stop_are_clear_errors():
    model = BigramLM(5)
    with pytest.raises(ValueError, match="no batches"):
        train(model, [], LanguageModelLoss(), steps=3, progress=False, log=None)
    with pytest.raises(ValueError, match="give steps, epochs or max_seconds"):
        train(model, [1], LanguageModelLoss(), progress=False, log=None)
    with pytest.raises(ValueError, match="empty"):
        evaluate(model, [], LanguageModelLoss())


def test_max_seconds_stops_training():
    rnnbook.seed_everything(0)
    model = BigramLM(5)
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    h = train(model, data, LanguageModelLoss(), max_seconds=0.05, progress=False, log=None)
    assert 0.05 <= h.seconds < 1.0 and h.step[-1] > 0


def test_resume_with_epochs_does_not_train_extra_passes(tmp_path):
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)  # 50 batches per pass
    ckpt = tmp_path / "ck.pt"
    rnnbook.seed_everything(0)
    train(BigramLM(5), data, LanguageModelLoss(), steps=70, eval_every=35, checkpoint=ckpt,
          progress=False, log=None)
    h = train(BigramLM(5), data, LanguageModelLoss(), epochs=2, eval_every=10, checkpoint=ckpt,
              resume=True, progress=False, log=None)
    assert h.step[-1] == 100
