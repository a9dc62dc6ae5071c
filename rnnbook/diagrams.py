"""Diagrams drawn with matplotlib: a recurrent network folded and unrolled in time, the
bidirectional RNN unrolled, the neural probabilistic language model (NPLM), one step of the
LSTM and of the GRU cell, and GRU4Rec's session-parallel mini-batches (laid out by
:mod:`rnnbook.sessions`, below every task)."""

from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .sessions import SessionParallelBatches
from .text import IGNORE

COLORS = {"x": "#dbe9f6", "h": "#fde2c8", "y": "#d9f0d3"}


def _box(ax, x: float, y: float, text: str, kind: str, w: float = 0.62, h: float = 0.42,
         fontsize: float = 10) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03",
                                fc=COLORS[kind], ec="0.25", lw=1.0))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, label: str = "", rad: float = 0.0, offset=(0.0, 0.0),
           ls: str = "-") -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, lw=1.0,
                                 color="0.25", connectionstyle=f"arc3,rad={rad}", ls=ls))
    if label:
        mx, my = (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, label, fontsize=8, color="0.3", ha="center", va="center")


def unrolled(
    steps: int = 4,
    inputs: Optional[Sequence[bool]] = None,
    outputs: Optional[Sequence[bool]] = None,
    folded: bool = True,
    labels: bool = True,
    title: Optional[str] = None,
    ax=None,
):
    """Draw an RNN folded (a loop on ``h``) and unrolled over ``steps`` time steps.

    ``inputs``/``outputs`` say at which steps there is an ``x_t``/``y_t`` (default: all), which
    also draws the many-to-one and one-to-many patterns. ``labels`` writes the shared weight
    names on the arrows. Returns the axes.
    """
    inputs = list(inputs) if inputs is not None else [True] * steps
    outputs = list(outputs) if outputs is not None else [True] * steps
    if len(inputs) != steps or len(outputs) != steps:
        raise ValueError("inputs and outputs need one flag per step")
    ax = ax or plt.subplots(figsize=(1.3 * (steps + 2 * folded) + 0.5, 2.6))[1]
    y_x, y_h, y_y = 0.0, 1.1, 2.2
    x0 = 0.0
    if folded:
        _box(ax, x0, y_x, "$x_t$", "x")
        _box(ax, x0, y_h, "$h_t$", "h")
        _box(ax, x0, y_y, "$y_t$", "y")
        _arrow(ax, (x0, y_x + 0.21), (x0, y_h - 0.21), "$W_{ih}$" if labels else "",
               offset=(0.28, 0))
        _arrow(ax, (x0, y_h + 0.21), (x0, y_y - 0.21), "$W_{hy}$" if labels else "",
               offset=(0.28, 0))
        _arrow(ax, (x0 - 0.22, y_h + 0.23), (x0 - 0.22, y_h - 0.23), rad=1.3)
        if labels:
            ax.text(x0 - 0.95, y_h, "$W_{hh}$", fontsize=8, color="0.3", ha="center")
        ax.text(x0 + 0.95, y_h, "=", fontsize=16, ha="center", va="center")
        x0 = 2.7
    xs = [x0 + 1.3 * t for t in range(steps)]
    ax.text(xs[0] - 0.95, y_h, "$h_0$", fontsize=10, ha="center", va="center")
    _arrow(ax, (xs[0] - 0.8, y_h), (xs[0] - 0.31, y_h))
    for t, xc in enumerate(xs):
        _box(ax, xc, y_h, f"$h_{t + 1}$", "h")
        if inputs[t]:
            _box(ax, xc, y_x, f"$x_{t + 1}$", "x")
            _arrow(ax, (xc, y_x + 0.21), (xc, y_h - 0.21),
                   "$W_{ih}$" if labels else "", offset=(0.28, 0))
        if outputs[t]:
            _box(ax, xc, y_y, f"$y_{t + 1}$", "y")
            _arrow(ax, (xc, y_h + 0.21), (xc, y_y - 0.21),
                   "$W_{hy}$" if labels else "", offset=(0.28, 0))
        if t + 1 < steps:
            _arrow(ax, (xc + 0.31, y_h), (xs[t + 1] - 0.31, y_h),
                   "$W_{hh}$" if labels else "", offset=(0, 0.16))
    ax.set_xlim(-1.35 if folded else xs[0] - 1.2, xs[-1] + 0.6)
    ax.set_ylim(-0.4, 2.6)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


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


