"""Check the built HTML pages for what a reader offline would miss.

    python .ci/check_pages.py _build

Every page that has math loads MathJax from the book itself (``_static/mathjax``), and no page
loads scripts from a CDN (MathJax, require.js, the Jupyter widget manager). Every chapter's
"open in Colab" button opens its Colab edition (``scripts/colab_edition.py``), which exists beside
the HTML and has no MyST role left in its prose. Every figure of a chapter (a code cell with a
``mystnb.figure`` caption) is in its page as an image: a build whose kernels used a non-inline
matplotlib backend (``MPLBACKEND=Agg``) would silently have none.
"""

import functools
import importlib.util
import json
import re
import sys
from pathlib import Path

CDN = re.compile(r"<script[^>]+src=\"https?://[^\"]+\"")
PINNED = re.compile(r"git\+https://github\.com/rnnbook/rnnbook@[0-9a-f]{40}")
# the first cell's install source, a string of its own ("..." or &quot;...&quot; in a page)
UNPINNED = re.compile(r'(?:"|&quot;)git\+https://github\.com/rnnbook/rnnbook(?:"|&quot;)')
COLAB = re.compile(r"https://colab\.research\.google\.com/github/[^\"]+\.ipynb")
ROOT = Path(__file__).resolve().parents[1]
EDITION_SCRIPT = ROOT / "scripts" / "colab_edition.py"


@functools.cache
def _roles_left():
    spec = importlib.util.spec_from_file_location("colab_edition", EDITION_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.roles_left


def figure_problems(page: Path, text: str) -> list[str]:
    source = ROOT / "book" / f"{page.stem}.ipynb"
    if not source.exists():
        return []
    cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
    want = sum(1 for c in cells if c["cell_type"] == "code"
               and "figure" in c.get("metadata", {}).get("mystnb", {}))
    have = len(re.findall(r"<figure[^>]*>\s*(?:<a [^>]*>\s*)?<img ", text))
    return [f"{page}: {have} figures with an image, the chapter has {want}"] if have < want else []


def colab_problems(build: Path, page: Path, text: str) -> list[str]:
    links = set(COLAB.findall(text))
    if not links:
        return []
    want = f"/blob/gh-pages/colab/book/{page.stem}.ipynb"
    edition = build / "html" / "colab" / "book" / f"{page.stem}.ipynb"
    problems = [f"{page}: Colab button opens {link}, not the Colab edition"
                for link in links if not link.endswith(want)]
    if not edition.exists():
        return problems + [f"{page}: no Colab edition {edition}"]
    cells = json.loads(edition.read_text(encoding="utf-8"))["cells"]
    roles_left = _roles_left()
    left = [m for c in cells if c["cell_type"] == "markdown"
            for m in roles_left("".join(c["source"]))]
    problems += [f"{edition}: roles left in the prose: {left[:5]}"] if left else []
    first = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
    if not PINNED.search(first):
        problems.append(f"{edition}: the install line does not name the build's commit")
    if UNPINNED.search(text):
        problems.append(f"{page}: the install line shown does not name the build's commit")
    return problems


def main(build: str) -> int:
    pages = sorted(Path(build, "html").rglob("*.html"))
    problems = []
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        problems += [f"{page}: loads {m.group(0)}" for m in CDN.finditer(text)]
        problems += colab_problems(Path(build), page, text)
        problems += figure_problems(page, text)
        if "cell_input" in text and "_static/code-width.css" not in text:
            problems.append(f"{page}: has code cells but not the code-width style")
        if ("math notranslate" in text or "MathJax" in text) and "_static/mathjax/" not in text:
            problems.append(f"{page}: has math but no local MathJax")
    print(f"{len(pages)} pages checked")
    for p in problems:
        print(p)
    return 1 if problems or not pages else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "_build"))
