"""The Colab edition: MyST roles rendered to plain Markdown with the build's values."""

import importlib.util
import json
from pathlib import Path

import pytest
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("colab_edition",
                                               ROOT / "scripts" / "colab_edition.py")
ce = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ce)

BIB = parse_file(str(ROOT / "book" / "references.bib")).entries
TITLES = {"bptt": "Backpropagation through time"}
SHA = "0123456789abcdef0123456789abcdef01234567"


def render(text, values=None, page="lstm"):
    cited = []
    out = ce.render_markdown(text, page, values or {}, BIB, TITLES, cited)
    return out, cited


def test_glue_text_is_formatted_as_the_book_formats_it():
    values = {"lstm::loss": "1.61349", "lstm::n": "1115394", "lstm::share": "0.0712",
              "setup::bigram": "2.4561", "lstm::name": "'GRU'"}
    out, _ = render("loss {glue:text}`loss:.3f`, {glue:text}`n:,` chars, "
                    "{glue:text}`share:.1%`, bigram {glue:text}`setup.ipynb::bigram:.2f`, "
                    "{glue:text}`name`", values)
    assert out == "loss 1.613, 1,115,394 chars, 7.1%, bigram 2.46, GRU"


def test_unknown_glue_key_is_an_error():
    with pytest.raises(ce.EditionError, match="no glued value 'missing'"):
        render("{glue:text}`missing:.2f`", {"lstm::other": "1"})


def test_citations_parenthetical_and_textual():
    out, cited = render("as {cite:t}`hochreiter1997long` showed {cite:p}`gers2000learning,"
                        "hochreiter1997long`")
    assert out == ("as Hochreiter and Schmidhuber (1997) showed "
                   "(Gers et al. 2000; Hochreiter and Schmidhuber 1997)")
    assert cited == ["hochreiter1997long", "gers2000learning", "hochreiter1997long"]
    with pytest.raises(ce.EditionError, match="not in book/references.bib"):
        render("{cite:p}`nobody2099`")


def test_references_are_plain_unicode_with_a_link():
    line = ce.reference(BIB["hochreiter1997long"])
    assert line.startswith("Sepp Hochreiter, Jürgen Schmidhuber (1997). *Long Short-Term Memory*.")
    assert "https://doi.org/10.1162/neco.1997.9.8.1735" in line
    assert "{" not in line and "\\" not in line


def test_code_is_left_alone():
    text = ("a role written as code: `{glue:text}` and ``{cite:p}`key` ``, {glue:text}`x`\n\n"
            "```python\nprint('{glue:text}`y`')\n```\n")
    out, cited = render(text, {"lstm::x": "3"})
    assert out == text.replace("{glue:text}`x`", "3") and cited == []
    assert ce.roles_left(out) == [] and ce.roles_left(text) == ["{glue:text}`"]


def test_inline_math_role_becomes_dollar_math():
    out, _ = render("a low-rank update {math}`W + BA` of rank {math}`r`")
    assert out == "a low-rank update $W + BA$ of rank $r$"


def test_doc_links_and_directives():
    out, _ = render("see {doc}`bptt` and {doc}`that chapter <bptt>`.\n\n```{warning} Title\n"
                    "Line one.\n\nLine two.\n```\n")
    assert out == ("see *Backpropagation through time* and that chapter.\n\n> **Warning.**\n>\n"
                   "> Line one.\n>\n> Line two.\n")
    with pytest.raises(ce.EditionError, match="cannot render the role"):
        render("{eq}`my-equation`")


class _AnyValue(dict):
    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return "1"


