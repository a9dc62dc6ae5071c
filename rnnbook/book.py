"""Helpers that keep the book honest: show real source, glue computed numbers, check claims,
and lay computed results out as tables."""

from __future__ import annotations

import html
import inspect
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import torch

from .config import budget, building, interactive


class ClaimFailed(AssertionError):
    """A claim the prose makes was not supported by the numbers this run computed."""


def source(obj: Any) -> str:
    """The source code of a class, function or module, exactly as it is in the package."""
    try:
        return inspect.getsource(obj)
    except (TypeError, OSError) as err:
        raise TypeError(f"cannot show the source of {obj!r}: {err}") from None


def _where(obj: Any) -> str:
    try:
        path = Path(inspect.getsourcefile(obj) or "")
        line = inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        return ""
    parts = path.parts
    rel = "/".join(parts[parts.index("rnnbook"):]) if "rnnbook" in parts else path.name
    return f"{rel}, line {line}" if line else rel


def show(obj: Any) -> Any:
    """Render the real source of ``obj`` in the page (a highlighted code block).

    Chapters call this instead of pasting code, so the book can never drift from the package.
    Outside IPython the source is printed.
    """
    code = source(obj)
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    where = _where(obj)
    text = (f"*Source: `{where}`*\n\n" if where else "") + f"{fence}python\n{code}{fence}\n"
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - plain Python
        print(code)
        return None
    if get_ipython() is None:
        print(code)
        return None
    display(Markdown(text))
    return None


def _plain(value: Any) -> Any:
    """A NumPy scalar, or a 0-d NumPy array or tensor, as a Python number; else ``value``."""
    if isinstance(value, np.generic) or (isinstance(value, (np.ndarray, torch.Tensor))
                                         and value.ndim == 0):
        return value.item()
    return value


def glue(name: str, value: Any, display: bool = False) -> None:
    """Make ``value`` available to the prose as ``{glue:text}`name```.

    Uses myst-nb's glue when it is installed (the book build); elsewhere (Colab) the value is
    printed, so a reader still sees every number the text quotes. Returns ``None``, so a glue
    on the last line of a cell adds no stray output to the page. A NumPy or PyTorch scalar is
    glued as the Python number it holds: myst-nb formats the value's text, and NumPy 2 writes
    ``np.float64(0.5)``, which a format such as ``:.1f`` cannot read. With the environment
    variable ``RNNBOOK_GLUE_LOG`` set to a path, every glued name and value is appended to that
    file as a JSON line (``scripts/glue_diff.py`` compares two such logs).
    """
    value = _plain(value)
    log = os.environ.get("RNNBOOK_GLUE_LOG")
    if log:  # one JSON line per glue: lets a change be checked for numbers that moved
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"name": name, "value": repr(value)}) + "\n")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        print(f"{name} = {value}")
        return None
    myst_glue(name, value, display=display)
    return None


def expect(condition: Any, claim: str) -> bool:
    """Check a claim the prose makes against this run's numbers.

    At the ``smoke`` budget, where models are too small to show anything, a false claim only
    warns. At ``cpu`` and ``gpu`` it raises :class:`ClaimFailed` in a build of the book, in CI
    and in a plain script, so nothing untrue is published; in an interactive notebook (Jupyter,
    Colab) it shows a warning box and the chapter goes on, so a reader's session never dies on
    a claim that this run (another seed, another machine) did not support. Returns whether the
    claim held.
    """
    held = bool(condition)
    current = budget()
    if held:
        print(f"[claim holds] {claim}")
    elif current == "smoke":
        warnings.warn(f"[claim not checked at smoke budget] {claim}", stacklevel=2)
        print(f"[claim does not hold at smoke budget; enforced at cpu/gpu] {claim}")
    elif interactive() and not building():
        warnings.warn(f"[claim not supported by this run] {claim}", stacklevel=2)
        _warning_box(claim, current)
    else:
        raise ClaimFailed(f"the text claims '{claim}', but this run ({current} budget) "
                          "does not support it; fix the experiment or the text.")
    return held


def _warning_box(claim: str, current: str) -> None:
    from IPython.display import HTML, display

    display(HTML(
        '<div style="border-left: 6px solid #e0a000; background: #fff6dd; padding: 0.6em 1em;">'
        f"<b>This run does not support a claim of the text</b> ({current} budget): "
        f"<i>{html.escape(claim)}</i>. Numbers move with the seed, the machine and the budget; "
        "the published book was built at the cpu budget, where the claim held.</div>"))


_ALIGN = {"l": "---", "r": "---:", "c": ":---:"}


def table_text(columns: Sequence[Any], rows: Iterable[Sequence[Any]],
               align: Optional[str] = None) -> str:
    """The Markdown source of a table: a header of ``columns``, then one line per row.

    Cells are written with ``str``; a ``|`` inside a cell is escaped. ``align`` has one letter
    per column, ``l``, ``r`` or ``c`` (default: all left).
    """
    columns = [str(c) for c in columns]
    if not columns:
        raise ValueError("a table needs at least one column")
    align = align or "l" * len(columns)
    if len(align) != len(columns) or set(align) - set(_ALIGN):
        raise ValueError(f"align needs one of l, r, c per column ({len(columns)}), got {align!r}")

    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(str(c).replace("|", r"\|") for c in cells) + " |"

    lines = [line(columns), "|" + "|".join(_ALIGN[a] for a in align) + "|"]
    for i, row in enumerate(rows):
        row = list(row)
        if len(row) != len(columns):
            raise ValueError(f"row {i} has {len(row)} cells for {len(columns)} columns: {row!r}")
        lines.append(line(row))
    return "\n".join(lines)


