"""ULMFiT's fine-tuning pieces: slanted triangular rates, discriminative groups, gradual
unfreezing, each checked through a real run of rnnbook.train where it matters."""

import functools
import math

import pytest
import torch
from torch import nn

import rnnbook
from rnnbook.finetune import (
    GradualUnfreezing,
    count_trainable,
    discriminative_groups,
    freeze,
    slanted_triangular,
    slanted_triangular_scheduler,
    unfreeze,
)
from rnnbook.train import train


def paper_eq3(t, T, cut_frac=0.1, ratio=32):
    """ULMFiT eq. 3 as printed (valid as written when T * cut_frac is a whole number)."""
    cut = math.floor(T * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return (1 + p * (ratio - 1)) / ratio


def test_multiplier_matches_hand_computed_values():
    m = slanted_triangular(20, cut_frac=0.1, ratio=32)  # cut = 2, decay over 18 steps
    assert m(0) == pytest.approx(1 / 32)        # floor lr/ratio at the start
    assert m(1) == pytest.approx(16.5 / 32)     # p = 1/2 on the way up
    assert m(2) == pytest.approx(1.0)           # the peak at t = cut
    assert m(11) == pytest.approx(16.5 / 32)    # p = 1/2 on the way down: 1 - 9/18
    assert m(19) == pytest.approx((1 + 31 / 18) / 32)
    assert m(20) == pytest.approx(1 / 32)       # floor again at t = T
    assert m(25) == pytest.approx(1 / 32)       # and it stays there
    for t in range(21):
        assert m(t) == pytest.approx(paper_eq3(t, 20))


def test_uneven_cut_stays_positive_and_ends_at_the_floor():
    m = slanted_triangular(25)  # cut = floor(2.5) = 2; eq. 3 as printed would go negative
    assert paper_eq3(25, 25) < 0
    assert m(2) == pytest.approx(1.0)
    assert m(25) == pytest.approx(1 / 32)
    assert all(1 / 32 - 1e-12 <= m(t) <= 1 for t in range(40))
    assert slanted_triangular(5)(1) == pytest.approx(1.0)  # T * cut_frac < 1: cut is 1 step


def three_layers():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def layers_of(model):
    return [model[0], model[2], model[4]]


def batches(n=10, size=6):
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(size, 4, generator=g), torch.randint(0, 3, (size,), generator=g))
            for _ in range(n)]


def ce_loss(model, batch):
    x, y = batch
    return nn.functional.cross_entropy(model(x), y), len(y)


def test_every_group_at_every_step_of_a_train_run():
    model = three_layers()
    opt = torch.optim.AdamW(discriminative_groups(layers_of(model), lr=0.01))
    sched = slanted_triangular_scheduler(opt, 20)  # cut = 2
    seen = []

    def loss_fn(m, batch):  # called before each optimiser step: the rates that step uses
        seen.append([g["lr"] for g in opt.param_groups])
        return ce_loss(m, batch)

    train(model, batches(), loss_fn, epochs=2, optimizer=opt, scheduler=sched,
          progress=False, log=None)
    assert len(seen) == 20
    tops = [0.01 / 2.6 ** 2, 0.01 / 2.6, 0.01]
    for t, lrs in enumerate(seen):
        assert lrs == pytest.approx([top * paper_eq3(t, 20) for top in tops], rel=1e-12)
        assert lrs[2] / lrs[1] == pytest.approx(2.6, rel=1e-12)
        assert lrs[1] / lrs[0] == pytest.approx(2.6, rel=1e-12)
    assert seen[0][2] == pytest.approx(0.01 / 32)   # starts at lr / ratio
    assert seen[2][2] == pytest.approx(0.01)        # the peak at t = cut
    assert seen[2][0] == pytest.approx(0.01 / 2.6 ** 2)
    assert [g["lr"] for g in opt.param_groups][2] == pytest.approx(0.01 / 32)  # after step T


def test_discriminative_groups_cover_each_layer_with_its_rate():
    model = three_layers()
    groups = discriminative_groups(layers_of(model), lr=1e-3, weight_decay=0.1)
    assert [g["lr"] for g in groups] == pytest.approx([1e-3 / 2.6 ** 2, 1e-3 / 2.6, 1e-3])
    assert [g["params"] for g in groups] == [list(m.parameters()) for m in layers_of(model)]
    assert all(g["weight_decay"] == 0.1 for g in groups)
    assert discriminative_groups([model[0]], lr=0.5)[0]["lr"] == 0.5
    assert [g["lr"] for g in discriminative_groups(layers_of(model), 1.0, factor=2)] == \
        [0.25, 0.5, 1.0]


@pytest.mark.parametrize("layers, kw, match", [
    ("none", {"lr": 1e-3}, "at least one layer"),
    ("relu", {"lr": 1e-3}, "no parameters"),
    ("shared", {"lr": 1e-3}, "share a parameter"),
    ("ok", {"lr": 0.0}, "positive"),
    ("ok", {"lr": -1e-3}, "positive"),
    ("ok", {"lr": 1e-3, "factor": 0}, "positive"),
    ("ok", {"lr": 1e-3, "params": []}, "per layer"),
])
def test_discriminative_groups_refuse_bad_input(layers, kw, match):
    model = three_layers()
    layers = {"none": [], "relu": [model[0], nn.ReLU()], "shared": [model[0], model[0]],
              "ok": layers_of(model)}[layers]
    with pytest.raises(ValueError, match=match):
        discriminative_groups(layers, **kw)