@pytest.mark.parametrize("path", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_chapter_renders_without_a_role_left(path):
    """Every role and directive the chapters use is one the edition knows how to render."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    titles = {p.stem: p.stem for p in (ROOT / "book").glob("*.ipynb")}
    out = ce.edition(nb, path.stem, _AnyValue(), BIB, titles, "2026-01-01", SHA)
    code_in = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    code_out = ["".join(c["source"]) for c in out["cells"] if c["cell_type"] == "code"]
    assert code_out[1:] == code_in                               # code is untouched ...
    assert code_out[0] == "".join(ce.install_cell(SHA)["source"])  # ... after the install cell
    assert "2026-01-01" in "".join(out["cells"][0]["source"])
    assert SHA[:12] in "".join(out["cells"][0]["source"])
    for cell in out["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            assert ce.roles_left(text) == [], text[:200]
    if any("{cite:" in "".join(c["source"]) for c in nb["cells"]):
        assert "".join(out["cells"][-1]["source"]).startswith("## References")


def test_colab_button_points_at_the_edition(tmp_path):
    page = tmp_path / "gru.html"
    page.write_text('<a href="https://colab.research.google.com/github/rnnbook/rnnbook/blob/main/'
                    'book/gru.ipynb">Colab</a>', encoding="utf-8")
    assert ce.point_colab_button(page, "gru")
    assert ("https://colab.research.google.com/github/rnnbook/rnnbook/blob/gh-pages/colab/book/"
            "gru.ipynb") in page.read_text(encoding="utf-8")
    assert not ce.point_colab_button(page, "lstm")


def test_edition_installs_the_commit_it_was_built_from():
    """A page built today must not install whatever main holds when it is opened."""
    nb = json.loads((ROOT / "book" / "lstm.ipynb").read_text(encoding="utf-8"))
    out = ce.edition(nb, "lstm", _AnyValue(), BIB, {"lstm": "LSTM"}, "2026-01-01", SHA)
    code = ["".join(c["source"]) for c in out["cells"] if c["cell_type"] == "code"]
    first = code[0]
    assert f'REPO = "git+https://github.com/rnnbook/rnnbook@{SHA}"' in first
    assert 'f"rnnbook[book] @ {REPO}"' in first
    assert "rnnbook/rnnbook\"" not in first                      # nothing left unpinned
    assert max(map(len, first.splitlines())) <= 88                # no line scrolls on the page
    compile(first, "install cell", "exec")                        # plain Python, no magics
    chapter = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[1:] == ["".join(s) for s in chapter]              # then the chapter's own code


def test_edition_refuses_a_chapter_that_installs_itself():
    for source in ["%pip install rnnbook\nimport rnnbook\n",
                   "import subprocess\nsubprocess.run(['pip', 'install', 'x'])\n"]:
        nb = {"cells": [{"cell_type": "code", "source": [source], "metadata": {},
                         "outputs": [], "execution_count": None}], "metadata": {}}
        with pytest.raises(ce.EditionError, match="installs the package itself"):
            ce.edition(nb, "x", {}, BIB, {"x": "X"}, "2026-01-01", SHA)


def test_the_install_cell_is_pinned_once(monkeypatch):
    assert "".join(ce.install_cell(SHA)["source"]).count(SHA) == 1
    monkeypatch.setattr(ce, "INSTALL_CELL", "import rnnbook\n")
    with pytest.raises(ce.EditionError, match="cannot be pinned"):
        ce.install_cell(SHA)


def test_pin_install_in_the_page_html():
    html = ('<span class="n">REPO</span> <span class="o">=</span> <span class="s2">&quot;'
            'git+https://github.com/rnnbook/rnnbook&quot;</span> '
            '<a href="https://github.com/rnnbook/rnnbook">repo</a> '
            '<code>pip install "rnnbook @ git+https://github.com/rnnbook/rnnbook"</code>')
    pinned, n = ce.pin_install(html, SHA)
    assert n == 1
    assert f"&quot;git+https://github.com/rnnbook/rnnbook@{SHA}&quot;" in pinned
    assert 'href="https://github.com/rnnbook/rnnbook"' in pinned  # other links left alone
    assert 'install "rnnbook @ git+https://github.com/rnnbook/rnnbook"' in pinned  # the prose
    assert ce.pin_install(pinned, SHA) == (pinned, 0)             # pinning twice changes nothing


def test_build_commit_is_a_full_sha(monkeypatch):
    monkeypatch.setenv("RNNBOOK_COMMIT", SHA.upper())
    assert ce.build_commit() == SHA
    monkeypatch.setenv("RNNBOOK_COMMIT", "main")
    with pytest.raises(ce.EditionError, match="full 40-character"):
        ce.build_commit()
    monkeypatch.delenv("RNNBOOK_COMMIT")
    assert ce.SHA.fullmatch(ce.build_commit())                  # this clone's HEAD
