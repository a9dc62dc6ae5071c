"""Write the Colab edition of every chapter: the prose with its numbers and citations filled in.

    python scripts/colab_edition.py _build        # after `jupyter-book build .` (make book does it)

A chapter's Markdown holds MyST roles (``{glue:text}`key:.3f```, ``{cite:p}`key```, ``{doc}`page```)
that only the book build resolves; Jupyter and Colab would show them raw. For each chapter this
script reads the values that the build glued (``_build/jupyter_execute/book/<name>.glue.json``) and
the bibliography (``book/references.bib``), and writes ``_build/html/colab/book/<name>.ipynb``:
the source notebook (code unchanged, outputs empty) with every role replaced by plain Markdown, a
first cell that says which build the numbers come from, and the chapter's references at the end.
It then points each page's "open in Colab" button at that edition, which is published with the
HTML (see the "About this build" page). Running the edition recomputes every number.

The install cell is written here, once (:data:`INSTALL_CELL`): a chapter's own first code cell
only imports the package (a clone of the book has it installed), and each edition gets this cell
in front of it, its source pinned to the commit the book was built from
(``git+https://github.com/rnnbook/rnnbook@<sha>``), so that an edition opened months later
installs the code that computed its numbers, not whatever ``main`` holds then. The commit is
``git rev-parse HEAD`` of this clone, or ``$RNNBOOK_COMMIT`` where the build has no git.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Mapping

import latexcodec  # noqa: F401  (registers the "latex" codec: \\"u -> ü)
from myst_nb.core.variables import format_plain_text
from pybtex.database import Entry, Person, parse_file

ROOT = Path(__file__).resolve().parents[1]
ROLE = re.compile(r"\{(?P<role>[a-z:]+)\}`(?P<body>[^`]*)`")
# Code is left as it is: fenced blocks (not directives) and inline code spans.
CODE = re.compile(r"(?P<code>^```(?!\{).*?^```[ \t]*$|``[^\n]+?``|`[^`\n]+`)", re.M | re.S)
TOKEN = re.compile(f"{CODE.pattern}|{ROLE.pattern}", re.M | re.S)
FENCE = re.compile(r"^```\{(?P<kind>\w+)\}[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
EDITION = "colab"
# The install source of the edition's first cell (``REPO = "..."``, the moving default branch
# until pinned), a string of its own in Python source or in a page's highlighted HTML. The pip
# lines in the prose ("rnnbook @ git+...") are instructions for the reader, not what runs.
INSTALL_URL = "git+https://github.com/rnnbook/rnnbook"
# The one install cell of the book: the first code cell of every Colab edition.
INSTALL_CELL = f'''# Install the book's package (Colab has torch) at the commit this edition
# was built from, so that it runs the code that computed the text's numbers.
import importlib.util, subprocess, sys
REPO = "{INSTALL_URL}"
if importlib.util.find_spec("rnnbook") is None:
    src = f"rnnbook[book] @ {{REPO}}"
    if subprocess.run([sys.executable, "-m", "pip", "install", "-q", src]).returncode:
        raise SystemExit(f"Could not install {{src}}. Offline? Connect, then run again.")
'''
UNPINNED = re.compile(r'(?:(?<=")|(?<=&quot;)|(?<=&#34;))' + re.escape(INSTALL_URL)
                      + r'(?="|&quot;|&#34;)')
SHA = re.compile(r"[0-9a-f]{40}")
# code that installs a package (a chapter's own first cell must only import it)
INSTALLS = re.compile(r"^\s*[%!]pip\b|\bsubprocess\b|\bfind_spec\b", re.M)


class EditionError(ValueError):
    """A role that the edition cannot render (an unknown glue key, citation or role)."""


# ---- citations -------------------------------------------------------------------------------

def _plain(latex: str) -> str:
    """BibTeX text as plain Unicode: ``Ha\\c{s}im`` -> ``Haşim``, braces dropped."""
    return codecs.decode(latex, "ulatex").replace("{", "").replace("}", "")


def _name(person: Person, full: bool) -> str:
    parts = person.prelast_names + person.last_names
    if full:
        parts = person.first_names + person.middle_names + parts
    return _plain(" ".join(parts))


def _surnames(entry: Entry) -> str:
    names = [_name(p, full=False) for p in entry.persons.get("author", [])]
    if not names:
        return entry.fields.get("title", "?")
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def cite(keys: str, mode: str, bib: Mapping[str, Entry]) -> str:
    """``{cite:p}`a,b``` -> "(Smith 2001; Jones and Lee 2002)"; ``{cite:t}`a``` -> "Smith (2001)".
    """
    parts = []
    for key in (k.strip() for k in keys.split(",")):
        if key not in bib:
            raise EditionError(f"citation {key!r} is not in book/references.bib")
        entry = bib[key]
        year = entry.fields.get("year", "n.d.")
        parts.append((_surnames(entry), year))
    if mode == "p":
        return "(" + "; ".join(f"{who} {year}" for who, year in parts) + ")"
    if mode == "t":
        return "; ".join(f"{who} ({year})" for who, year in parts)
    raise EditionError(f"unknown citation role 'cite:{mode}'; use cite:p or cite:t")


def reference(entry: Entry) -> str:
    """One bibliography line in Markdown: authors (year). *Title*. Venue. link."""
    authors = ", ".join(_name(p, full=True) for p in entry.persons.get("author", []))
    f = {k: _plain(v) for k, v in entry.fields.items()}
    venue = f.get("journal") or f.get("booktitle") or f.get("publisher") or ""
    link = (f"https://doi.org/{f['doi']}" if "doi" in f
            else f"https://arxiv.org/abs/{f['eprint']}" if "eprint" in f else f.get("url", ""))
    text = f"{authors} ({f.get('year', 'n.d.')}). *{f.get('title', '')}*."
    return " ".join(x for x in (text, f"{venue}." if venue else "", link) if x)


# ---- roles -------------------------------------------------------------------------------------

def glue_text(body: str, values: Mapping[str, str], page: str) -> str:
    """``key:fmt`` or ``page.ipynb::key:fmt`` -> the value formatted as the book formats it."""
    if "::" in body:
        page, body = body.split("::", 1)
        page = Path(page).stem
    key, _, fmt = body.partition(":")
    full = f"{page}::{key}"
    if full not in values:
        raise EditionError(f"{page}: no glued value {key!r} (was the chapter built?)")
    return format_plain_text(values[full], fmt)


def render_markdown(text: str, page: str, values: Mapping[str, str],
                    bib: Mapping[str, Entry], titles: Mapping[str, str],
                    cited: list[str]) -> str:
    """``text`` with every MyST role and directive replaced by plain Markdown.

    ``values`` maps ``"<page>::<key>"`` to the text/plain value that the build glued; ``titles``
    maps a page name to its title; the keys of each citation are appended to ``cited``.
    """
    def directive(m: re.Match) -> str:
        body = "\n".join("> " + line if line else ">" for line in m["body"].rstrip().split("\n"))
        return f"> **{m['kind'].capitalize()}.**\n>\n{body}"

    def role(m: re.Match) -> str:
        if m["code"]:
            return m["code"]
        kind, body = m["role"], m["body"]
        if kind == "glue:text":
            return glue_text(body, values, page)
        if kind.startswith("cite:"):
            cited.extend(k.strip() for k in body.split(","))
            return cite(body, kind.split(":", 1)[1], bib)
        if kind == "math":          # inline math: Jupyter and Colab render $...$
            return f"${body}$"
        if kind == "doc":
            label = re.fullmatch(r"(?P<text>.*?)\s*<(?P<target>[^>]+)>", body)
            if label:
                return label["text"]
            return f"*{titles.get(Path(body).name, body)}*"
        raise EditionError(f"{page}: the Colab edition cannot render the role {{{kind}}}")

    return TOKEN.sub(role, FENCE.sub(directive, text))


def roles_left(text: str) -> list[str]:
    """The MyST roles and directives in ``text`` outside code (none in a rendered edition)."""
    roles = [f"{{{m['role']}}}`" for m in TOKEN.finditer(text) if m["role"]]
    return roles + re.findall(r"^```\{\w+\}", CODE.sub("", text), re.M)


# ---- chapters ----------------------------------------------------------------------------------

def _title(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            m = re.search(r"^# (.+)$", "".join(cell["source"]), re.M)
            if m:
                return m.group(1).strip()
    return ""


def _glued(build: Path, pages: list[str]) -> dict[str, str]:
    values = {}
    for page in pages:
        path = build / "jupyter_execute" / "book" / f"{page}.glue.json"
        if path.exists():
            for key, out in json.loads(path.read_text(encoding="utf-8")).items():
                values[f"{page}::{key}"] = out["data"].get("text/plain", "")
    return values


def install_cell(commit: str) -> dict:
    """:data:`INSTALL_CELL` as a notebook cell, its source pinned to ``commit``."""
    text, pinned = pin_install(INSTALL_CELL, commit)
    if pinned != 1:
        raise EditionError(f"the install cell names {INSTALL_URL} {pinned} times, not once: "
                           "it cannot be pinned to the build")
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": text.splitlines(keepends=True)}


def edition(nb: dict, page: str, values: Mapping[str, str], bib: Mapping[str, Entry],
            titles: Mapping[str, str], stamp: str, commit: str) -> dict:
    """The Colab edition of one chapter notebook (a new dict; ``nb`` is not changed): roles
    rendered, :data:`INSTALL_CELL` pinned to ``commit`` before the first code cell, a first
    cell naming the build. A chapter that installs anything itself is refused: the edition's
    cell is the book's one install cell."""
    cited: list[str] = []
    cells = []
    for cell in nb["cells"]:
        cell = dict(cell)
        if cell["cell_type"] == "markdown":
            text = render_markdown("".join(cell["source"]), page, values, bib, titles, cited)
            cell["source"] = text.splitlines(keepends=True)
        elif cell["cell_type"] == "code" and not any(c["cell_type"] == "code" for c in cells):
            if INSTALLS.search("".join(cell["source"])):
                raise EditionError(f"{page}: the first code cell installs the package itself; "
                                   "the edition's install cell (INSTALL_CELL) does that")
            cells.append(install_cell(commit))
        cells.append(cell)
    note = ("*The Colab edition of this chapter. The numbers in the text are those of the book "
            f"build of {stamp} from commit `{commit[:12]}`, which the first cell installs; "
            "running the notebook computes them again (at the `gpu` budget when a GPU is "
            "present, see the setup chapter), so they may differ a little.*")
    cells.insert(0, {"cell_type": "markdown", "metadata": {}, "source": [note]})
    if cited:
        lines = ["## References\n", "\n"]
        lines += [f"- {reference(bib[k])}\n" for k in dict.fromkeys(cited)]
        cells.append({"cell_type": "markdown", "metadata": {}, "source": lines})
    return dict(nb, cells=cells)