def nplm(context: int = 3, title: Optional[str] = None, ax=None):
    """Draw the NPLM of Bengio et al. (2003) for ``context`` (= n - 1) context words.

    Each word ``w`` is looked up in the shared table ``C``; the vectors are concatenated into
    ``x``; a ``tanh`` layer (``H``, ``d``) and the softmax output (``U``, ``b``) follow, with the
    optional direct connections ``W`` from ``x`` to the output (dashed). Returns the axes.
    """
    if context < 1:
        raise ValueError(f"the NPLM needs at least one context word, got {context}")
    step, w = 2.2, 1.4
    left, right = 1.0, 1.0 + step * (context - 1) + w
    mid = (left + right) / 2
    ax = ax or plt.subplots(figsize=(6.4 * (right + 3.2) / 10, 3.2))[1]
    for i in range(context):
        cx = left + step * i + w / 2
        back = context - i
        _box(ax, cx, 0.4, f"$w_{{t-{back}}}$", "x", w=w, h=0.6, fontsize=9)
        _box(ax, cx, 1.6, r"$C(\cdot)$", "x", w=w, h=0.6, fontsize=9)
        _arrow(ax, (cx, 0.7), (cx, 1.3))
        _arrow(ax, (cx, 1.9), (mid, 2.5))
    _box(ax, mid, 2.8, r"$x$: concatenated embeddings", "h", w=right - left, h=0.6, fontsize=9)
    _box(ax, mid - 0.5, 3.9, r"$\tanh(d + Hx)$", "h", w=3.2, h=0.6, fontsize=9)
    _box(ax, mid, 5.0, r"softmax$(b + Wx + U\tanh(\cdot))$", "y", w=right - left, h=0.6,
         fontsize=9)
    _arrow(ax, (mid - 0.5, 3.1), (mid - 0.5, 3.6), "$H$", offset=(0.25, 0))
    _arrow(ax, (mid - 0.5, 4.2), (mid - 0.5, 4.7), "$U$", offset=(0.25, 0))
    _arrow(ax, (right - 0.3, 3.1), (right - 0.3, 4.7), ls="--")
    ax.text(right - 0.15, 3.9, "$W$ (direct,\noptional)", fontsize=8, color="0.2", va="center")
    given = ", ".join(f"w_{{t-{k}}}" for k in range(context, 0, -1))
    ax.text(right + 0.5, 5.0, f"$p(w_t \\mid {given})$", fontsize=9, va="center")
    ax.text(right + 0.15, 1.6, "shared table $C$", fontsize=8, color="0.2", va="center")
    ax.set_xlim(0, right + 3.2)
    ax.set_ylim(0, 5.4)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


GATE_COLOR, NODE_COLOR = "#f6d5e5", "white"
GATE_W, GATE_H = 1.04, 0.62


def _node(ax, x: float, y: float, symbol: str, r: float = 0.17) -> None:
    """A point-wise operation: a small circle with ``symbol`` (``odot``, ``+`` or ``1-``)."""
    from matplotlib.patches import Circle
    ax.add_patch(Circle((x, y), r, fc=NODE_COLOR, ec="0.25", lw=1.0, zorder=3))
    ax.text(x, y, {"odot": r"$\odot$", "+": "$+$", "1-": r"$1-$"}[symbol], ha="center",
            va="center", fontsize=10 if symbol != "1-" else 7, zorder=4)


def _gate(ax, x: float, y: float, fn: str, name: str) -> None:
    """A gate: a box with its non-linearity (``sigma`` or ``tanh``) above its name."""
    ax.add_patch(FancyBboxPatch((x - GATE_W / 2, y - GATE_H / 2), GATE_W, GATE_H,
                                boxstyle="round,pad=0.03", fc=GATE_COLOR, ec="0.25", lw=1.0))
    ax.text(x, y + 0.1, r"$\sigma$" if fn == "sigma" else r"$\tanh$", ha="center", va="center",
            fontsize=11)
    ax.text(x, y - 0.16, name, ha="center", va="center", fontsize=7.5, color="0.2")


def _line(ax, points, lw: float = 1.0) -> None:
    xs, ys = zip(*points)
    ax.plot(xs, ys, color="0.25", lw=lw, solid_capstyle="round", zorder=1)


