"""Checkpoints: safe to load, complete enough for a bit-exact resume."""

import pathlib
import pickle
import random

import numpy as np
import pytest
import torch
from resume import kill_and_resume, same_weights
from torch import nn
from torch.nn import functional as F

import rnnbook
from rnnbook.batching import PaddedBatches
from rnnbook.checkpoint import load_checkpoint, save_checkpoint
from rnnbook.history import History
from rnnbook.train import train


class Payload:
    """Unpickling this calls ``pathlib.Path.touch(marker)``: code, not data."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    model = nn.Linear(2, 2)
    torch.save({"model": Payload(marker), "optimizer": None, "step": 0,
                "history": History().to_dict()}, path)
    with pytest.warns(UserWarning, match="no checksum"), \
            pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        load_checkpoint(path, model)              # a bare torch.save file, as older versions wrote
    assert not marker.exists()


@pytest.mark.parametrize("make", [
    lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20),
    lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
    lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 / (1 + s)),
], ids=["OneCycleLR", "StepLR", "LambdaLR"])
def test_optimizer_and_scheduler_states_load_back(tmp_path, make):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    sched = make(opt)
    for _ in range(5):
        opt.zero_grad()
        model(torch.randn(4, 3)).pow(2).mean().backward()
        opt.step()
        sched.step()
    hist = History(step=[5], items=[20], time=[0.5], train_loss=[1.0], val_loss=[None],
                   items_per_sec=[40.0], grad_norm=[0.1] * 5)
    save_checkpoint(tmp_path / "ck.pt", model, opt, 5, hist, sched)
    model2 = nn.Linear(3, 1)
    opt2 = torch.optim.AdamW(model2.parameters(), lr=0.1)
    sched2 = make(opt2)
    step, hist2 = load_checkpoint(tmp_path / "ck.pt", model2, opt2, sched2)
    assert step == 5 and hist2 == hist
    assert torch.equal(model2.weight, model.weight)
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"],
                       opt.state_dict()["state"][0]["exp_avg"])


class Classifier(nn.Module):
    """Mean of embeddings, dropout, a linear layer: random in training (dropout)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(12, 8)
        self.drop = nn.Dropout(0.5)
        self.out = nn.Linear(8, 3)

    def forward(self, x, lengths):
        mask = (x != 0).unsqueeze(-1).float()
        mean = (self.emb(x) * mask).sum(1) / lengths.unsqueeze(-1).float()
        return self.out(self.drop(mean))


def noisy_loss(model, batch):
    """Cross-entropy, scaled by Python's and NumPy's global random numbers as well."""
    x, lengths, y = batch
    scale = 1 + 0.1 * random.random() + 0.1 * float(np.random.rand())
    return F.cross_entropy(model(x, lengths), y) * scale, len(y)


EXAMPLES = [([1 + (i * 7 + j) % 11 for j in range(1 + i % 5)], i % 3) for i in range(30)]


def run(steps, seed=0, **kw):
    rnnbook.seed_everything(seed)
    model = Classifier()
    data = PaddedBatches(EXAMPLES, batch_size=4, seed=1)  # 8 batches per pass
    train(model, data, noisy_loss, steps=steps, eval_every=5, progress=False, log=None, **kw)
    return model


@pytest.mark.parametrize("split", [8, 10])  # 8: at a pass boundary, 10: inside a pass
def test_resume_is_bit_exact_with_dropout_and_shuffled_batches(tmp_path, split):
    # the resumed run: a fresh model, optimizer and data, seeded otherwise
    same_weights(*kill_and_resume(run, 20, split, tmp_path, resume_seed=123))
