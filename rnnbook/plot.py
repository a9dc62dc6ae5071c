"""The book's figures, in one style: loss curves, heat maps.

The style is opt-in: importing :mod:`rnnbook` (or this module) leaves matplotlib's settings
alone; a chapter calls :func:`use_style` once, after its imports.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .history import History

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "legend.frameon": False,
    "font.size": 10,
}


def use_style() -> None:
    """Apply the book's matplotlib style (:data:`STYLE`) to ``matplotlib.rcParams``.

    Each chapter calls it once after its imports; nothing in the package calls it, so importing
    :mod:`rnnbook` changes no global setting of matplotlib. In Jupyter it also draws inline
    figures as PNG at twice the resolution, shown at the same size (sharp on high-DPI screens).
    """
    plt.rcParams.update(STYLE)
    _sharp_inline_figures()


def _sharp_inline_figures() -> None:
    """Inline figures as 2x PNG with their 1x width and height (IPython's "retina" format)."""
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # no Jupyter here: nothing is drawn inline
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")

_X = {"step": ("step", "optimiser step"), "time": ("time", "training time (s)"),
      "items": ("items", "tokens seen")}


def loss_curves(
    histories: History | Mapping[str, History],
    x: str = "step",
    ylabel: str = "loss (nats per token)",
    title: str | None = None,
    train: bool = True,
    ax=None,
):
    """Plot validation (solid) and training (dashed) loss of one or several runs.

    ``x`` is ``"step"``, ``"time"`` (training seconds) or ``"items"`` (tokens seen).
    Returns the axes.
    """
    if isinstance(histories, History):
        histories = {"": histories}
    if x not in _X:
        raise ValueError(f"x must be one of {', '.join(_X)}, not {x!r}")
    attr, xlabel = _X[x]
    ax = ax or plt.subplots()[1]
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i}"
        xs = getattr(h, attr)
        vals = [np.nan if v is None else v for v in h.val_loss]
        label = f"{name} " if name else ""
        if not all(np.isnan(vals)):
            ax.plot(xs, vals, color=color, marker="o", ms=3, label=f"{label}validation")
        if train:
            ax.plot(xs, h.train_loss, color=color, ls="--", alpha=0.7, label=f"{label}training")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def heatmap(
    values,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    title: str | None = None,
    cmap: str = "RdBu_r",
    center: bool = True,
    colorbar: str | None = "",
    vmin: float | None = None,
    vmax: float | None = None,
    ax=None,
):
    """Show a matrix (e.g. hidden units over time) with labelled axes; returns the axes.

    With ``center`` the colour scale is symmetric around zero (for tanh-like values);
    ``vmin``/``vmax`` fix either end of the scale instead (e.g. 0 and 1 for gates), so that
    several heat maps share one. ``colorbar`` labels the colour bar; ``None`` draws none.
    """
    values = np.asarray(values, dtype=float)
    ax = ax or plt.subplots(figsize=(max(4.0, 0.22 * values.shape[1]), 3.2))[1]
    if center and vmin is None and vmax is None:
        vmax = np.nanmax(np.abs(values))
        vmin = -vmax
    im = ax.imshow(values, aspect="auto", cmap=cmap, interpolation="nearest", vmin=vmin,
                   vmax=vmax)
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)))
        ax.set_xticklabels(xlabels, fontsize=8, fontfamily="monospace")
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)))
        ax.set_yticklabels(ylabels, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    if title:
        ax.set_title(title)
    if colorbar is not None:
        ax.figure.colorbar(im, ax=ax, label=colorbar)
    return ax


def gate_heatmaps(gates: Mapping[str, np.ndarray], chars: Sequence[str],
                  units: Sequence[int], height: float = 2.8):
    """Heat maps of recorded gates, one row per gate, on one fixed scale from 0 to 1.

    ``gates`` maps a gate's name to its activations ``(time, units)`` (e.g. from
    :func:`rnnbook.layers.record_gates`, one layer and one sequence); ``units`` picks the rows
    shown; ``chars`` labels the time axis. One colour bar, "gate activation", serves all rows,
    so the same colour means the same value in every panel and every chapter. Returns the axes.
    """
    fig, axes = plt.subplots(len(gates), 1, figsize=(11, height * len(gates)), sharex=True,
                             squeeze=False, layout="constrained")
    axes = axes[:, 0]
    rows = [str(int(u)) for u in units]
    for ax, (name, values) in zip(axes, gates.items()):
        heatmap(np.asarray(values)[:, list(units)].T, xlabels=chars, ylabels=rows, ylabel="unit",
                title=f"{name} gate", cmap="viridis", colorbar=None, vmin=0.0, vmax=1.0, ax=ax)
    axes[-1].set_xlabel("character of the passage")
    fig.colorbar(axes[0].images[0], ax=list(axes), label="gate activation", shrink=0.9)
    return axes
