"""Named-entity recognition as IOB2 tagging: a dictionary baseline, the CRF's loss and
prediction, span scores (``seqeval``, strict IOB2), invalid sequences, seen versus unseen.

Data and batches are those of :mod:`rnnbook.tasks.tagging`: ``(words, tags)`` pairs with tags
``O``, ``B-TYPE``, ``I-TYPE``; :class:`~rnnbook.tasks.tagging.TaggedBatches` pads them.
``seqeval`` (in the ``book`` extra) is imported where it is used, so ``import rnnbook`` works
without it.
"""

from __future__ import annotations

import copy
from collections import Counter, defaultdict
from typing import Any, Callable, Optional, Sequence

import torch
from torch import nn

from ..config import seed_everything
from ..history import History
from ..layers import length_mask
from ..models.crf import CRFTagger, iob2_constraints
from ..models.tagger import Tagger
from ..text import IGNORE
from ..train import train
from .tagging import Pair, TaggedBatches, TaggingLoss, TaggingVocabs, predict

Span = tuple[str, int, int]  # (type, first word, last word), as seqeval's get_entities

#: The NER chapter's hyper-parameters per budget (``rnnbook.hparams(**HPARAMS)``), in one place
#: for ``book/ner.ipynb`` and ``scripts/ner_seeds.py``; :func:`recipe` maps them to
#: :func:`fit_tagger`'s keywords.
HPARAMS: dict[str, dict[str, Any]] = dict(
    smoke=dict(embed=16, hidden=16, char_embed=8, char_hidden=8, dropout=0.25,
               word_dropout=0.05, epochs=1, patience=1, batch_size=64, lr=5e-3,
               train_sentences=100, test_sentences=100),
    cpu=dict(embed=64, hidden=64, char_embed=16, char_hidden=32, dropout=0.25,
             word_dropout=0.05, epochs=40, patience=6, batch_size=64, lr=5e-3,
             train_sentences=None, test_sentences=None),
    gpu=dict(embed=100, hidden=128, char_embed=32, char_hidden=64, dropout=0.33,
             word_dropout=0.05, epochs=60, patience=8, batch_size=32, lr=2e-3,
             train_sentences=None, test_sentences=None),
)


