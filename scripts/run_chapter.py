"""Execute notebooks at the current budget and print their time and text outputs.

    make chapter NB=book/setup.ipynb       # cpu budget; RNNBOOK_BUDGET=smoke for seconds
    RNNBOOK_BUDGET=cpu .venv/bin/python scripts/run_chapter.py book/setup.ipynb [--quiet]

The executed copy goes to /tmp/<name>-executed.ipynb; the source notebook is not touched.
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def summarise(nb) -> None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            if out.output_type == "stream":
                print(f"--- cell {i} ({out.name})\n{out.text.rstrip()[:3000]}")
            elif out.output_type in ("display_data", "execute_result"):
                data = out.data
                if "text/markdown" in data:
                    print(f"--- cell {i} markdown\n{data['text/markdown'][:3000]}")
                elif "image/png" in data:
                    print(f"--- cell {i} [figure]")
                elif "text/plain" in data and not any(k.startswith("application/papermill")
                                                      for k in data):
                    print(f"--- cell {i}\n{data['text/plain'][:1000]}")
            elif out.output_type == "error":
                print(f"--- cell {i} ERROR {out.ename}: {out.evalue}")


def main() -> int:
    quiet = "--quiet" in sys.argv
    status = 0
    for arg in [a for a in sys.argv[1:] if not a.startswith("--")]:
        path = Path(arg)
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=1800, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        try:
            client.execute()
        except Exception as err:  # report and go on with the next notebook
            print(f"FAILED {path}: {type(err).__name__}: {str(err)[-2000:]}")
            status = 1
        seconds = time.perf_counter() - start
        out = Path("/tmp") / f"{path.stem}-executed.ipynb"
        nbformat.write(nb, out)
        if not quiet:
            summarise(nb)
        print(f"== {path}: {seconds:.1f} s (executed copy: {out})")
    return status


if __name__ == "__main__":
    sys.exit(main())
