"""Print how long each notebook took to execute in the last book build (from jupyter-cache)."""

import sys
from pathlib import Path

from jupyter_cache import get_cache

build = Path(sys.argv[1] if len(sys.argv) > 1 else "_build")
cache = get_cache(build / ".jupyter_cache")
total = 0.0
for record in cache.list_cache_records():
    seconds = float(record.data.get("execution_seconds", float("nan")))
    total += seconds
    print(f"{seconds:8.1f} s  {Path(record.uri).name}")
print(f"{total:8.1f} s  total")
