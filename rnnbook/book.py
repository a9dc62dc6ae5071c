"""Helpers that keep the book honest: show real source, glue computed numbers, check claims."""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path
from typing import Any

from .config import budget


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


def glue(name: str, value: Any, display: bool = False) -> None:
    """Make ``value`` available to the prose as ``{glue:text}`name```.

    Uses myst-nb's glue when it is installed (the book build); elsewhere (Colab) the value is
    printed, so a reader still sees every number the text quotes. Returns ``None``, so a glue
    on the last line of a cell adds no stray output to the page.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        print(f"{name} = {value}")
        return None
    myst_glue(name, value, display=display)
    return None


def expect(condition: Any, claim: str) -> bool:
    """Check a claim the prose makes against this run's numbers.

    At the ``cpu`` and ``gpu`` budgets a false claim raises :class:`ClaimFailed` (so the book
    build fails rather than print something untrue); at ``smoke``, where models are too small
    to show anything, it only warns. Returns whether the claim held.
    """
    held = bool(condition)
    current = budget()
    if held:
        print(f"[claim holds] {claim}")
    elif current == "smoke":
        warnings.warn(f"[claim not checked at smoke budget] {claim}", stacklevel=2)
        print(f"[claim does not hold at smoke budget; enforced at cpu/gpu] {claim}")
    else:
        raise ClaimFailed(f"the text claims '{claim}', but this run ({current} budget) "
                          "does not support it; fix the experiment or the text.")
    return held
