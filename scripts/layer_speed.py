"""Forward + backward time of the book's LSTM against ``torch.nn.LSTM``, by sequence length.

Batch 32, input 64, hidden 256, ``batch_first=True``, float32, one CPU thread; each entry is the
best of ``--repeats`` runs after one warm-up run. Prints a Markdown table (``--json`` for JSON).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/layer_speed.py
    OMP_NUM_THREADS=1 .venv/bin/python scripts/layer_speed.py --src /tmp/old --json

``--src DIR`` imports ``rnnbook`` from ``DIR`` (a folder holding a copy of the package), to time
another version of the layers against the same ``torch.nn.LSTM``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def best_time(layer, x, repeats: int) -> float:
    """Best wall time (s) of ``layer(x)`` and the backward pass of ``output.sum()``."""
    times = []
    for i in range(repeats + 1):  # the first run is the warm-up
        layer.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        out, _ = layer(x)
        out.sum().backward()
        if i:
            times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", help="folder to import rnnbook from (default: installed)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--input", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args()
    if args.src:
        sys.path.insert(0, args.src)

    import torch
    from torch import nn

    import rnnbook.layers
    from rnnbook.layers import LSTM

    torch.set_num_threads(1)
    torch.manual_seed(0)
    ours = LSTM(args.input, args.hidden, batch_first=True)
    ref = nn.LSTM(args.input, args.hidden, batch_first=True)
    ref.load_state_dict(ours.state_dict())
    rows = []
    for steps in args.lengths:
        x = torch.randn(args.batch, steps, args.input)
        rows.append({"T": steps, "scratch_s": best_time(ours, x, args.repeats),
                     "torch_s": best_time(ref, x, args.repeats)})
    if args.json:
        print(json.dumps({"rnnbook": rnnbook.layers.__file__, "torch": torch.__version__,
                          "batch": args.batch, "input": args.input, "hidden": args.hidden,
                          "rows": rows}, indent=1))
        return
    print(f"rnnbook from {rnnbook.layers.__file__}, torch {torch.__version__}, batch "
          f"{args.batch}, input {args.input}, hidden {args.hidden}, forward + backward, "
          f"best of {args.repeats}\n")
    print("| T | scratch LSTM (s) | torch.nn.LSTM (s) | ratio |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['T']} | {r['scratch_s']:.3f} | {r['torch_s']:.3f} | "
              f"{r['scratch_s'] / r['torch_s']:.1f} |")


if __name__ == "__main__":
    main()
