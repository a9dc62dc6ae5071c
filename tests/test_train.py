import math
import os

import pytest
import torch
from torch import nn

import rnnbook
from rnnbook.checkpoint import load_checkpoint
from rnnbook.evaluation import evaluate
from rnnbook.models import BigramLM
from rnnbook.tasks.lm import LanguageModelLoss
from rnnbook.train import TrainingDiverged, train


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


def test_to_device_keeps_named_tuples_lists_and_tuples():
    from rnnbook.batching import LMBatch
    from rnnbook.runtime import detach, to_device

    x, y = torch.zeros(2, 3), torch.ones(2, 3)
    moved = to_device(LMBatch(x, y), torch.device("cpu"))
    assert isinstance(moved, LMBatch) and moved.y is y
    assert to_device([x, (y, "tag")], torch.device("cpu")) == [x, (y, "tag")]
    state = detach(LMBatch(x.requires_grad_() * 2, y))
    assert isinstance(state, LMBatch) and not state.x.requires_grad
    packed = nn.utils.rnn.pack_padded_sequence(torch.ones(2, 3, 1), torch.tensor([3, 1]),
                                               batch_first=True)
    moved = to_device(packed, torch.device("cpu"))
    assert isinstance(moved, nn.utils.rnn.PackedSequence) and torch.equal(moved.data, packed.data)


def test_eval_mode_restores_the_mode_it_found():
    from rnnbook.runtime import eval_mode

    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model[1].eval()  # a submodule frozen in eval mode stays so
    with eval_mode(model) as m:
        assert m is model and not model.training and not model[0].training
        assert not torch.is_grad_enabled()
    assert model.training and model[0].training and not model[1].training
    model.eval()
    with eval_mode(model, no_grad=False):
        assert torch.is_grad_enabled()
    assert not model.training
    model.train()
    with pytest.raises(KeyError), eval_mode(model):
        raise KeyError("boom")
    assert model.training and torch.is_grad_enabled()


def huge_lr_run(**kw):
    rnnbook.seed_everything(0)
    model = BigramLM(5)
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    with pytest.raises(TrainingDiverged) as err:
        train(model, data, LanguageModelLoss(), steps=100, lr=1e6, val_data=data,
              progress=False, log=None, **kw)
    return model, str(err.value)


def test_divergence_after_an_update_gives_back_the_start_weights():
    model, msg = huge_lr_run(eval_every=1000)
    # BigramLM starts from zeros; AdamW at lr=1e6 blows the weights up to inf in ~10 steps
    assert torch.equal(model.logits.weight, torch.zeros(5, 5))
    assert "weights are not finite" in msg and "weights of step 0 (the start of the run)" in msg


def test_divergence_never_checkpoints_nan_and_restores_the_last_good_state(tmp_path):
    ckpt = tmp_path / "run.pt"
    model, msg = huge_lr_run(eval_every=1, checkpoint=ckpt)
    saved = BigramLM(5)
    step, hist = load_checkpoint(ckpt, saved)
    assert torch.isfinite(saved.logits.weight).all()
    assert all(math.isfinite(v) for v in hist.val_loss)
    assert torch.isfinite(model.logits.weight).all()
    assert torch.equal(model.logits.weight, saved.logits.weight)
    assert f"weights of step {step} (the last finite evaluation)" in msg and "untouched" in msg


class NanWhenEvaluated(nn.Module):
    """A fine language model in train mode; NaN logits in eval mode."""

    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(5, 5)

    def forward(self, ids, state=None):
        out = self.table(ids)
        return (out if self.training else out * float("nan")), None


def test_a_nan_validation_loss_is_divergence_and_is_not_saved(tmp_path):
    torch.manual_seed(0)
    model = NanWhenEvaluated()
    start = model.table.weight.detach().clone()
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    ckpt = tmp_path / "run.pt"
    h = train(model, data, LanguageModelLoss(), steps=10, eval_every=5, val_data=data,
              checkpoint=ckpt, on_nan="stop", progress=False, log=None)
    assert h.diverged and "step 5: the validation loss is nan" in h.message
    assert h.val_loss == [] and not ckpt.exists()
    assert torch.equal(model.table.weight, start)


@pytest.mark.parametrize("clip", [float("nan"), -1.0, 0.0])
def test_clip_must_be_a_positive_number(clip):
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    with pytest.raises(ValueError, match="clip"):
        train(BigramLM(5), data, LanguageModelLoss(), steps=5, clip=clip, progress=False,
              log=None)


def test_eval_every_must_be_positive():
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    with pytest.raises(ValueError, match="eval_every"):
        train(BigramLM(5), data, LanguageModelLoss(), steps=2, eval_every=0, progress=False,
              log=None)