def table(columns: Sequence[Any], rows: Iterable[Sequence[Any]], align: Optional[str] = None,
          caption: Optional[str] = None, display: bool = True) -> Any:
    """A Markdown table of computed results, the way a chapter shows one.

    ``columns`` are the headers, ``rows`` the lines (one value per column, written with
    ``str``: format numbers before), ``align`` one letter per column (``l``, ``r``, ``c``) and
    ``caption`` a line of text above the table. With ``display`` the table is rendered in the
    page (printed outside IPython) and the call returns ``None``, so it adds no second copy as
    a cell's last line; with ``display=False`` it returns an ``IPython.display.Markdown``
    (to glue, for instance).
    """
    text = table_text(columns, rows, align)
    if caption:
        text = f"{caption}\n\n{text}"
    try:
        from IPython import get_ipython
        from IPython.display import Markdown
        from IPython.display import display as show_it
    except ImportError:  # pragma: no cover - plain Python
        if display:
            print(text)
            return None
        return text
    if not display:
        return Markdown(text)
    if get_ipython() is None:
        print(text)
    else:
        show_it(Markdown(text))
    return None


_NAME = re.compile(r"[A-Za-z0-9_]+")


class Results:
    """A grid of computed results, one row per ``name`` (model, setting), one column per
    measure: ``r[row, col] = value`` fills a cell and ``r[row, col]`` reads it back.

    Rows and columns keep the order they first appeared in (``r.rows``, ``r.cols``).
    :meth:`table` shows the grid as a Markdown table, :meth:`glue` hands every cell to the
    prose as ``{prefix}_{row}_{col}``, :meth:`frame` returns it as a dict of dicts.
    """

    def __init__(self, name: str = "model"):
        self.name = name
        self._cells: dict[tuple[Any, Any], Any] = {}
        self._rows: dict[Any, None] = {}
        self._cols: dict[Any, None] = {}

    @staticmethod
    def _key(key: Any) -> tuple[Any, Any]:
        if not (isinstance(key, tuple) and len(key) == 2):
            raise KeyError(f"a cell of Results is r[row, col], not r[{key!r}]")
        return key

    def __setitem__(self, key: tuple[Any, Any], value: Any) -> None:
        row, col = self._key(key)
        self._rows.setdefault(row)
        self._cols.setdefault(col)
        self._cells[row, col] = _plain(value)

    def __getitem__(self, key: tuple[Any, Any]) -> Any:
        row, col = self._key(key)
        try:
            return self._cells[row, col]
        except KeyError:
            raise KeyError(f"no result for {self.name} {row!r}, {col!r}; rows: {self.rows}, "
                           f"columns: {self.cols}") from None

    def __contains__(self, key: Any) -> bool:
        return key in self._cells

    def __len__(self) -> int:
        return len(self._cells)

    @property
    def rows(self) -> list[Any]:
        return list(self._rows)

    @property
    def cols(self) -> list[Any]:
        return list(self._cols)

    def frame(self) -> dict[Any, dict[Any, Any]]:
        """``{row: {col: value}}`` of the filled cells, in order."""
        return {r: {c: self._cells[r, c] for c in self._cols if (r, c) in self._cells}
                for r in self._rows}

    def table(self, fmt: Any = "{:.1f}", cols: Optional[Sequence[Any]] = None,
              rows: Optional[Sequence[Any]] = None, caption: Optional[str] = None) -> None:
        """Show the grid (or the ``rows`` and ``cols`` given, in that order) as a Markdown table
        via :func:`table`: a first column of row labels headed ``name``, the numbers written
        with ``fmt`` (a format string or a function; a dict gives one per column; text is
        written as it is) and an empty cell where there is no result."""
        cols = self.cols if cols is None else list(cols)
        rows = self.rows if rows is None else list(rows)

        def cell(r: Any, c: Any) -> str:
            if (r, c) not in self._cells:
                return ""
            value = self._cells[r, c]
            f = fmt.get(c, "{}") if isinstance(fmt, dict) else fmt
            if isinstance(value, str) or value is None:
                return "" if value is None else value
            return f(value) if callable(f) else f.format(value)

        for c in cols:
            if c not in self._cols:
                raise KeyError(f"no column {c!r}; columns: {self.cols}")
        for r in rows:
            if r not in self._rows:
                raise KeyError(f"no row {r!r}; rows: {self.rows}")
        table([self.name, *cols], [[r, *(cell(r, c) for c in cols)] for r in rows],
              align="l" + "r" * len(cols), caption=caption)
        return None

    def glue(self, prefix: str, fmt: Optional[str] = None) -> None:
        """Glue every filled cell as ``f"{prefix}_{row}_{col}"`` (the value, or
        ``fmt.format(value)``); the names must be identifier-like (letters, digits, ``_``)."""
        for r, c in self._cells:
            name = f"{prefix}_{r}_{c}"
            if not _NAME.fullmatch(name):
                raise ValueError(f"cannot glue {name!r}: a glue name holds letters, digits and "
                                 f"_ only; rename the row {r!r} or the column {c!r}")
        for (r, c), value in self._cells.items():
            glue(f"{prefix}_{r}_{c}", value if fmt is None else fmt.format(value))

    def __repr__(self) -> str:
        return f"Results({self.name!r}, rows={self.rows}, cols={self.cols})"
