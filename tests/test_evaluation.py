"""outputs: one loop over batches (eval mode, no graph, device moves, joined in batch order);
evaluate: the mean loss per item; the loss protocols."""

from typing import NamedTuple

import pytest
import torch
from torch import nn

import rnnbook
from rnnbook.evaluation import LossFn, StatefulLoss, evaluate, outputs
from rnnbook.tasks.lm import LanguageModelLoss

BATCHES = [torch.arange(6).view(3, 2).float(), torch.arange(6, 10).view(2, 2).float()]


class Pair(NamedTuple):
    first: torch.Tensor
    second: torch.Tensor


def test_tensors_are_concatenated_in_batch_order():
    model = nn.Linear(2, 1)
    got = outputs(model, BATCHES, lambda m, x: x * 10)
    assert torch.equal(got, torch.arange(10).view(5, 2).float() * 10)
    scalars = outputs(model, BATCHES, lambda m, x: x.sum())  # 0-d results are stacked
    assert torch.equal(scalars, torch.tensor([15.0, 30.0]))


def test_tuples_dicts_and_lists_are_joined_position_by_position():
    model = nn.Linear(2, 1)
    got = outputs(model, BATCHES, lambda m, x: (x[:, 0], x[:, 1]))
    assert isinstance(got, tuple) and len(got) == 2
    assert torch.equal(got[0], torch.tensor([0.0, 2, 4, 6, 8]))
    assert torch.equal(got[1], torch.tensor([1.0, 3, 5, 7, 9]))
    named = outputs(model, BATCHES, lambda m, x: Pair(x[:, 0], x[:, 1]))
    assert isinstance(named, Pair) and torch.equal(named.second, got[1])
    d = outputs(model, BATCHES, lambda m, x: {"a": x[:, 0], "n": [len(x)]})
    assert list(d) == ["a", "n"] and torch.equal(d["a"], got[0]) and d["n"] == [3, 2]
    rows = outputs(model, BATCHES, lambda m, x: [r.tolist() for r in x])
    assert rows == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0]]


def test_a_result_that_changes_shape_is_a_clear_error():
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match=r"batch 0 gave a dict of keys \['a'\], batch 1"):
        outputs(model, BATCHES, lambda m, x: {"a": x} if len(x) == 3 else {"b": x})
    with pytest.raises(TypeError, match="a step returns a tensor"):
        outputs(model, BATCHES, lambda m, x: 3)


class Spy(nn.Module):
    """Records the device of each batch, the grad mode and its training flag at each call."""

    def __init__(self, device="cpu"):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1, device=device))
        self.drop = nn.Dropout(0.5)
        self.seen = []

    def forward(self, x):
        self.seen.append((x.device, torch.is_grad_enabled(), self.training, self.drop.training))
        return x * self.w


def test_eval_mode_and_no_grad_inside_and_the_modes_restored_after():
    model = Spy()
    model.train()
    model.drop.eval()              # a mixed mode is given back as found
    got = outputs(model, BATCHES, lambda m, x: m(x))
    assert not got.requires_grad and got.device.type == "cpu"
    assert model.seen == [(torch.device("cpu"), False, False, False)] * 2
    assert model.training and not model.drop.training
    with pytest.raises(RuntimeError, match="boom"):   # restored after an exception too
        outputs(model, BATCHES, lambda m, x: (_ for _ in ()).throw(RuntimeError("boom")))
    assert model.training and not model.drop.training


def test_batches_go_to_the_model_device_and_results_come_back_to_the_cpu(monkeypatch):
    import rnnbook.evaluation as ev

    moved, cpu = [], []
    monkeypatch.setattr(ev, "model_device", lambda m: torch.device("meta"))
    monkeypatch.setattr(ev, "to_device", lambda batch, dev: moved.append(dev) or batch)
    real = ev._cpu
    monkeypatch.setattr(ev, "_cpu", lambda value: cpu.append(value) or real(value))
    out = outputs(nn.Linear(2, 1), BATCHES, lambda m, x: x + 1)
    assert moved == [torch.device("meta")] * 2          # asked for the model's device
    assert len(cpu) == 2 and torch.equal(out, torch.cat(BATCHES) + 1)
    t = torch.ones(2, requires_grad=True) * 2            # _cpu detaches, nested too
    got = real({"a": (t, [t]), "b": "text"})
    assert not got["a"][0].requires_grad and not got["a"][1][0].requires_grad
    assert got["b"] == "text"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_outputs_on_the_gpu():
    model = Spy("cuda")
    got = outputs(model, BATCHES, lambda m, x: m(x))
    assert model.seen[0][0].type == "cuda" and got.device.type == "cpu"
    assert torch.equal(got, torch.cat(BATCHES))


def test_max_batches_stops_early_and_empty_data_is_a_clear_error():
    model = nn.Linear(2, 1)
    calls = []
    got = outputs(model, BATCHES * 3, lambda m, x: calls.append(1) or x, max_batches=2)
    assert len(calls) == 2 and torch.equal(got, torch.cat(BATCHES))
    with pytest.raises(ValueError, match="data is empty"):
        outputs(model, [], lambda m, x: x)
    with pytest.raises(ValueError, match="max_batches must be a positive"):
        outputs(model, BATCHES, lambda m, x: x, max_batches=0)
    with pytest.raises(ValueError, match="validation data is empty"):
        evaluate(model, [], lambda m, x: (x.sum(), len(x)))


def test_evaluate_is_the_item_weighted_mean_of_the_batch_losses():
    model = nn.Linear(2, 1)
    losses = iter([(torch.tensor(1.0), 3), (torch.tensor(4.0), 1)])
    assert evaluate(model, [0, 1], lambda m, b: next(losses)) == pytest.approx(7 / 4)
    seen = []
    assert evaluate(model, [0, 1, 2], lambda m, b: seen.append(b) or (torch.tensor(2.0), 1),
                    max_batches=2) == 2.0 and seen == [0, 1]


def test_the_loss_protocols():
    def plain(model, batch):
        return torch.tensor(0.0), 1

    assert isinstance(plain, LossFn) and not isinstance(plain, StatefulLoss)
    assert isinstance(LanguageModelLoss(), StatefulLoss)
    assert isinstance(rnnbook.tasks.rank.SessionLoss(), StatefulLoss)
    lm = LanguageModelLoss()
    model = rnnbook.models.BigramLM(5)
    data = rnnbook.StreamBatches(torch.arange(60) % 5, 2, 5)
    assert evaluate(model, data, lm) == evaluate(model, data, lm)  # reset before each pass


def test_the_package_exports_them():
    assert rnnbook.outputs is outputs and rnnbook.evaluate is evaluate
    assert rnnbook.train.__module__ == "rnnbook.train"
    from rnnbook.train import evaluate as from_train
    assert from_train is evaluate