def test_a_one_shot_iterator_is_a_clear_error():
    data = list(rnnbook.StreamBatches(periodic_stream(), 4, 10))  # 50 batches
    model = BigramLM(5)
    with pytest.raises(ValueError, match="one-shot.*list or a batcher"):
        train(model, iter(data), LanguageModelLoss(), epochs=2, progress=False, log=None)
    assert torch.equal(model.logits.weight, torch.zeros(5, 5))  # refused before training
    with pytest.raises(ValueError, match="one-shot.*list or a batcher"):
        train(model, iter(data), LanguageModelLoss(), steps=60, progress=False, log=None)
    h = train(model, iter(data), LanguageModelLoss(), steps=50, progress=False, log=None)
    assert h.step[-1] == 50  # a single pass is fine


def test_resume_needs_the_file_and_a_checkpoint_is_never_overwritten_silently(tmp_path):
    ckpt = tmp_path / "run.pt"
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)

    def run(**kw):
        return train(BigramLM(5), data, LanguageModelLoss(), steps=4, eval_every=4, checkpoint=ckpt,
                     progress=False, log=None, **kw)

    with pytest.raises(FileNotFoundError, match="run.pt"):
        run(resume=True)
    assert run(resume="if-exists").step == [4]  # no file: a fresh run
    with pytest.raises(FileExistsError, match="resume=True"):
        run()
    assert run(overwrite=True).step == [4]
    assert run(resume=True).step == [4]  # already done


def test_resume_with_another_optimizer_is_refused_before_loading(tmp_path):
    ckpt = tmp_path / "run.pt"
    data = rnnbook.StreamBatches(periodic_stream(), 4, 10)
    train(BigramLM(5), data, LanguageModelLoss(), steps=4, checkpoint=ckpt, lr=0.1,
          progress=False, log=None)
    model = BigramLM(5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="AdamW.*SGD"):
        train(model, data, LanguageModelLoss(), steps=8, optimizer=opt, checkpoint=ckpt,
              resume=True, progress=False, log=None)
    assert torch.equal(model.logits.weight, torch.zeros(5, 5))  # nothing was loaded


def test_checkpoint_writes_are_synced_and_a_failed_write_leaves_no_tmp(tmp_path, monkeypatch):
    from rnnbook.checkpoint import save_checkpoint
    from rnnbook.history import History

    model = BigramLM(5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "ck.pt"
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    save_checkpoint(path, model, opt, 0, History())
    assert synced and path.exists()

    def broken_save(obj, f, *a, **k):
        if isinstance(f, (str, os.PathLike)):
            f = open(f, "wb")
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "new.pt", model, opt, 0, History())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]


# The recipe: weight decay, schedules, keep_best, continued histories


def lm_setup():
    rnnbook.seed_everything(0)
    return rnnbook.models.CharLM(5, 6, 8, cell="gru"), \
        rnnbook.StreamBatches(periodic_stream(404), 4, 10)  # 10 batches of 40 tokens per pass


def test_the_default_recipe_is_adamw_with_its_default_weight_decay():
    model, data = lm_setup()
    train(model, data, LanguageModelLoss(), steps=12, lr=0.01, progress=False, log=None)
    hand, data = lm_setup()
    opt = torch.optim.AdamW(hand.parameters(), lr=0.01, weight_decay=0.01)
    train(hand, data, LanguageModelLoss(), steps=12, optimizer=opt, progress=False, log=None)
    for p, q in zip(model.parameters(), hand.parameters()):
        assert torch.equal(p, q)
    other, data = lm_setup()
    train(other, data, LanguageModelLoss(), steps=12, lr=0.01, weight_decay=0.5,
          progress=False, log=None)
    assert not torch.equal(other.out.weight, model.out.weight)


@pytest.mark.parametrize("run", [dict(steps=15), dict(epochs=2)], ids=["steps", "epochs"])
def test_one_cycle_is_the_hand_built_one_cycle_bit_for_bit(run):
    model, data = lm_setup()
    h = train(model, data, LanguageModelLoss(), lr=0.02, schedule="one-cycle", warmup=0.2,
              progress=False, log=None, **run)
    hand, data = lm_setup()
    opt = torch.optim.AdamW(hand.parameters(), lr=0.02)
    n = run.get("steps") or run["epochs"] * len(data)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.02, total_steps=n, pct_start=0.2)
    train(hand, data, LanguageModelLoss(), optimizer=opt, scheduler=sched, progress=False,
          log=None, **run)
    assert h.step[-1] == n and sched.last_epoch == n
    for p, q in zip(model.parameters(), hand.parameters()):
        assert torch.equal(p, q)
    plain, data = lm_setup()
    train(plain, data, LanguageModelLoss(), lr=0.02, progress=False, log=None, **run)
    assert not torch.equal(plain.out.weight, model.out.weight)


def test_a_schedule_function_gets_the_optimizer_and_the_run_length():
    model, data = lm_setup()
    seen = []

    def halve(opt, n):
        seen.append((opt, n))
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 ** s)

    train(model, data, LanguageModelLoss(), epochs=2, lr=0.1, schedule=halve, progress=False,
          log=None)
    (opt, n), = seen
    assert n == 20 and isinstance(opt, torch.optim.AdamW)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 20)


