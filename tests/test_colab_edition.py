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
    out = ce.edition(nb, path.stem, _AnyValue(), BIB, titles, "2026-01-01")
    code_in = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"]
    code_out = [c["source"] for c in out["cells"] if c["cell_type"] == "code"]
    assert code_out == code_in                                   # code is untouched
    assert "2026-01-01" in "".join(out["cells"][0]["source"])
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