def _finish(ax, xlim, ylim, title: Optional[str]):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def lstm_cell(title: Optional[str] = None, ax=None):
    """Draw one LSTM step in PyTorch's notation: gates ``i, f, o`` (sigmoid) and the candidate
    ``g`` (tanh) read ``x_t`` and ``h_{t-1}``; ``c_t = f_t * c_{t-1} + i_t * g_t`` runs along
    the top, ``h_t = o_t * tanh(c_t)`` leaves on the right. Returns the axes.
    """
    ax = ax or plt.subplots(figsize=(7.2, 4.0))[1]
    top, mid, gy, bus, lo, hi = 3.0, 2.0, 0.8, -0.3, 0.8 - 0.34, 0.8 + 0.34
    ax.text(-0.15, top, "$c_{t-1}$", ha="right", va="center", fontsize=11)
    ax.text(-0.15, bus, "$h_{t-1}$", ha="right", va="center", fontsize=11)
    ax.text(0.8, -1.35, "$x_t$", ha="center", va="top", fontsize=11)
    _line(ax, [(0, bus), (5.5, bus)], lw=1.4)  # h_{t-1} and x_t feed every gate
    _arrow(ax, (0.8, -1.3), (0.8, bus))
    for x, fn, name in ((1.6, "sigma", "forget $f_t$"), (2.9, "sigma", "input $i_t$"),
                        (4.2, "tanh", "candidate $g_t$"), (5.5, "sigma", "output $o_t$")):
        _arrow(ax, (x, bus), (x, lo))
        _gate(ax, x, gy, fn, name)
    _arrow(ax, (0, top), (1.43, top))  # the cell state's path, along the top
    _node(ax, 1.6, top, "odot")
    _arrow(ax, (1.6, hi), (1.6, top - 0.17))
    _node(ax, 3.55, mid, "odot")  # i_t * g_t
    _arrow(ax, (2.9, hi), (3.55 - 0.13, mid - 0.12))
    _arrow(ax, (4.2, hi), (3.55 + 0.13, mid - 0.12))
    _arrow(ax, (1.77, top), (3.55 - 0.17, top))
    _node(ax, 3.55, top, "+")
    _arrow(ax, (3.55, mid + 0.17), (3.55, top - 0.17))
    _arrow(ax, (3.72, top), (7.5, top))
    ax.text(7.6, top, "$c_t$", ha="left", va="center", fontsize=11)
    _arrow(ax, (6.7, top), (6.7, mid + 0.24))  # h_t = o_t * tanh(c_t)
    _box(ax, 6.7, mid, r"$\tanh$", "h", w=0.62, h=0.4)
    _node(ax, 6.7, gy, "odot")
    _arrow(ax, (6.7, mid - 0.23), (6.7, gy + 0.17))
    _arrow(ax, (5.5 + 0.55, gy), (6.53, gy))
    _arrow(ax, (6.87, gy), (7.5, gy))
    ax.text(7.6, gy, "$h_t$", ha="left", va="center", fontsize=11)
    return _finish(ax, (-1.0, 8.3), (-1.8, 3.4), title)


def gru_cell(title: Optional[str] = None, ax=None):
    """Draw one GRU step in PyTorch's notation: the update gate ``z`` and the reset gate ``r``
    (sigmoid) read ``x_t`` and ``h_{t-1}``; ``r_t`` scales ``h_{t-1}``'s part of the candidate
    ``n_t`` (tanh); ``h_t = (1 - z_t) * n_t + z_t * h_{t-1}`` runs along the top. Returns the
    axes.
    """
    ax = ax or plt.subplots(figsize=(7.2, 4.0))[1]
    top, mid, gy, bus, lo, hi = 3.0, 2.0, 0.8, -0.3, 0.8 - 0.34, 0.8 + 0.34
    ax.text(-0.15, top, "$h_{t-1}$", ha="right", va="center", fontsize=11)
    ax.text(1.0, -1.35, "$x_t$", ha="center", va="top", fontsize=11)
    _line(ax, [(0, top), (0.4, top), (0.4, bus), (5.0, bus)], lw=1.4)  # h_{t-1} to the gates
    _arrow(ax, (1.0, -1.3), (1.0, bus))
    for x, name in ((1.6, "update $z_t$"), (2.9, "reset $r_t$")):
        _arrow(ax, (x, bus), (x, lo))
        _gate(ax, x, gy, "sigma", name)
    _node(ax, 3.95, gy, "odot")  # r_t acts on h_{t-1}'s term of the candidate
    _arrow(ax, (2.9 + 0.55, gy), (3.95 - 0.17, gy))
    _arrow(ax, (3.95, bus), (3.95, gy - 0.17))
    _arrow(ax, (5.0, bus), (5.0, lo))
    _arrow(ax, (3.95 + 0.17, gy), (5.0 - 0.55, gy))
    _gate(ax, 5.0, gy, "tanh", "candidate $n_t$")
    _arrow(ax, (0.4, top), (1.43, top))  # the state's path, along the top
    _node(ax, 1.6, top, "odot")
    _arrow(ax, (1.6, hi), (1.6, top - 0.17))
    _node(ax, 3.2, mid, "1-", r=0.2)
    _arrow(ax, (1.9, hi), (3.2 - 0.15, mid - 0.14))
    _node(ax, 5.0, mid, "odot")  # (1 - z_t) * n_t
    _arrow(ax, (3.4, mid), (5.0 - 0.17, mid))
    _arrow(ax, (5.0, hi), (5.0, mid - 0.17))
    _arrow(ax, (1.77, top), (5.0 - 0.17, top))
    _node(ax, 5.0, top, "+")
    _arrow(ax, (5.0, mid + 0.17), (5.0, top - 0.17))
    _arrow(ax, (5.17, top), (6.6, top))
    ax.text(6.7, top, "$h_t$", ha="left", va="center", fontsize=11)
    ax.text(3.0, bus - 0.3, "$r_t$ scales $h_{t-1} W_{hn}^\\top$ (PyTorch)\nor $h_{t-1}$ "
            "before $W_{hn}$ (Cho et al.)", ha="left", va="top", fontsize=7.5, color="0.3")
    return _finish(ax, (-1.0, 7.4), (-1.8, 3.4), title)