def test_bad_schedules_are_clear_errors():
    model, data = lm_setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, 5)
    kw = dict(progress=False, log=None)
    with pytest.raises(ValueError, match="not both"):
        train(model, data, LanguageModelLoss(), steps=3, optimizer=opt, scheduler=sched,
              schedule="one-cycle", **kw)
    with pytest.raises(ValueError, match="'one-cycle' or a function"):
        train(model, data, LanguageModelLoss(), steps=3, schedule="cosine", **kw)
    with pytest.raises(ValueError, match="needs the length of the run"):
        train(model, data, LanguageModelLoss(), max_seconds=1, schedule="one-cycle", **kw)


def scripted(values, seen=None):
    """A score function that returns ``values`` in turn and records the weights it scored
    and the mode the model was in."""
    values = iter(values)

    def score(model):
        if seen is not None:
            seen.append(({k: v.clone() for k, v in model.state_dict().items()},
                         model.training, torch.is_grad_enabled()))
        return next(values)

    return score


def test_keep_best_restores_the_best_epoch_and_records_the_scores():
    model, data = lm_setup()
    seen = []
    h = train(model, data, LanguageModelLoss(), epochs=5, lr=0.05, progress=False, log=None,
              keep_best=scripted([1.0, 3.0, 2.0, 3.0, float("nan")], seen))
    assert h.step == [10, 20, 30, 40, 50]            # one evaluation per pass
    assert h.scores[:4] == [1.0, 3.0, 2.0, 3.0] and math.isnan(h.scores[4])
    assert h.score_steps == h.step and h.best_step == 20   # the first best on ties
    best = seen[1][0]
    assert all(torch.equal(v, best[k]) for k, v in model.state_dict().items())
    assert not torch.equal(seen[-1][0]["out.weight"], best["out.weight"])
    assert all(not training and not grad for _, training, grad in seen)
    assert model.training                             # back in the mode it trains in


def test_keep_best_in_a_run_given_in_steps_scores_every_eval_every():
    model, data = lm_setup()
    h = train(model, data, LanguageModelLoss(), steps=12, eval_every=4, lr=0.05,
              progress=False, log=None, keep_best=scripted([2.0, 1.0, 0.0]))
    assert h.score_steps == [4, 8, 12] and h.best_step == 4


def test_a_run_continues_a_history():
    model, data = lm_setup()
    first = train(model, data, LanguageModelLoss(), steps=20, eval_every=10, lr=0.05,
                  progress=False, log=None)
    seconds, items = first.seconds, first.items[-1]
    lines = []
    both = train(model, data, LanguageModelLoss(), steps=15, eval_every=5, lr=0.05,
                 progress=False, log=lines.append, history=first, keep_best=scripted([1, 2, 0]))
    assert both is first and lines[0].startswith("step     25 |")
    assert lines[-1] == "keep_best: the model holds its weights of step 30 (score 2)"
    assert both.step == [10, 20, 25, 30, 35] and both.score_steps == [25, 30, 35]
    assert both.items[2:] == [items + 5 * 40, items + 10 * 40, items + 15 * 40]
    assert both.time[2] > seconds and len(both.grad_norm) == 35 and both.best_step == 30


def test_history_extend_counts_on_from_the_first_run():
    from rnnbook.history import History

    a = History(step=[5, 10], items=[50, 100], time=[1.0, 2.0], train_loss=[3, 2],
                val_loss=[None, 1.5], items_per_sec=[50, 50], grad_norm=[1] * 10,
                scores=[0.5], score_steps=[10])
    b = History(step=[4], items=[40], time=[0.5], train_loss=[1], val_loss=[1.0],
                items_per_sec=[80], grad_norm=[2] * 4, scores=[0.7], score_steps=[4],
                diverged=True, message="stopped")
    assert a.extend(b) is a
    assert a.step == [5, 10, 14] and a.items == [50, 100, 140] and a.time == [1.0, 2.0, 2.5]
    assert a.val_loss == [None, 1.5, 1.0] and len(a.grad_norm) == 14
    assert a.scores == [0.5, 0.7] and a.score_steps == [10, 14] and a.best_step == 14
    assert a.diverged and a.message == "stopped" and a.final_val == 1.0
    assert History().best_step is None


def test_the_names_callers_import_from_the_loop_stay_importable():
    """The pieces live in runtime, history, checkpoint and evaluation; rnnbook.train still
    hands out the names older code imports from it."""
    import importlib

    from rnnbook import checkpoint, evaluation, history, runtime

    loop = importlib.import_module("rnnbook.train")  # rnnbook.train itself is the function

    for module, names in ((runtime, ["detach", "eval_mode", "model_device", "to_device"]),
                          (history, ["History"]), (evaluation, ["evaluate", "outputs",
                                                                "LossFn", "StatefulLoss"]),
                          (checkpoint, ["MAGIC", "CorruptCheckpoint", "load_checkpoint",
                                        "save_checkpoint", "_read_checkpoint", "_restore"])):
        for name in names:
            assert getattr(loop, name) is getattr(module, name), name
