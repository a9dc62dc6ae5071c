"""Check the built HTML pages for what a reader offline would miss.

    python .ci/check_pages.py _build

Every page that has math loads MathJax from the book itself (``_static/mathjax``), and no page
loads scripts from a CDN (MathJax, require.js, the Jupyter widget manager).
"""

import re
import sys
from pathlib import Path

CDN = re.compile(r"<script[^>]+src=\"https?://[^\"]+\"")


def main(build: str) -> int:
    pages = sorted(Path(build, "html").rglob("*.html"))
    problems = []
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        problems += [f"{page}: loads {m.group(0)}" for m in CDN.finditer(text)]
        if ("math notranslate" in text or "MathJax" in text) and "_static/mathjax/" not in text:
            problems.append(f"{page}: has math but no local MathJax")
    print(f"{len(pages)} pages checked")
    for p in problems:
        print(p)
    return 1 if problems or not pages else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "_build"))
