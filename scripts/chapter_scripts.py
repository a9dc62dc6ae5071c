"""Run the book's chapters without Jupyter: each chapter's code cells as one plain script.

    python scripts/chapter_scripts.py [CHAPTER ...] [--budget gpu] [--record-claims]
                                      [--timeout 600] [--jobs 1] [--out /tmp/chapters]

For a machine that has Python and PyTorch but no Jupyter (a bare GPU machine): every code cell of
``book/<chapter>.ipynb`` is written, in order, to ``<out>/<chapter>.py`` and run with
``RNNBOOK_BUDGET`` set. With ``--record-claims`` a false ``rnnbook.expect`` prints
``[claim FAILS]`` and the chapter goes on, so one run reports every claim. Where IPython or myst-nb
are missing, small stand-ins are put on the path (``display`` prints, ``glue`` prints). The
report is a Markdown table: chapter, exit code, seconds, claims held and failed, then each
failure's first lines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RECORD = '''# --record-claims: report every claim instead of stopping at the first false one
import rnnbook
import rnnbook.book


def _record(condition, claim):
    held = bool(condition)
    print(f"[claim {'holds' if held else 'FAILS'}] {claim}", flush=True)
    return held


rnnbook.expect = rnnbook.book.expect = _record
'''

STUBS = {
    "IPython/__init__.py": "def get_ipython():\n    return None\n",
    "IPython/display.py": ("class Markdown(str):\n    pass\n\n\n"
                           "def display(*objs, **kw):\n    for o in objs:\n        print(o)\n"),
}


def write_script(notebook: Path, out: Path, record: bool) -> Path:
    """The code cells of ``notebook``, in order, as ``out/<name>.py``; shell and magic lines
    (``!pip ...``, ``%matplotlib``) are commented out."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    parts = [RECORD] if record else []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        code = "".join(cell["source"])
        code = re.sub(r"^(\s*)([!%])", r"\1# \2", code, flags=re.M)
        parts.append(f"# --- cell {i}\n{code}\n")
    path = out / f"{notebook.stem}.py"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def stub_dir(out: Path) -> Path:
    """Stand-ins for the modules that are missing here (IPython; myst_nb, so glue prints)."""
    stubs = out / "_stubs"
    import importlib.util

    for rel, text in STUBS.items():
        if importlib.util.find_spec(rel.split("/")[0]) is None:
            (stubs / rel).parent.mkdir(parents=True, exist_ok=True)
            (stubs / rel).write_text(text)
    (stubs).mkdir(exist_ok=True)
    (stubs / "myst_nb.py").write_text("raise ImportError('myst_nb is not used in scripts')\n")
    return stubs


def run(script: Path, env: dict, timeout: int) -> dict:
    start = time.perf_counter()
    log = script.with_suffix(".log")
    with open(log, "w") as f:
        try:
            rc = subprocess.run([sys.executable, script.name], cwd=script.parent, env=env,
                                stdout=f, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    text = log.read_text(errors="replace")
    failures = re.findall(r"\[claim FAILS\].*|^\w*(?:Error|Failed)\b.*", text, flags=re.M)
    return dict(chapter=script.stem, rc=rc, seconds=time.perf_counter() - start,
                held=text.count("[claim holds]"), failed=text.count("[claim FAILS]"),
                problems=failures[:8], log=str(log))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="*", help="chapter names (default: all in _toc.yml order)")
    ap.add_argument("--budget", default=os.environ.get("RNNBOOK_BUDGET", "cpu"))
    ap.add_argument("--record-claims", action="store_true")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per chapter")
    ap.add_argument("--jobs", type=int, default=1, help="chapters run side by side")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "rnnbook-chapters")
    a = ap.parse_args(argv)
    names = a.chapters or re.findall(r"file:\s*book/(\w+)", (ROOT / "_toc.yml").read_text())
    names = [n for n in names if (ROOT / "book" / f"{n}.ipynb").exists()]
    a.out.mkdir(parents=True, exist_ok=True)
    scripts = [write_script(ROOT / "book" / f"{n}.ipynb", a.out, a.record_claims) for n in names]
    env = dict(os.environ, RNNBOOK_BUDGET=a.budget, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", ""), str(stub_dir(a.out))) if p)
    if "RNNBOOK_DATA" not in env and (ROOT.parent / "shared" / "data").is_dir():
        env["RNNBOOK_DATA"] = str(ROOT.parent / "shared" / "data")
    with ThreadPoolExecutor(max(1, a.jobs)) as pool:
        results = list(pool.map(lambda s: run(s, env, a.timeout), scripts))
    print(f"budget {a.budget}; logs in {a.out}\n")
    print("| chapter | exit | seconds | claims held | claims failed |\n|---|---|---|---|---|")
    for r in results:
        print(f"| {r['chapter']} | {r['rc']} | {r['seconds']:.0f} | {r['held']} | {r['failed']} |")
    for r in results:
        if r["problems"]:
            print(f"\n{r['chapter']}:\n  " + "\n  ".join(r["problems"]))
    return 0 if all(r["rc"] == 0 and r["failed"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
