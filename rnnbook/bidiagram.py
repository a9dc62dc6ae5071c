"""The bidirectional RNN drawn unrolled: two chains of states, one output per step."""

from __future__ import annotations

from typing import Optional

import matplotlib.pyplot as plt

from .diagrams import _arrow, _box


def bidirectional(steps: int = 4, title: Optional[str] = None, ax=None):
    """Draw ``x_t -> (h->_t, h<-_t) -> y_t = [h->_t ; h<-_t]`` for ``t = 1..steps``.

    The forward chain runs left to right from ``h->_0``, the backward chain right to left
    from ``h<-_{T+1}``; the final states ``h_n`` are ``h->_T`` and ``h<-_1``. Returns the axes.
    """
    ax = ax or plt.subplots(figsize=(1.4 * steps + 2.4, 3.4))[1]
    y_x, y_b, y_f, y_y = 0.0, 1.0, 1.9, 3.0
    xs = [1.4 * t for t in range(steps)]
    fwd, bwd = r"\overrightarrow{h}", r"\overleftarrow{h}"
    ax.text(xs[0] - 1.05, y_f, f"${fwd}_0$", ha="center", va="center", fontsize=10)
    _arrow(ax, (xs[0] - 0.8, y_f), (xs[0] - 0.31, y_f))
    ax.text(xs[-1] + 1.1, y_b, f"${bwd}_{{{steps + 1}}}$", ha="center", va="center",
            fontsize=10)
    _arrow(ax, (xs[-1] + 0.8, y_b), (xs[-1] + 0.31, y_b))
    for t, xc in enumerate(xs):
        _box(ax, xc, y_x, f"$x_{t + 1}$", "x")
        _box(ax, xc, y_f, f"${fwd}_{t + 1}$", "h")
        _box(ax, xc, y_b, f"${bwd}_{t + 1}$", "h")
        _box(ax, xc, y_y, f"$y_{t + 1}$", "y", w=0.9)
        _arrow(ax, (xc, y_x + 0.21), (xc, y_b - 0.21))  # x_t feeds both directions
        _arrow(ax, (xc + 0.31, y_x + 0.05), (xc + 0.31, y_f - 0.1), rad=0.45)
        _arrow(ax, (xc - 0.31, y_b + 0.1), (xc - 0.3, y_y - 0.21), rad=-0.45)
        _arrow(ax, (xc, y_f + 0.21), (xc, y_y - 0.21))
        if t + 1 < steps:
            _arrow(ax, (xc + 0.31, y_f), (xs[t + 1] - 0.31, y_f))
            _arrow(ax, (xs[t + 1] - 0.31, y_b), (xc + 0.31, y_b))
    ax.text(xs[-1] + 0.55, y_f + 0.38, "forward: $h_n$[0] at $t=T$", fontsize=8,
            color="0.3", ha="left")
    ax.text(xs[0] - 0.55, y_b - 0.45, "backward: $h_n$[1] at $t=1$", fontsize=8,
            color="0.3", ha="right")
    ax.text(xs[-1] + 0.6, y_y, r"$y_t = [\overrightarrow{h}_t\,;\,\overleftarrow{h}_t]$"
            "\n(forward half first)", fontsize=9, ha="left", va="center")
    ax.set_xlim(xs[0] - 2.6, xs[-1] + 2.6)
    ax.set_ylim(-0.5, 3.4)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