def held_out_split(pairs: Sequence[Pair], every: int = 4, block: int = 25
                   ) -> tuple[list[Pair], list[Pair]]:
    """``(train, held)``: the sentences in blocks of ``block`` in a row, and the last block of
    every ``every`` held out (to choose the epoch on), the others to train. Blocks keep
    neighbouring sentences (often of one document) on one side."""
    if every < 2 or block < 1:
        raise ValueError(f"need every >= 2 and block >= 1, got every={every}, block={block}")
    held = [p for i, p in enumerate(pairs) if i // block % every == every - 1]
    train_pairs = [p for i, p in enumerate(pairs) if i // block % every != every - 1]
    return train_pairs, held


def recipe(hp: Any) -> dict[str, Any]:
    """:func:`fit_tagger`'s keywords from the chapter's hyper-parameters (:data:`HPARAMS`):
    training (``epochs``, ``patience``, ``lr``, ``batch_size``) and the tagger's sizes."""
    return dict(epochs=hp["epochs"], patience=hp["patience"], lr=hp["lr"],
                batch_size=hp["batch_size"], embed_size=hp["embed"], hidden_size=hp["hidden"],
                char_embed=hp["char_embed"], char_hidden=hp["char_hidden"],
                dropout=hp["dropout"], word_dropout=hp["word_dropout"])


def spans(tags: Sequence[str]) -> list[Span]:
    """The entities of an IOB2 sequence, ``(type, start, end)`` with ``end`` inclusive (as
    seqeval's ``get_entities``: an ``I-`` tag that continues nothing opens one)."""
    from seqeval.metrics.sequence_labeling import get_entities

    return [(t, a, b) for t, a, b in get_entities(list(tags))]


class DictionaryTagger:
    """The baseline: remember every entity string of the training data with its most frequent
    type, then tag every occurrence of a known string in new text, longest match first.

    Matching is case-sensitive (``Apple`` is not ``apple``); ties between types go to the
    alphabetically first, so the table does not depend on the order of the data.
    """

    def __init__(self) -> None:
        self.table: dict[tuple[str, ...], str] = {}
        self.longest = 0

    def fit(self, pairs: Sequence[Pair]) -> DictionaryTagger:
        counts: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for words, tags in pairs:
            for kind, a, b in spans(tags):
                counts[tuple(words[a:b + 1])][kind] += 1
        self.table = {s: min(c, key=lambda k: (-c[k], k)) for s, c in counts.items()}
        self.longest = max((len(s) for s in self.table), default=0)
        return self

    def tag(self, words: Sequence[str]) -> list[str]:
        """IOB2 tags for one sentence: at each word, the longest known string that starts
        there (if any) becomes an entity, and the search continues after it."""
        out, i = ["O"] * len(words), 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                kind = self.table.get(tuple(words[i:i + n]))
                if kind is not None:
                    out[i:i + n] = ["B-" + kind] + ["I-" + kind] * (n - 1)
                    i += n
                    break
            else:
                i += 1
        return out

    def predict(self, pairs: Sequence[Pair]) -> list[list[str]]:
        return [self.tag(words) for words, _ in pairs]


def invalid_transitions(tags: Sequence[str]) -> int:
    """How many ``I-X`` tags of a sequence do not follow ``B-X`` or ``I-X`` (IOB2 forbids
    ``O I-X``, ``B-Y I-X``, ``I-Y I-X`` and a sentence that starts with ``I-X``)."""
    bad, prev = 0, "O"
    for tag in tags:
        if tag.startswith("I-") and prev not in ("B-" + tag[2:], tag):
            bad += 1
        prev = tag
    return bad


def count_invalid(predicted: Sequence[Sequence[str]]) -> dict[str, int]:
    """``sentences`` with at least one invalid transition, and ``transitions`` in all."""
    counts = [invalid_transitions(tags) for tags in predicted]
    return {"sentences": sum(c > 0 for c in counts), "transitions": sum(counts)}


def span_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                types: Sequence[str] = ()) -> dict[str, Any]:
    """Span precision, recall and F1 in percent (``seqeval``, strict IOB2: an entity counts
    only with its type and both boundaries right, and an ``I-`` tag that does not continue
    an entity starts none), overall (micro average) and per type.

    Returns ``{"precision", "recall", "f1", "support", "types": {TYPE: {...}}}``; ``types``
    are always among the types (``nan`` scores if neither gold nor prediction has one).
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    for g, p in zip(gold, predicted):
        if len(g) != len(p):
            raise ValueError(f"a sentence has {len(g)} gold tags and {len(p)} predicted")
    if not any(len(g) for g in gold):
        raise ValueError("no tags to score")
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    report = classification_report([list(g) for g in gold], [list(p) for p in predicted],
                                   mode="strict", scheme=IOB2, output_dict=True,
                                   zero_division=0)

    def pick(r: dict) -> dict[str, float]:
        return {"precision": 100 * float(r["precision"]), "recall": 100 * float(r["recall"]),
                "f1": 100 * float(r["f1-score"]), "support": int(r["support"])}

    per_type = {k: pick(v) for k, v in report.items() if not k.endswith(" avg")}
    nan = float("nan")
    for kind in types:
        per_type.setdefault(kind, {"precision": nan, "recall": nan, "f1": nan, "support": 0})
    return {**pick(report["micro avg"]), "types": dict(sorted(per_type.items()))}


class CRFLoss:
    """The CRF's negative log-likelihood of the gold tags, per token: ``sum_b -log p(y_b |
    x_b) / tokens``, for :func:`rnnbook.train` and :func:`rnnbook.evaluate`.

    ``loss_fn(model, batch) -> (loss, tokens)`` for a :class:`~rnnbook.tasks.tagging.
    TaggedBatch` and a model with ``nll(words, lengths, tags, chars)``
    (:class:`~rnnbook.models.crf.CRFTagger`).
    """

    def __call__(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        words, lengths, tags, chars = batch
        real = length_mask(lengths, tags.size(1), tags.device)
        if bool((tags[real] < 0).any()):
            raise ValueError(f"a tag is unknown ({IGNORE}): the CRF scores whole tag paths, so "
                             "build the tag vocabulary from every tag of the data")
        tokens = int(lengths.sum())
        return model.nll(words, lengths, tags, chars).sum() / tokens, tokens


def build_tagger(vocabs: TaggingVocabs, crf: bool = True, chars: bool = True, **sizes: Any
                 ) -> nn.Module:
    """A BiLSTM tagger over ``vocabs``: a :class:`~rnnbook.models.Tagger` with a softmax per
    word (``crf=False``) or a :class:`~rnnbook.models.crf.CRFTagger` whose CRF forbids the
    transitions IOB2 forbids; ``chars`` adds the character encoder. ``sizes`` go to the
    tagger (``embed_size``, ``hidden_size``, ``dropout``, ``word_dropout``, ``char_embed``,
    ``char_hidden``, ...)."""
    tagger = Tagger(len(vocabs.words), len(vocabs.tags),
                    num_chars=len(vocabs.chars) if chars else 0, **sizes)
    return CRFTagger(tagger, iob2_constraints(vocabs.tags.itos)) if crf else tagger


def train_and_choose(model: nn.Module, batches: TaggedBatches, loss_fn: Callable,
                     held_out: Sequence[Pair], vocabs: TaggingVocabs, epochs: int,
                     lr: float, patience: Optional[int] = None,
                     log: Optional[Callable[[str], None]] = print) -> History:
    """Train up to ``epochs`` passes with :func:`rnnbook.train` (Adam, one optimiser
    throughout), score span F1 on ``held_out`` after each (``keep_best``), and give the model
    back the weights of its best epoch (the first with the highest held-out F1; the held-out
    sentences are never trained on). Early stopping: with ``patience`` set, training stops
    once ``patience`` epochs in a row have not beaten the best held-out F1 so far.

    Returns the run's :class:`~rnnbook.history.History`: ``scores`` holds the held-out F1 of
    every epoch run, ``best_step`` the step of the best (:func:`best_epoch` counts it in
    epochs), ``seconds`` the training time.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, not {epochs}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be at least 1 epoch (or None: no early stop), "
                         f"not {patience}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gold = [tags for _, tags in held_out]

    def held_out_f1(m: nn.Module) -> float:
        return span_scores(gold, predict(m, held_out, vocabs))["f1"]

    history, best_state = History(), None
    for epoch in range(1, epochs + 1):  # an epoch per call: patience may stop between them
        train(model, batches, loss_fn, epochs=1, optimizer=optimizer, keep_best=held_out_f1,
              history=history, progress=False, log=None)
        if history.best_step == history.score_steps[-1]:  # this epoch is the best so far
            best_state = copy.deepcopy(model.state_dict())
        if log is not None:
            log(f"epoch {epoch}: train loss {history.train_loss[-1]:.3f}, "
                f"held-out span F1 {history.scores[-1]:.1f}")
        if patience is not None and epoch - best_epoch(history) >= patience:
            break
    model.load_state_dict(best_state)
    return history


