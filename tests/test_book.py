import builtins
import math

import numpy as np
import pytest
import torch

import rnnbook
from rnnbook.book import ClaimFailed, expect, glue, source
from rnnbook.generate import generate, next_token_distribution
from rnnbook.metrics import accuracy, bits, perplexity


def test_expect_raises_at_cpu_and_warns_at_smoke(monkeypatch):
    monkeypatch.setenv("RNNBOOK_BUDGET", "cpu")
    assert expect(1 < 2, "one is less than two")
    with pytest.raises(ClaimFailed, match="two is less than one"):
        expect(2 < 1, "two is less than one")
    monkeypatch.setenv("RNNBOOK_BUDGET", "smoke")
    with pytest.warns(UserWarning, match="not checked at smoke"):
        assert expect(2 < 1, "two is less than one") is False


def test_glue_falls_back_to_printing_without_myst_nb(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst)
    assert glue("answer", 42) is None
    assert "answer = 42" in capsys.readouterr().out


def test_source_is_the_real_source():
    src = source(rnnbook.models.BigramLM)
    assert src.startswith("class BigramLM(nn.Module):") and "def forward" in src
    with pytest.raises(TypeError, match="cannot show"):
        source(42)


def test_metrics():
    assert perplexity(math.log(7)) == pytest.approx(7)
    assert bits(math.log(2) * 3) == pytest.approx(3)
    logits = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert accuracy(logits, torch.tensor([1, 1, -100]), ignore_index=-100) == 0.5
    with pytest.raises(ValueError, match="no positions"):
        accuracy(torch.tensor([1]), torch.tensor([-100]), ignore_index=-100)


def test_temperature_and_top_k():
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    cold = next_token_distribution(logits, 0.5)
    hot = next_token_distribution(logits, 2.0)
    assert cold[0] > torch.softmax(logits, -1)[0] > hot[0]
    top2 = next_token_distribution(logits, 1.0, top_k=2)
    assert top2[2:].sum() == 0 and top2.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        next_token_distribution(logits, 0.0)


def test_generate_follows_a_deterministic_model():
    model = rnnbook.models.BigramLM(3)
    with torch.no_grad():  # 0 -> 1 -> 2 -> 0 with near certainty
        model.logits.weight.copy_(torch.full((3, 3), -50.0))
        for a in range(3):
            model.logits.weight[a, (a + 1) % 3] = 50.0
    out = generate(model, [0], steps=6, generator=torch.Generator().manual_seed(0))
    assert out == [1, 2, 0, 1, 2, 0]
    assert generate(model, [0], steps=6, stop_id=2) == [1, 2]
    with pytest.raises(ValueError, match="prompt"):
        generate(model, [], steps=1)


def test_table_text():
    from rnnbook.book import table_text
    text = table_text(["model", "loss | nats"], [["RNN", 1.5], ["a|b", "2.000"]], align="lr")
    assert text.splitlines() == ["| model | loss \\| nats |", "|---|---:|", "| RNN | 1.5 |",
                                 "| a\\|b | 2.000 |"]
    assert table_text(["x"], []) == "| x |\n|---|"
    assert table_text(["x", "y"], [[1, 2]], align="cr").splitlines()[1] == "|:---:|---:|"
    with pytest.raises(ValueError, match="row 1 has 1 cells for 2 columns"):
        table_text(["x", "y"], [[1, 2], [3]])
    with pytest.raises(ValueError, match="align"):
        table_text(["x", "y"], [[1, 2]], align="l")
    with pytest.raises(ValueError, match="at least one column"):
        table_text([], [])


def test_table_displays_or_returns_markdown(monkeypatch, capsys):
    import IPython
    import IPython.display
    from IPython.display import Markdown

    from rnnbook.book import table
    md = table(["a", "b"], [(1, 2)], caption="Two numbers:", display=False)
    assert isinstance(md, Markdown) and md.data == "Two numbers:\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    assert table(["a"], [[1]]) is None  # outside IPython: printed
    assert "| a |\n|---|\n| 1 |" in capsys.readouterr().out
    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", shown.append)
    assert table(["a"], [[1]]) is None
    assert len(shown) == 1 and isinstance(shown[0], Markdown) and shown[0].data.endswith("| 1 |")


# Helpers that the chapters call instead of defining them in cells


def _names():
    from rnnbook.corpora import names_corpus
    base = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn",
            "abigail", "emily", "ella", "elizabeth", "camila", "luna", "sofia", "avery", "mila"]
    return names_corpus(base * 6, seed=0)


def test_ngram_table_and_results_table():
    from rnnbook.book import table_text
    from rnnbook.tasks import lm
    corpus = _names()
    table, best = lm.ngram_table(corpus, (1, 2, 3))
    assert list(table) == [1, 2, 3] and best == min(table, key=lambda n: table[n]["kn_val"])
    assert table[3]["kn_test"] < table[1]["kn_test"]  # context helps on names
    assert all(r["fit_s"] >= 0 and r["add_k"] == 0.01 for r in table.values())
    result = dict(model=1.5, mix=1.4, lam=0.25)
    columns, rows = lm.results_table("names", table, best, result, 1234, 5.0, perplexity=False)
    assert len(columns) == 4 and len(rows) == 2 * 3 + 2
    assert rows[0][0] == "add-k (k = 0.01), 1-gram"
    assert rows[-2] == ["NPLM", "1.500", "1,234", "5 s"]
    assert f"{best}-gram (best on validation)" in table_text(columns, rows)
    assert lm.results_table("w", table, best, result, 1, 1.0)[0][1] == "test perplexity"