SESSION_COLORS = ("#dbe9f6", "#fde2c8", "#d9f0d3", "#e8dcf2", "#f9d5d3", "#fff2b3", "#d5f0ee")


def session_parallel(lengths: Sequence[int] = (4, 2, 6, 2, 3), lanes: int = 3,
                     title: Optional[str] = None, ax=None):
    """Draw GRU4Rec's session-parallel mini-batches (Hidasi et al. 2016, Figure 1).

    Top: the sessions, item ``i_{k,t}`` the ``t``-th click of session ``k`` (one colour per
    session). Below: the input and the target mini-batches, one column per step and one row per
    lane, as :class:`~rnnbook.sessions.SessionParallelBatches` lays them out (sessions in
    order); a red bar marks where a lane's state is reset for a new session, grey cells idle
    lanes. Returns the axes.
    """
    if any(n < 2 for n in lengths) or not lengths or lanes < 1:
        raise ValueError("give at least one session of 2 or more items, and lanes >= 1")
    sessions, offset = [], 0
    for n in lengths:
        sessions.append(list(range(offset, offset + n)))
        offset += n
    owner = {i: (k, t) for k, s in enumerate(sessions) for t, i in enumerate(s)}
    x, y, start = SessionParallelBatches(sessions, lanes, shuffle=False).plan()
    steps = x.size(0)
    ax = ax or plt.subplots(figsize=(max(7.0, 0.9 * max(max(lengths), steps) + 2.2),
                                     0.45 * (len(lengths) + 2 * lanes) + 2.2))[1]
    w, h, dx, dy = 0.72, 0.36, 0.85, 0.45

    def cell(cx: float, cy: float, item: Optional[int]) -> None:
        if item is None:
            ax.add_patch(FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, boxstyle="round,pad=0.02",
                                        fc="0.93", ec="0.7", lw=0.8))
            return
        k, t = owner[item]
        ax.add_patch(FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, boxstyle="round,pad=0.02",
                                    fc=SESSION_COLORS[k % len(SESSION_COLORS)], ec="0.3", lw=0.8))
        ax.text(cx, cy, f"$i_{{{k + 1},{t + 1}}}$", ha="center", va="center", fontsize=9)

    top = 0.0
    for k, s in enumerate(sessions):
        cy = top - k * dy
        ax.text(-0.6, cy, f"session {k + 1}", ha="right", va="center", fontsize=9)
        for t, item in enumerate(s):
            cell(t * dx, cy, item)
    y_in = top - len(sessions) * dy - 0.7
    y_out = y_in - lanes * dy - 0.6
    for name, grid, y0 in (("input", x, y_in), ("target", y, y_out)):
        ax.text(-0.6, y0 + 0.35, f"{name} mini-batches", ha="right", va="bottom", fontsize=9,
                fontweight="bold")
        for b in range(lanes):
            cy = y0 - b * dy
            ax.text(-0.6, cy, f"lane {b + 1}", ha="right", va="center", fontsize=8, color="0.3")
            for t in range(steps):
                idle = int(y[t, b]) == IGNORE
                cell(t * dx, cy, None if idle else int(grid[t, b]))
                if start[t, b] and not idle and t > 0:
                    ax.plot([t * dx - dx / 2] * 2, [cy - dy / 2, cy + dy / 2], color="#c0392b",
                            lw=2.2)
    for t in range(steps):
        ax.text(t * dx, y_out - lanes * dy + 0.1, f"step {t + 1}", ha="center", va="top",
                fontsize=7.5, color="0.3")
    ax.text(steps * dx - dx / 2, y_out - lanes * dy - 0.25, "red bar: state reset to zero",
            ha="right", va="top", fontsize=7.5, color="#c0392b")
    width = max(max(lengths), steps)
    return _finish(ax, (-2.6, width * dx), (y_out - lanes * dy - 0.5, top + 0.6), title)
