"""How many characters of code a built page shows without sideways scrolling, per window width.

    python scripts/code_width.py _build/html/book/seq2seq.html [1280 1440 ...]

Opens the page in headless Chromium (Debian's ``chromium`` package; not needed for the build),
measures every code cell's inner width in characters of its own font, and prints, per width:
the code cells, how many of them scroll sideways, the longest line and the characters visible.
The book's code lines are at most 88 characters; ``_static/code-width.css`` makes them fit at
1280 pixels.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

MEASURE = """
window.addEventListener('load', () => {
  const pres = [...document.querySelectorAll('div.cell_input pre')];
  const ctx = document.createElement('canvas').getContext('2d');
  let cut = 0, longest = 0, visible = Infinity;
  for (const p of pres) {
    const cs = getComputedStyle(p); ctx.font = cs.font;
    const inner = p.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    longest = Math.max(longest, ...p.textContent.split('\\n').map(l => l.length));
    if (p.scrollWidth > p.clientWidth + 1) cut++;
    visible = Math.min(visible, Math.floor(inner / ctx.measureText('x').width));
  }
  const r = document.createElement('div'); r.id = 'code-width';
  r.textContent = `${pres.length} ${cut} ${longest} ${visible}`;
  document.body.appendChild(r);
});
"""


def measure(page: Path, width: int) -> tuple[int, int, int, int]:
    """``(code cells, cells that scroll sideways, longest line, characters visible)``."""
    probe = page.with_name(f"_code_width_{page.name}")
    probe.write_text(page.read_text(encoding="utf-8").replace(
        "</head>", f"<script>{MEASURE}</script></head>", 1), encoding="utf-8")
    try:
        dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                              f"--window-size={width},900", "--virtual-time-budget=8000",
                              "--dump-dom", probe.resolve().as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
    finally:
        probe.unlink()
    found = re.search(r'<div id="code-width">(\d+) (\d+) (\d+) (\d+|Infinity)</div>', dom)
    if not found:
        raise RuntimeError(f"{page}: Chromium did not report the code widths")
    cells, cut, longest, visible = found.groups()
    return int(cells), int(cut), int(longest), -1 if visible == "Infinity" else int(visible)


def main(page: str, *widths: str) -> int:
    worst = 0
    for width in map(int, widths or ("1280",)):
        cells, cut, longest, visible = measure(Path(page), width)
        print(f"{page} at {width} px: {cells} code cells, {cut} scroll sideways, "
              f"longest line {longest}, {visible} characters visible")
        worst = max(worst, cut)
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