def best_epoch(history: History) -> int:
    """The epoch (1-based) of the best score of a :func:`train_and_choose` run, which scores
    once per epoch."""
    if history.best_step is None:
        raise ValueError("the run has no scores: it was not trained with keep_best")
    return 1 + history.score_steps.index(history.best_step)


def lowered(pairs: Sequence[Pair]) -> list[Pair]:
    """The sentences with every word lower-cased (tags unchanged)."""
    return [([w.lower() for w in ws], list(ts)) for ws, ts in pairs]


def fit_tagger(train_pairs: Sequence[Pair], held_out: Sequence[Pair], test_pairs: Sequence[Pair],
               *, crf: bool, seed: int, chars: bool = True, cased: bool = False,
               lower_text: bool = False, epochs: int,
               lr: float, batch_size: int, patience: Optional[int] = None,
               device: Optional[torch.device] = None,
               log: Optional[Callable[[str], None]] = print, **sizes: Any) -> dict[str, Any]:
    """Build vocabularies from ``train_pairs`` (words lower-cased unless ``cased``), a tagger
    (:func:`build_tagger`) with its weights, dropout and batch order drawn from ``seed``,
    train it with :func:`train_and_choose` (at most ``epochs``, early stopping after
    ``patience``) and tag ``test_pairs``. With ``lower_text`` every sentence is
    :func:`lowered` first, so the characters lose their case too.

    Returns ``{"model", "vocabs", "history", "pred"}`` (``history``: :func:`train_and_choose`'s
    :class:`~rnnbook.history.History`, held-out F1 per epoch in ``scores``; ``pred``: the test
    tags).
    """
    if lower_text:
        train_pairs, held_out, test_pairs = (lowered(p) for p in (train_pairs, held_out,
                                                                  test_pairs))
    vocabs = TaggingVocabs.build(train_pairs, lower=not cased)
    seed_everything(seed)
    model = build_tagger(vocabs, crf=crf, chars=chars, **sizes).to(device or "cpu")
    batches = TaggedBatches(train_pairs, vocabs, batch_size, chars=chars, seed=seed,
                            sort_by_length=True)
    loss_fn = CRFLoss() if crf else TaggingLoss()
    history = train_and_choose(model, batches, loss_fn, held_out, vocabs, epochs, lr,
                               patience=patience, log=log)
    return {"model": model, "vocabs": vocabs, "history": history,
            "pred": predict(model, test_pairs, vocabs)}


def recall_by_seen(train_pairs: Sequence[Pair], gold_pairs: Sequence[Pair],
                   predicted: Sequence[Sequence[str]]) -> dict[str, dict[str, float]]:
    """Recall (in percent) of the gold entities whose exact string was an entity in training
    (``seen``) and of the others (``unseen``), with their counts."""
    known = {tuple(ws[a:b + 1]) for ws, ts in train_pairs for _, a, b in spans(ts)}
    found = {"seen": [0, 0], "unseen": [0, 0]}
    for (words, tags), pred in zip(gold_pairs, predicted):
        # strict IOB2: a span must open with B- (seqeval's get_entities also opens one at I-)
        guessed = {s for s in spans(pred) if pred[s[1]].startswith("B-")}
        for span in spans(tags):
            group = "seen" if tuple(words[span[1]:span[2] + 1]) in known else "unseen"
            found[group][0] += span in guessed
            found[group][1] += 1
    return {g: {"recall": 100 * r / n if n else float("nan"), "entities": n}
            for g, (r, n) in found.items()}
