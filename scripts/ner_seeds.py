"""The NER chapter's taggers over several seeds, without the rest of the chapter.

    OMP_NUM_THREADS=1 nice -n 10 python scripts/ner_seeds.py [--seeds 0 1 2]
        [--variants softmax crf words cased lower] [--budget cpu]

Same data split (``held_out_split``), hyper-parameters (``HPARAMS`` of the chosen budget,
through ``recipe``) and training (``fit_tagger``) as ``book/ner.ipynb``: both take them from
``rnnbook.tasks.ner``. One training per variant and seed. Prints each
run's test span F1, best epoch and epochs run, then for every claim that the chapter makes
about these models its value per seed (mean and spread), so that a claim is only ``expect``ed
when it holds in every seed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from seqeval.metrics import f1_score

import rnnbook
from rnnbook.tasks.ner import (
    HPARAMS,
    best_epoch,
    count_invalid,
    fit_tagger,
    held_out_split,
    recall_by_seen,
    recipe,
    span_scores,
)

VARIANTS = {  # name: fit_tagger's switches, as the chapter's variants
    "softmax": dict(crf=False),
    "crf": dict(crf=True),
    "words": dict(crf=True, chars=False),
    "cased": dict(crf=True, chars=False, cased=True),
    "lower": dict(crf=True, lower_text=True),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--budget", choices=list(HPARAMS), default="cpu")
    ap.add_argument("--out", default="/tmp/ner_seeds.json")
    args = ap.parse_args()
    dev, test = rnnbook.data.load_uner("dev"), rnnbook.data.load_uner("test")
    train_pairs, held = held_out_split(dev, every=4, block=25)  # the chapter's split
    gold = [t for _, t in test]
    hp = HPARAMS[args.budget]
    rows = {}
    for seed in args.seeds:
        for name in args.variants:
            t0 = time.time()
            out = fit_tagger(train_pairs, held, test, seed=seed, log=None, **VARIANTS[name],
                             **recipe(hp))
            s = span_scores(gold, out["pred"], ("PER", "ORG", "LOC"))
            seen = recall_by_seen(train_pairs, test, out["pred"])
            row = dict(f1=s["f1"], precision=s["precision"], recall=s["recall"],
                       types={k: v["f1"] for k, v in s["types"].items()},
                       seen=seen["seen"]["recall"], unseen=seen["unseen"]["recall"],
                       invalid=count_invalid(out["pred"])["sentences"],
                       lenient=100 * float(f1_score(gold, out["pred"])),
                       best_epoch=best_epoch(out["history"]), ran=len(out["history"].scores),
                       held=out["history"].scores, seconds=time.time() - t0)
            rows[f"{name}/{seed}"] = row
            print(f"seed {seed} {name:8s} F1 {row['f1']:.1f} P {row['precision']:.1f} "
                  f"R {row['recall']:.1f} best {row['best_epoch']}/{row['ran']} "
                  f"invalid {row['invalid']} lenient {row['lenient']:.1f} "
                  f"unseen {row['unseen']:.1f} seen {row['seen']:.1f} "
                  f"types {json.dumps({k: round(v, 1) for k, v in row['types'].items()})} "
                  f"{row['seconds']:.0f}s", flush=True)
            with open(args.out, "w") as f:
                json.dump(rows, f)
    print(f"held-out: {len(held)} sentences, train: {len(train_pairs)}")
    for name in args.variants:
        f1 = [rows[f"{name}/{s}"]["f1"] for s in args.seeds]
        sd = statistics.stdev(f1) if len(f1) > 1 else 0.0
        print(f"{name:8s} F1 mean {statistics.mean(f1):.1f} sd {sd:.1f} "
              f"range {min(f1):.1f}..{max(f1):.1f}")


if __name__ == "__main__":
    main()