def build_commit(root: Path = ROOT) -> str:
    """The full sha of the commit the book is built from: ``$RNNBOOK_COMMIT``, else the clone's
    ``HEAD``. A clear error where neither is known (the edition would install moving code)."""
    sha = os.environ.get("RNNBOOK_COMMIT", "").strip().lower()
    if not sha:
        try:
            sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                 text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as e:
            raise EditionError(
                f"cannot tell which commit the book was built from ({e}): build from a git "
                "clone, or set RNNBOOK_COMMIT to the commit's full sha") from e
    if not SHA.fullmatch(sha):
        raise EditionError(f"{sha!r} is not a full 40-character commit sha: set RNNBOOK_COMMIT "
                           "to one, or build from a git clone")
    return sha


def pin_install(text: str, commit: str) -> tuple[str, int]:
    """``text`` with every install source ``git+https://github.com/rnnbook/rnnbook`` pinned to
    ``@commit``; returns the new text and how many were pinned."""
    if not SHA.fullmatch(commit):
        raise EditionError(f"{commit!r} is not a full 40-character commit sha")
    return UNPINNED.subn(f"{INSTALL_URL}@{commit}", text)


def point_colab_button(page_html: Path, page: str) -> bool:
    """Make the page's Colab launch link open ``colab/book/<page>.ipynb`` on the published site.

    The theme links to ``.../blob/<branch>/book/<page>.ipynb``; the edition lives beside the
    HTML, which is published on the ``gh-pages`` branch. Returns whether a link was changed.
    """
    text = page_html.read_text(encoding="utf-8")
    new, n = re.subn(r"(https://colab\.research\.google\.com/github/[^/\"]+/[^/\"]+/blob/)"
                     rf"[^/\"]+/book/{re.escape(page)}\.ipynb",
                     rf"\1gh-pages/{EDITION}/book/{page}.ipynb", text)
    if n:
        page_html.write_text(new, encoding="utf-8")
    return bool(n)


def main(build: str = "_build") -> int:
    build_dir = Path(build)
    chapters = sorted((ROOT / "book").glob("*.ipynb"))
    notebooks = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in chapters}
    titles = {page: _title(nb) for page, nb in notebooks.items()}
    values = _glued(build_dir, list(notebooks))
    bib = parse_file(str(ROOT / "book" / "references.bib")).entries
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    commit = build_commit()
    out = build_dir / "html" / EDITION / "book"
    out.mkdir(parents=True, exist_ok=True)
    for page, nb in notebooks.items():
        html = build_dir / "html" / "book" / f"{page}.html"
        if not html.exists():
            continue                    # not in the table of contents
        text = json.dumps(edition(nb, page, values, bib, titles, stamp, commit), indent=1,
                          ensure_ascii=False)
        (out / f"{page}.ipynb").write_text(text + "\n", encoding="utf-8")
        linked = point_colab_button(html, page)
        print(f"{out / page}.ipynb" + ("" if linked else "  (no Colab button found)"))
    for html in (build_dir / "html").rglob("*.html"):   # install lines shown on any page
        text, pinned = pin_install(html.read_text(encoding="utf-8"), commit)
        if pinned:
            html.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
