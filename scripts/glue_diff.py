"""Compare the glued values of two runs of the book (logs written with ``RNNBOOK_GLUE_LOG``).

    RNNBOOK_GLUE_LOG=/tmp/before.jsonl make chapter NB=book/lstm.ipynb   # on the old commit
    RNNBOOK_GLUE_LOG=/tmp/after.jsonl make chapter NB=book/lstm.ipynb    # on the new one
    python scripts/glue_diff.py /tmp/before.jsonl /tmp/after.jsonl

Prints every name whose value moved, appeared or disappeared, and a count of those that did
not; exits 1 when any moved.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def read(path: str) -> dict[str, str]:
    """The last value glued under each name (a chapter may glue a name twice)."""
    values: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            values[entry["name"]] = entry["value"]
    return values


def main(before: str, after: str) -> int:
    old, new = read(before), read(after)
    moved = [n for n in old if n in new and old[n] != new[n]]
    for n in moved:
        print(f"moved   {n}: {old[n]} -> {new[n]}")
    for n in sorted(set(old) - set(new)):
        print(f"gone    {n} (was {old[n]})")
    for n in sorted(set(new) - set(old)):
        print(f"new     {n} = {new[n]}")
    same = sum(1 for n in old if n in new and old[n] == new[n])
    print(f"{same} unchanged, {len(moved)} moved, {len(set(old) - set(new))} gone, "
          f"{len(set(new) - set(old))} new")
    return 1 if moved else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