def test_tied_weights_are_refused():
    embed, out = nn.Embedding(5, 3), nn.Linear(3, 5)
    out.weight = embed.weight
    with pytest.raises(ValueError, match="tied"):
        discriminative_groups([embed, out], lr=1e-3)


@pytest.mark.parametrize("kw, match", [
    ({"total_steps": 1}, "at least 2"), ({"total_steps": 10.0}, "whole number"),
    ({"total_steps": 10, "cut_frac": 0}, "cut_frac"), ({"total_steps": 10, "cut_frac": 1},
                                                       "cut_frac"),
    ({"total_steps": 10, "ratio": 0.5}, "ratio"),
])
def test_slanted_triangular_refuses_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        slanted_triangular(**kw)


def test_gradual_unfreezing_stages():
    model = three_layers()
    unfreezing = GradualUnfreezing(layers_of(model))
    assert unfreezing.stage(0) == [2] and unfreezing.trainable() == [2]
    assert not model[0].weight.requires_grad and model[4].bias.requires_grad
    assert unfreezing.stage(1) == [1, 2]
    assert unfreezing.stage(2) == [0, 1, 2] == unfreezing.stage(7)  # later stages: all
    assert unfreezing.stage(0) == [2]                                # and back
    with pytest.raises(ValueError, match="stage"):
        unfreezing.stage(-1)
    with pytest.raises(ValueError, match="at least one layer"):
        GradualUnfreezing([])


def test_which_parameters_move_in_each_stage_of_a_real_run():
    """One AdamW (weight decay 0.5) over all groups, one scheduler over the run, one train call
    per stage: only the top k+1 layers change in stage k; decay does not touch frozen ones."""
    rnnbook.seed_everything(0)
    model = three_layers()
    layers = layers_of(model)
    data = batches()
    opt = torch.optim.AdamW(discriminative_groups(layers, lr=0.05, weight_decay=0.5))
    sched = slanted_triangular_scheduler(opt, 3 * len(data))
    unfreezing = GradualUnfreezing(layers)
    for k in range(3):
        unfreezing.stage(k)
        before = [[p.detach().clone() for p in layer.parameters()] for layer in layers]
        train(model, data, ce_loss, epochs=1, optimizer=opt, scheduler=sched,
              progress=False, log=None)
        for i, layer in enumerate(layers):
            moved = [not torch.equal(b, p) for b, p in zip(before[i], layer.parameters())]
            assert moved == [i >= 2 - k] * 2, f"stage {k}, layer {i}: moved {moved}"
    assert sched.last_epoch == 3 * len(data)


def test_freeze_drops_gradients_and_unfreeze_restores():
    model = three_layers()
    ce_loss(model, batches(1)[0])[0].backward()
    assert freeze(model[0]) is model[0]
    assert all(p.grad is None and not p.requires_grad for p in model[0].parameters())
    assert unfreeze(model[0]) is model[0]
    assert all(p.requires_grad for p in model[0].parameters())


def test_count_trainable():
    model = three_layers()
    assert count_trainable(model) == (4 * 8 + 8) + (8 * 8 + 8) + (8 * 3 + 3)
    freeze(model[0])
    assert count_trainable(model) == (8 * 8 + 8) + (8 * 3 + 3)
    embed, out = nn.Embedding(5, 3), nn.Linear(3, 5)
    out.weight = embed.weight
    assert count_trainable(nn.ModuleList([embed, out])) == 15 + 5  # the tied matrix once


def test_a_checkpointed_run_resumes_on_the_same_rates(tmp_path):
    """LambdaLR keeps no closure in its state: a run stopped at step 10 and resumed from its
    checkpoint with a fresh scheduler ends with the weights and rates of the straight run."""
    def run(steps, **kw):
        rnnbook.seed_everything(0)
        model = three_layers()
        opt = torch.optim.AdamW(discriminative_groups(layers_of(model), lr=0.01))
        sched = slanted_triangular_scheduler(opt, 20)
        train(model, batches(), ce_loss, steps=steps, optimizer=opt, scheduler=sched,
              eval_every=5, progress=False, log=None, **kw)
        return model, opt

    ckpt = tmp_path / "run.pt"
    run(10, checkpoint=ckpt)
    resumed, opt = run(20, checkpoint=ckpt, resume=True)
    straight, opt_straight = run(20)
    assert all(torch.equal(a, b) for a, b in zip(resumed.parameters(), straight.parameters()))
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in opt_straight.param_groups]


def test_train_builds_the_schedule_over_the_run():
    """``train(schedule=slanted_triangular_scheduler)`` gives it the run's length (epochs *
    batches) and its optimiser; options through functools.partial."""
    model = three_layers()
    opt = torch.optim.AdamW(discriminative_groups(layers_of(model), lr=0.01))
    seen = []

    def loss_fn(m, batch):
        seen.append(opt.param_groups[-1]["lr"])
        return ce_loss(m, batch)

    train(model, batches(), loss_fn, epochs=2, optimizer=opt, progress=False, log=None,
          schedule=functools.partial(slanted_triangular_scheduler, cut_frac=0.2, ratio=10))
    assert seen == pytest.approx([0.01 * paper_eq3(t, 20, 0.2, 10) for t in range(20)])
    assert seen[4] == pytest.approx(0.01) and seen[0] == pytest.approx(0.001)
