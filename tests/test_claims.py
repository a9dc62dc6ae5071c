"""When a false claim stops a run (a build, CI, a script) and when it only warns (a notebook)."""

import pytest
import torch

import rnnbook
import rnnbook.book as book
from rnnbook.config import building


@pytest.fixture
def reader(monkeypatch):
    """A reader's session: not a build, not CI, cpu budget."""
    monkeypatch.delenv("RNNBOOK_BUILD", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("RNNBOOK_BUDGET", "cpu")
    return monkeypatch


def test_building_is_set_by_make_or_ci(reader):
    assert not building()
    reader.setenv("RNNBOOK_BUILD", "1")
    assert building()
    reader.setenv("RNNBOOK_BUILD", "0")
    assert not building()
    reader.setenv("CI", "true")
    assert building()


def test_a_false_claim_stops_a_script_and_a_build(reader):
    with pytest.raises(book.ClaimFailed, match="the moon is cheese"):
        rnnbook.expect(False, "the moon is cheese")
    reader.setattr(book, "interactive", lambda: True)
    reader.setenv("RNNBOOK_BUILD", "1")
    with pytest.raises(book.ClaimFailed):
        rnnbook.expect(False, "the moon is cheese")


def test_a_false_claim_in_a_notebook_shows_a_warning_box_and_goes_on(reader):
    reader.setattr(book, "interactive", lambda: True)
    shown = []
    reader.setattr(book, "_warning_box", lambda claim, budget: shown.append((claim, budget)))
    with pytest.warns(UserWarning, match="not supported by this run"):
        assert rnnbook.expect(False, "the moon is cheese") is False
    assert shown == [("the moon is cheese", "cpu")]
    assert rnnbook.expect(True, "water is wet") is True


def test_the_warning_box_escapes_the_claim(monkeypatch):
    from IPython import display as ipd

    got = []
    monkeypatch.setattr(ipd, "display", lambda obj: got.append(obj))
    book._warning_box("a < b & c", "gpu")
    assert "a &lt; b &amp; c" in got[0].data and "gpu budget" in got[0].data


def _tiny_run(**kw):
    model = rnnbook.models.BigramLM(3)
    data = rnnbook.StreamBatches(torch.tensor([0, 1, 2] * 20), 2, 4)
    rnnbook.train(model, data, rnnbook.LanguageModelLoss(), steps=3, log=None, **kw)


def test_no_progress_bar_in_a_build(reader, capsys):
    _tiny_run()
    assert "step" in capsys.readouterr().err  # a reader sees the bar
    reader.setenv("RNNBOOK_BUILD", "1")
    _tiny_run()
    assert capsys.readouterr().err == ""  # a built page would show an empty widget
