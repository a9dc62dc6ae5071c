"""rnnbook.plot: the book's style is opt-in; importing the package leaves matplotlib alone."""

import json
import subprocess
import sys

import matplotlib

SCRIPT = """
import json, matplotlib
before = {k: repr(v) for k, v in matplotlib.rcParams.items()}
import rnnbook, rnnbook.plot, rnnbook.diagrams
after = {k: repr(v) for k, v in matplotlib.rcParams.items()}
default = {k: repr(v) for k, v in matplotlib.rcParamsDefault.items()}
changed = sorted(k for k in before if before[k] != after[k])
off_default = sorted(k for k in rnnbook.plot.STYLE if after[k] != default[k])
rnnbook.plot.use_style()
applied = all(matplotlib.rcParams[k] == matplotlib.RcParams({k: v})[k]
              for k, v in rnnbook.plot.STYLE.items())
print(json.dumps(dict(changed=changed, off_default=off_default, applied=applied)))
"""


def test_import_leaves_rcparams_alone_and_use_style_applies_it(tmp_path):
    env = {"MPLCONFIGDIR": str(tmp_path), "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=env, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["changed"] == [], "importing rnnbook changed matplotlib.rcParams"
    assert result["off_default"] == [], "the book's style keys are not at matplotlib's defaults"
    assert result["applied"]


def test_use_style_draws_inline_figures_at_twice_the_resolution():
    script = """
import json
import matplotlib.pyplot as plt
from IPython.core.interactiveshell import InteractiveShell
import rnnbook.plot
shell = InteractiveShell.instance()
fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
ax.plot([0, 1], [0, 1])
before = shell.display_formatter.format(fig)[1]
rnnbook.plot.use_style()
after = shell.display_formatter.format(fig)[1]
print(json.dumps([before, after]))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"}, check=True).stdout
    before, after = json.loads(out.strip().splitlines()[-1])
    assert "image/png" not in before                     # 1x PNG: no size metadata
    width = after["image/png"]["width"]                  # 2x PNG, shown at its 1x size
    assert 300 <= width <= 400, after


def test_style_keys_are_real_rcparams():
    from rnnbook.plot import STYLE
    assert set(STYLE) <= set(matplotlib.rcParams)


def test_nplm_diagram():
    import matplotlib.pyplot as plt
    import pytest

    from rnnbook import diagrams
    for context in (1, 3):
        ax = diagrams.nplm(context=context, title="NPLM")
        texts = [t.get_text() for t in ax.texts]
        assert sum("C(" in t for t in texts) == context
        assert any(t.startswith("$p(w_t") for t in texts) and ax.get_title() == "NPLM"
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="context word"):
        diagrams.nplm(context=0)
