"""Device, seeds and the compute budget every chapter runs under.

The budget (``RNNBOOK_BUDGET``) picks the size of every experiment in the book:

- ``smoke``: seconds per chapter; what the tests (nbval) run. Claims are reported, not enforced.
- ``cpu``:   the book build, about three minutes per chapter on two CPU cores.
- ``gpu``:   larger models, closer to the papers. The default when CUDA is available.
"""

from __future__ import annotations

import os
import random
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import torch

BUDGETS = ("smoke", "cpu", "gpu")


def device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and every GPU) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def building() -> bool:
    """Whether this run builds or tests the book: ``RNNBOOK_BUILD=1`` (``make book``, ``make test``
    and CI set it) or a ``CI`` variable. A build is strict (a false claim stops it) and quiet (no
    progress widgets in the pages)."""
    flag = os.environ.get("RNNBOOK_BUILD", "").strip().lower()
    return flag not in ("", "0", "false", "no") or bool(os.environ.get("CI"))


def interactive() -> bool:
    """Whether a person is at the keyboard: code running in a Jupyter or Colab kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def budget() -> str:
    """The current budget: ``$RNNBOOK_BUDGET``, else ``gpu`` with CUDA present, else ``cpu``."""
    value = os.environ.get("RNNBOOK_BUDGET", "").strip().lower()
    if not value:
        return "gpu" if torch.cuda.is_available() else "cpu"
    if value not in BUDGETS:
        raise ValueError(
            f"RNNBOOK_BUDGET={value!r} is not a budget; use one of {', '.join(BUDGETS)}."
        )
    return value


class HParams(Mapping[str, Any]):
    """Read-only hyper-parameters, reachable as attributes (``hp.hidden``) or keys."""

    def __init__(self, budget_name: str, values: Mapping[str, Any]):
        self._budget = budget_name
        self._values = MappingProxyType(dict(values))

    @property
    def budget(self) -> str:
        return self._budget

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"no hyper-parameter {name!r}; defined: {', '.join(self._values)}"
            ) from None

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"HParams[{self._budget}]({items})"


def hparams(
    *, smoke: Mapping[str, Any], cpu: Mapping[str, Any], gpu: Mapping[str, Any] | None = None,
    budget_name: str | None = None, verbose: bool = True,
) -> HParams:
    """State a chapter's hyper-parameters for every budget in one place; return the current ones.

    All three budgets must define the same names, so a chapter cannot silently depend on a
    value that exists at one budget only. ``gpu=None`` (the default) means "the same as
    ``cpu``". With ``verbose`` a table of all three is printed, the active column marked with
    ``*`` and a ``gpu`` column taken from ``cpu`` headed ``gpu (= cpu)``.
    """
    as_cpu = gpu is None
    table = {"smoke": dict(smoke), "cpu": dict(cpu), "gpu": dict(cpu if gpu is None else gpu)}
    keys = list(table["cpu"])
    for name, values in table.items():
        if set(values) != set(keys):
            missing = set(keys) - set(values)
            extra = set(values) - set(keys)
            raise ValueError(
                f"hyper-parameters differ between budgets: {name!r} lacks {sorted(missing)} "
                f"and adds {sorted(extra)}; give every budget the same names."
            )
    active = budget_name or budget()
    if active not in BUDGETS:
        raise ValueError(f"unknown budget {active!r}; use one of {', '.join(BUDGETS)}.")
    if verbose:
        print(_format_table(table, keys, active, as_cpu))
    return HParams(active, {k: table[active][k] for k in keys})


def _format_table(table: dict[str, dict[str, Any]], keys: list[str], active: str,
                  gpu_as_cpu: bool = False) -> str:
    heads = [b + ("*" if b == active else "") + (" (= cpu)" if b == "gpu" and gpu_as_cpu else "")
             for b in BUDGETS]
    rows = [[k] + [repr(table[b][k]) for b in BUDGETS] for k in keys]
    widths = [max(len(r[i]) for r in rows + [["hyper-parameter"] + heads]) for i in range(4)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    out = [line(["hyper-parameter"] + heads), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)
