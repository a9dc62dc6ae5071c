"""One word-level NPLM trial on the NPLM chapter's tinyshakespeare split, against Kneser-Ney.

Used to choose the chapter's settings. It builds the same split as ``book/nplm.ipynb``, fits
Kneser-Ney models of orders 3 to 5 (the best on validation is the baseline), trains one NPLM
with ``lm.fit_lm`` and prints one JSON line: test perplexities, their ratio, the training
time and the validation perplexity at each of the ten evaluations. Example (the chapter's cpu
settings, one thread, so two trials can run side by side on two cores)::

    RNNBOOK_DATA=../shared/data python scripts/nplm_trial.py --min-freq 3 --hidden 64 \\
        --steps 1000 --unigram-start --threads 1
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

import rnnbook
from rnnbook.corpora import word_corpus
from rnnbook.models import NPLM
from rnnbook.ngram import KneserNeyLM
from rnnbook.tasks import lm


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--context", type=int, default=3)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--direct", action="store_true")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--min-freq", type=int, default=3)
    p.add_argument("--unigram-start", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)

    words = word_corpus(rnnbook.data.load_tinyshakespeare(), min_freq=a.min_freq)
    V = len(words.vocab)
    kn = min((KneserNeyLM(k, V, discount=None).fit(words.train) for k in (3, 4, 5)),
             key=lambda m: m.cross_entropy(words.val))
    kn_ppl = kn.perplexity(words.test)

    rnnbook.seed_everything(a.seed)
    model = NPLM(V, a.context, a.embed, a.hidden, direct=a.direct, dropout=a.dropout)
    if a.unigram_start:
        model.start_from_unigram(words.train)
    model.to(rnnbook.device())
    t0 = time.perf_counter()
    hist = lm.fit_lm(model, words.train, words.val, steps=a.steps, batch_size=a.batch,
                          seq_len=a.seq, lr=a.lr, weight_decay=a.weight_decay, log=None)
    seconds = time.perf_counter() - t0
    ppl = math.exp(lm.cross_entropy(lm.token_log_probs(model, words.test)))
    print(json.dumps(dict(vars(a), vocab=V, kn_order=kn.order, kn_test_ppl=round(kn_ppl, 1),
                          nplm_test_ppl=round(ppl, 1), ratio=round(ppl / kn_ppl, 3),
                          train_seconds=round(hist.seconds), wall_seconds=round(seconds),
                          val_ppl=[round(math.exp(v), 1) for v in hist.val_loss if v is not None])))


if __name__ == "__main__":
    main()