def test_compare_with_ngram():
    from rnnbook.models import BigramLM
    from rnnbook.ngram import KneserNeyLM
    from rnnbook.tasks import lm
    corpus = _names()
    V = len(corpus.vocab)
    kn = KneserNeyLM(2, V).fit(corpus.train)
    torch.manual_seed(0)
    r = lm.compare_with_ngram(BigramLM(V), kn, corpus)
    assert 0 <= r["lam"] <= 1 and len(r["lp_test"]) == len(r["kn_test"]) == len(corpus.test) - 1
    assert r["kn"] == pytest.approx(kn.cross_entropy(corpus.test))
    assert r["mix"] == pytest.approx(
        lm.cross_entropy(lm.mixture_log_probs(r["lp_test"], r["kn_test"], r["lam"])))


def test_loss_by_position_restores_the_mode_and_skips_short_batches():
    from rnnbook.models import CharLM
    from rnnbook.tasks import lm
    torch.manual_seed(0)
    model = CharLM(7, 4, 8, cell="lstm", dropout=0.5)
    ids = torch.randint(0, 7, (2 * 5 * 6 + 4,))
    batches = rnnbook.StreamBatches(ids, 2, 6)
    model.train()
    pos = lm.loss_by_position(model, batches)
    assert model.training and pos.shape == (6,)
    model.eval()
    with torch.no_grad():
        rows = [torch.nn.functional.cross_entropy(model(x)[0].transpose(1, 2), y,
                                                  reduction="none").mean(0)
                for x, y in batches if x.size(1) == 6]
    torch.testing.assert_close(pos, torch.stack(rows).mean(0))
    assert lm.loss_by_position(model, batches, max_batches=1).shape == (6,)


def test_known_word_share():
    from rnnbook.tasks import lm
    known = set(rnnbook.word_tokenize("to be or not to be, that is the question"))
    share, n = lm.known_word_share("To bee, or nott tu be!", known)
    assert (share, n) == (0.5, 6)  # to, bee, or, nott, tu, be: "to", "or" and "be" are known
    assert lm.known_word_share("To bee, or nott tu be!", known, min_len=3) == (0.0, 2)
    assert lm.known_word_share("To bee, or nott tu be!", known, max_len=2) == (0.75, 4)
    with pytest.raises(ValueError, match="no word"):
        lm.known_word_share("a, b; !", known, min_len=2)


def test_glue_hands_myst_nb_python_numbers(monkeypatch):
    """NumPy 2 writes np.float64(0.5) as its repr, which myst-nb's ``:.1f`` cannot format."""
    import myst_nb

    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: seen.update({name: value}))
    glue("a", np.float64(13.8))
    glue("b", np.int64(3))
    glue("c", torch.tensor(2.5))
    glue("d", "text")
    assert seen == {"a": 13.8, "b": 3, "c": 2.5, "d": "text"}
    assert [type(seen[k]) for k in "abcd"] == [float, int, float, str]
    assert f"{seen['a']:.1f}" == "13.8"


def test_results_grid_keeps_order_reads_back_and_tables(capsys):
    from rnnbook.book import Results

    r = Results("model")
    r["lstm", "acc"] = np.float64(91.25)
    r["gru", "acc"] = 90.0
    r["lstm", "time"] = torch.tensor(3.0)
    r["lstm", "acc"] = 92.0                       # overwrite keeps the place
    assert r.rows == ["lstm", "gru"] and r.cols == ["acc", "time"]
    assert r["lstm", "acc"] == 92.0 and type(r["lstm", "time"]) is float
    assert ("gru", "time") not in r and len(r) == 3
    assert r.frame() == {"lstm": {"acc": 92.0, "time": 3.0}, "gru": {"acc": 90.0}}
    with pytest.raises(KeyError, match="no result for model 'gru', 'time'"):
        r["gru", "time"]
    with pytest.raises(KeyError, match=r"r\[row, col\]"):
        r["gru"]
    assert r.table() is None
    out = capsys.readouterr().out
    assert "| model | acc | time |\n|---|---:|---:|\n| lstm | 92.0 | 3.0 |\n| gru | 90.0 |  |" \
        in out
    r.table(fmt={"acc": "{:.2f}"}, cols=["acc"], rows=["gru"])
    assert "| model | acc |\n|---|---:|\n| gru | 90.00 |" in capsys.readouterr().out
    r.table(fmt=lambda v: f"{v:.0f}%", cols=["acc"])
    assert "| lstm | 92% |" in capsys.readouterr().out
    with pytest.raises(KeyError, match="no column 'f1'"):
        r.table(cols=["f1"])


def test_results_glue_names_each_cell(monkeypatch):
    import rnnbook.book as book
    from rnnbook.book import Results

    seen = {}
    monkeypatch.setattr(book, "glue", lambda name, value: seen.update({name: value}))
    r = Results()
    r["lstm", "acc"] = 92.0
    r["gru", "f1"] = 0.5
    r.glue("rt")
    assert seen == {"rt_lstm_acc": 92.0, "rt_gru_f1": 0.5}
    r.glue("x", fmt="{:.1f}")
    assert seen["x_gru_f1"] == "0.5"
    r["bi-lstm", "acc"] = 1.0
    seen.clear()
    with pytest.raises(ValueError, match="'rt_bi-lstm_acc'.*rename the row 'bi-lstm'"):
        r.glue("rt")
    assert seen == {}                         # nothing glued when a name is bad
    assert rnnbook.Results is Results
