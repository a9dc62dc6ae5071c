"""The LSTM and GRU cell diagrams draw (Agg backend) and carry the labels the chapters name."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnbook import diagrams  # noqa: E402

ODOT, PLUS, SIGMA, TANH = r"$\odot$", "$+$", r"$\sigma$", r"$\tanh$"


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_lstm_cell_draws_gates_nodes_and_states():
    ax = diagrams.lstm_cell(title="LSTM")
    assert isinstance(ax, matplotlib.axes.Axes) and ax.get_title() == "LSTM"
    t = texts(ax)
    for label in ("$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$", "forget $f_t$",
                  "input $i_t$", "candidate $g_t$", "output $o_t$"):
        assert t.count(label) == 1, label
    assert t.count(SIGMA) == 3 and t.count(TANH) == 2  # i, f, o; the candidate and tanh(c_t)
    assert t.count(ODOT) == 3 and t.count(PLUS) == 1   # f*c, i*g, o*tanh(c); the sum
    ax.figure.canvas.draw()  # renders every label (mathtext included) without error


def test_gru_cell_draws_gates_nodes_and_states():
    ax = diagrams.gru_cell()
    assert isinstance(ax, matplotlib.axes.Axes) and ax.get_title() == ""
    t = texts(ax)
    for label in ("$h_{t-1}$", "$h_t$", "$x_t$", "update $z_t$", "reset $r_t$",
                  "candidate $n_t$", "$1-$"):
        assert t.count(label) == 1, label
    assert t.count(SIGMA) == 2 and t.count(TANH) == 1
    assert t.count(ODOT) == 3 and t.count(PLUS) == 1   # z*h, r on h's term, (1-z)*n; the sum
    assert not any("c_t" in s for s in t)              # no cell state in a GRU
    ax.figure.canvas.draw()


def test_cell_diagrams_draw_into_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert diagrams.lstm_cell(ax=left) is left and diagrams.gru_cell(ax=right) is right
    assert left.figure is fig and not left.axison and not right.axison


def test_gate_heatmaps_share_a_fixed_scale_and_one_colour_bar():
    import numpy as np

    from rnnbook.plot import gate_heatmaps, heatmap
    rng = np.random.default_rng(0)
    gates = {"input": rng.uniform(0.2, 0.4, (6, 5)), "forget": rng.uniform(0.5, 0.9, (6, 5))}
    axes = gate_heatmaps(gates, chars=list("abcdef"), units=[4, 0, 2])
    assert [ax.get_title() for ax in axes] == ["input gate", "forget gate"]
    for ax in axes:
        assert ax.images[0].get_clim() == (0.0, 1.0)  # not each panel's own range
        assert ax.images[0].get_array().shape == (3, 6)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["4", "0", "2"]
    bars = [a for a in axes[0].figure.axes if a not in list(axes)]
    assert len(bars) == 1 and bars[0].get_ylabel() == "gate activation"
    ax = heatmap(np.array([[-2.0, 1.0]]))  # the old default: symmetric around zero
    assert ax.images[0].get_clim() == (-2.0, 2.0) and len(ax.figure.axes) == 2
    ax = heatmap(np.array([[0.2, 0.3]]), center=False, colorbar=None)
    assert len(ax.figure.axes) == 1


def test_session_parallel_draws_the_batcher_layout():
    ax = diagrams.session_parallel(lengths=(4, 2, 6, 2, 3), lanes=3, title="GRU4Rec")
    t = texts(ax)
    assert ax.get_title() == "GRU4Rec" and not ax.axison
    assert [s for s in t if s.startswith("session ")] == [f"session {k}" for k in range(1, 6)]
    assert "input mini-batches" in t and "target mini-batches" in t
    # each item once among the sessions; as input every item but the last of its session
    assert t.count("$i_{3,6}$") == 2 and t.count("$i_{3,1}$") == 2 and t.count("$i_{1,4}$") == 2
    assert t.count("$i_{2,2}$") == 2 and t.count("$i_{2,1}$") == 2
    # lane 2 takes sessions 2, 4, 5: two resets there (red bars), in the input and the target
    # grids; none elsewhere
    assert len(ax.lines) == 4 and all(line.get_color() == "#c0392b" for line in ax.lines)
    with pytest.raises(ValueError, match="2 or more"):
        diagrams.session_parallel(lengths=(3, 1))


def test_diagrams_import_no_task():
    """The session-parallel layout comes from rnnbook.sessions (batching level): drawing a
    figure needs no task module, and no task module is loaded by importing diagrams."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(diagrams.__file__).read_text(encoding="utf-8"))
    modules = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    modules |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for a in node.names}
    assert "sessions" in modules
    assert not [m for m in modules if m == "tasks" or m.startswith(("tasks.", "rnnbook.tasks"))]
