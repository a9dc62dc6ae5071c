"""Every chapter notebook is listed in the table of contents, clean, starts by installing the
package and applying the book's style, and leaves classes and long functions to the package."""

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {toc["root"]}
    stack = list(toc.get("chapters", [])) + list(toc.get("parts", []))
    while stack:
        entry = stack.pop()
        if "file" in entry:
            files.add(entry["file"])
        stack.extend(entry.get("chapters", []) + entry.get("sections", []))
    return {str(Path(f).with_suffix("")) for f in files}


def test_there_are_notebooks():
    assert NOTEBOOKS, "no chapter notebooks found under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_listed_in_toc(path):
    assert str(path.relative_to(ROOT).with_suffix("")) in toc_files(), \
        f"{path.name} is not listed in _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_stripped(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {i} has stored outputs; strip them"
            assert cell.execution_count is None, f"{path.name}: cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_imports_rnnbook_and_installs_nothing(path):
    """The book's one install cell is written by scripts/colab_edition.py (INSTALL_CELL) into
    each Colab edition; a chapter's own first cell only imports the package."""
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code").source
    assert "import rnnbook" in first, f"{path.name}: the first code cell must import rnnbook"
    assert not re.search(r"^\s*[%!]pip\b|\bsubprocess\b|\bfind_spec\b", first, re.M), \
        f"{path.name}: the first code cell installs something; the Colab edition does that"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_applies_the_book_style(path):
    """Importing rnnbook leaves matplotlib alone; each chapter opts in to the style."""
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code").source
    assert "rnnbook.plot.use_style()" in first, \
        f"{path.name}: the first code cell must call rnnbook.plot.use_style() after the imports"


MAX_DEF_LINES = 10


def code_cells(path):
    """``(index, syntax tree)`` of every code cell; lines of IPython magics (``%``, ``!``) are
    blanked first, so that the rest parses."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            lines = ["" if line.lstrip().startswith(("%", "!")) else line
                     for line in cell.source.splitlines()]
            yield i, ast.parse("\n".join(lines), filename=f"{path.name}, cell {i}")


def body_lines(node) -> int:
    """Lines from the first statement of a function's body (its docstring included) to the
    end of the last one."""
    return node.body[-1].end_lineno - node.body[0].lineno + 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_classes_or_long_functions_in_notebooks(path):
    """One source of truth: models, loops and helpers live in the package, not in cells.

    A chapter may define a short function (at most ten lines of body) for its own use, an
    exercise's solution for instance; anything longer, and any class, belongs in the package,
    where it is tested and a chapter shows it with ``rnnbook.show``.
    """
    for i, tree in code_cells(path):
        for node in ast.walk(tree):
            assert not isinstance(node, ast.ClassDef), \
                f"{path.name}: cell {i} defines class {node.name}; move it into the package"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = body_lines(node)
                assert n <= MAX_DEF_LINES, (
                    f"{path.name}: cell {i} defines {node.name}() with {n} lines of body "
                    f"(at most {MAX_DEF_LINES}); move it into the rnnbook package")


def test_the_function_rules_see_what_they_should(tmp_path):
    cells = ["%matplotlib inline\nclass A:\n    pass",
             "def long():\n" + "    x = 1\n" * (MAX_DEF_LINES + 1),
             "def short():\n" + "    x = 1\n" * MAX_DEF_LINES + "!ls"]
    path = tmp_path / "fake.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]),
                   path)
    trees = dict(code_cells(path))
    assert any(isinstance(n, ast.ClassDef) for n in ast.walk(trees[0]))
    lengths = {n.name: body_lines(n) for t in trees.values() for n in ast.walk(t)
               if isinstance(n, ast.FunctionDef)}
    assert lengths == {"long": MAX_DEF_LINES + 1, "short": MAX_DEF_LINES}


MAX_LINE = 88


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    """The page's code cells cut lines at about 85-88 characters: no code line is longer."""
    nb = nbformat.read(path, as_version=4)
    long = [f"cell {i}, line {n} ({len(line)} characters): {line.strip()[:60]}"
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for n, line in enumerate(cell.source.splitlines(), 1) if len(line) > MAX_LINE]
    assert not long, (f"{path.name}: code lines over {MAX_LINE} characters:\n"
                      + "\n".join(long))


# Chapters written while the captions were added; remove a name once its figure cells carry
# captions (the rules below then hold for it as for every other chapter).
CAPTIONS_PENDING: set[str] = set()
NOT_DRAWING = {"use_style"}  # rnnbook.plot functions that draw nothing


