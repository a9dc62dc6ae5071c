"""The NER chapter's taggers over several seeds, without the rest of the chapter.

    OMP_NUM_THREADS=1 nice -n 10 python scripts/ner_seeds.py [--seeds 0 1 2]
        [--variants softmax crf words cased lower] [--budget cpu]

Same data split, hyper-parameters and training as ``book/ner.ipynb`` (the ``hp`` of its cpu
budget, copied below: keep them in step), one training per variant and seed. Prints each
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
from rnnbook.tasks.ner import count_invalid, fit_tagger, recall_by_seen, span_scores

HP = dict(embed=64, hidden=64, char_embed=16, char_hidden=32, dropout=0.25,
          word_dropout=0.05, epochs=40, patience=6, batch_size=64, lr=5e-3)
HELD_EVERY = 4  # one block of 25 sentences in HELD_EVERY is held out
VARIANTS = {  # name: (crf, chars, cased, lower_chars)
    "softmax": (False, True, False, False),
    "crf": (True, True, False, False),
    "words": (True, False, False, False),
    "cased": (True, False, True, False),
    "lower": (True, True, False, True),
}


def lowered(pairs):
    return [([w.lower() for w in ws], ts) for ws, ts in pairs]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--out", default="/tmp/ner_seeds.json")
    args = ap.parse_args()
    dev, test = rnnbook.data.load_uner("dev"), rnnbook.data.load_uner("test")
    held = [p for i, p in enumerate(dev) if i // 25 % HELD_EVERY == HELD_EVERY - 1]
    train_pairs = [p for i, p in enumerate(dev) if i // 25 % HELD_EVERY != HELD_EVERY - 1]
    gold = [t for _, t in test]
    sizes = dict(embed_size=HP["embed"], hidden_size=HP["hidden"], char_embed=HP["char_embed"],
                 char_hidden=HP["char_hidden"], dropout=HP["dropout"],
                 word_dropout=HP["word_dropout"])
    rows = {}
    for seed in args.seeds:
        for name in args.variants:
            crf, chars, cased, lower_chars = VARIANTS[name]
            lower = lowered if lower_chars else (lambda p: p)
            t0 = time.time()
            out = fit_tagger(lower(train_pairs), lower(held), lower(test), crf=crf, seed=seed,
                             chars=chars, cased=cased, epochs=HP["epochs"],
                             patience=HP["patience"], lr=HP["lr"],
                             batch_size=HP["batch_size"], log=None, **sizes)
            s = span_scores(gold, out["pred"], ("PER", "ORG", "LOC"))
            seen = recall_by_seen(train_pairs, test, out["pred"])
            row = dict(f1=s["f1"], precision=s["precision"], recall=s["recall"],
                       types={k: v["f1"] for k, v in s["types"].items()},
                       seen=seen["seen"]["recall"], unseen=seen["unseen"]["recall"],
                       invalid=count_invalid(out["pred"])["sentences"],
                       lenient=100 * float(f1_score(gold, out["pred"])),
                       best_epoch=out["run"]["best_epoch"], ran=len(out["run"]["f1"]),
                       held=out["run"]["f1"], seconds=time.time() - t0)
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
