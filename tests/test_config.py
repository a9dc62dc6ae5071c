import pytest
import torch

import rnnbook
from rnnbook.config import hparams


def test_budget_from_environment(monkeypatch):
    monkeypatch.setenv("RNNBOOK_BUDGET", "smoke")
    assert rnnbook.budget() == "smoke"
    monkeypatch.setenv("RNNBOOK_BUDGET", " CPU ")
    assert rnnbook.budget() == "cpu"


def test_budget_default_depends_on_cuda(monkeypatch):
    monkeypatch.delenv("RNNBOOK_BUDGET", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert rnnbook.budget() == "gpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert rnnbook.budget() == "cpu"


def test_unknown_budget_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("RNNBOOK_BUDGET", "huge")
    with pytest.raises(ValueError, match="smoke, cpu, gpu"):
        rnnbook.budget()


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert rnnbook.device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert rnnbook.device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert rnnbook.device().type == "cpu"


def test_seed_everything_repeats_random_draws():
    rnnbook.seed_everything(3)
    a = torch.rand(5), __import__("numpy").random.rand(), __import__("random").random()
    rnnbook.seed_everything(3)
    b = torch.rand(5), __import__("numpy").random.rand(), __import__("random").random()
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]


def test_hparams_picks_the_active_budget(capsys):
    hp = hparams(smoke=dict(h=1, lr=0.1), cpu=dict(h=2, lr=0.1), gpu=dict(h=3, lr=0.2),
                 budget_name="cpu")
    assert hp.h == 2 and hp["lr"] == 0.1 and hp.budget == "cpu" and dict(hp) == {"h": 2, "lr": 0.1}
    assert "cpu*" in capsys.readouterr().out
    with pytest.raises(AttributeError, match="defined: h, lr"):
        _ = hp.hidden


def test_hparams_must_define_the_same_names_everywhere():
    with pytest.raises(ValueError, match="lacks"):
        hparams(smoke=dict(h=1), cpu=dict(h=2, lr=1), gpu=dict(h=3, lr=1), verbose=False)


def test_hparams_gpu_none_means_as_cpu(capsys):
    hp = hparams(smoke=dict(h=1), cpu=dict(h=2), budget_name="gpu")
    assert hp.h == 2 and hp.budget == "gpu"
    out = capsys.readouterr().out
    assert "gpu* (= cpu)" in out and out.splitlines()[2].split() == ["h", "1", "2", "2"]
    hp = hparams(smoke=dict(h=1), cpu=dict(h=2), gpu=dict(h=3), budget_name="gpu")
    assert hp.h == 3 and "(= cpu)" not in capsys.readouterr().out
    with pytest.raises(ValueError, match="'smoke' lacks \\['lr'\\]"):
        hparams(smoke=dict(h=1), cpu=dict(h=2, lr=1), verbose=False)