def drawing_names(trees) -> set[str]:
    """Names a chapter imports from ``rnnbook.plot`` or ``rnnbook.diagrams`` (they draw)."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("rnnbook.plot",
                                                                    "rnnbook.diagrams"):
                names |= {a.asname or a.name for a in node.names} - NOT_DRAWING
    return names


def draws(tree, names: set[str]) -> bool:
    """Whether a cell makes a figure: it calls ``plt.show``, ``plt.subplots`` or
    ``plt.figure``, a function of ``rnnbook.plot`` or ``rnnbook.diagrams`` (as an attribute,
    ``diagrams.unrolled(...)``, or by an imported name), other than ``use_style``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in names:
            return True
        if isinstance(f, ast.Attribute) and isinstance(f.value, (ast.Name, ast.Attribute)):
            owner = f.value.id if isinstance(f.value, ast.Name) else f.value.attr
            if owner == "plt" and f.attr in ("show", "subplots", "figure"):
                return True
            if owner in ("plot", "diagrams") and f.attr not in NOT_DRAWING:
                return True
    return False


RETURN_NOTHING = {"show", "print", "glue"}  # calls whose value (None) is not displayed


def call_name(node: ast.Call) -> str:
    """``f`` for ``f(...)`` and for ``a.b.f(...)``."""
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")


def other_outputs(tree, source: str) -> list[str]:
    """What besides the figure a cell would display (myst-nb puts every rich output of a
    captioned cell in a figure of its own, under the same name)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f, name = node.func, call_name(node)
            if name in ("show", "table", "display") and not (
                    isinstance(f, ast.Attribute) and getattr(f.value, "id", "") == "plt"):
                found.append(f"a call of {name}()")
    last = tree.body[-1] if tree.body else None
    quiet = (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
             and call_name(last.value) in RETURN_NOTHING)
    if isinstance(last, ast.Expr) and not quiet and not source.rstrip().endswith(";"):
        found.append("a last line whose value is displayed (end it with ';')")
    return found


def figure_cells(path):
    """``(index, cell, syntax tree, draws)`` of every code cell of a chapter."""
    nb = nbformat.read(path, as_version=4)
    trees = dict(code_cells(path))
    names = drawing_names(trees.values())
    return [(i, nb.cells[i], tree, draws(tree, names)) for i, tree in trees.items()]


CAPTIONED = [p for p in NOTEBOOKS if p.stem not in CAPTIONS_PENDING]


@pytest.mark.parametrize("path", CAPTIONED, ids=lambda p: p.name)
def test_figures_are_numbered_and_captioned(path):
    """Every cell that draws carries ``mystnb.figure`` metadata, a caption and a name
    ``fig-<chapter>-<short>``, so that the page shows it as a numbered figure with its
    caption; only such cells carry it, and they display nothing else."""
    problems = []
    for i, cell, tree, drawn in figure_cells(path):
        figure = cell.metadata.get("mystnb", {}).get("figure")
        if not drawn:
            if figure:
                problems.append(f"cell {i} draws nothing but has a figure caption")
            continue
        if not figure or not str(figure.get("caption", "")).strip():
            problems.append(f"cell {i} draws a figure without a caption "
                            "(cell metadata mystnb.figure.caption)")
            continue
        name = str(figure.get("name", ""))
        if not re.fullmatch(rf"fig-{re.escape(path.stem)}-[a-z0-9-]+", name):
            problems.append(f"cell {i}: figure name {name!r} is not fig-{path.stem}-<short>")
        problems += [f"cell {i} shows {what} besides its figure"
                     for what in other_outputs(tree, cell.source)]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_figure_names_are_unique():
    names = [c.metadata["mystnb"]["figure"].get("name") for p in NOTEBOOKS
             for _, c, _, _ in figure_cells(p)
             if c.metadata.get("mystnb", {}).get("figure")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_the_figure_rules_see_what_they_should(tmp_path):
    cells = ["from rnnbook.plot import loss_curves\nx = 1",
             "loss_curves(h)\nplt.show()",
             "rnnbook.plot.heatmap(v)",
             "diagrams.unrolled(steps=4)\nplt.show()",
             "rnnbook.plot.use_style()\nprint(plt)",
             "fig, ax = plt.subplots()\nax.plot([1])\nrnnbook.table(['a'], [[1]])\nplt.show()",
             "plt.show()\nrnnbook.expect(True, 'a claim')",
             "plt.show()\nrnnbook.expect(True, 'a claim');",
             "x = 'plt.show()'"]
    path = tmp_path / "fake.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]),
                   path)
    found = figure_cells(path)
    assert [d for *_, d in found] == [False, True, True, True, False, True, True, True, False]
    assert [len(other_outputs(t, c.source)) for _, c, t, _ in found] == [0, 0, 1, 0, 0, 1, 1,
                                                                         0, 0]
    # assignments, loops and a bare plt.show() display nothing; a bare expression does
    assert other_outputs(ast.parse("for i in x:\n    f(i)"), "") == []
