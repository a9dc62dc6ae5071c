"""Every chapter notebook is listed in the table of contents, clean, starts by installing the
package and applying the book's style, and leaves classes and long functions to the package."""

import ast
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
def test_first_code_cell_installs_rnnbook(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code").source
    installs = 'find_spec("rnnbook") is None' in first and "pip" in first
    assert installs and "import rnnbook" in first, \
        f"{path.name}: the first code cell must install rnnbook where missing, then import it"


def test_every_chapter_has_the_same_install_cell():
    """One install cell for the whole book (from a clone when in one, else GitHub; a clear
    message when that fails), copied into every chapter."""
    firsts = {path.name: next(c for c in nbformat.read(path, as_version=4).cells
                              if c.cell_type == "code").source for path in NOTEBOOKS}
    assert len(set(firsts.values())) == 1, sorted(firsts)
    first = next(iter(firsts.values()))
    assert "raise SystemExit" in first and '(clone / "rnnbook" / "__init__.py")' in first


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
