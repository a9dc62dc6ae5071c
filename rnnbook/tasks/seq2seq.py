"""Translation with an encoder-decoder: data, a leak-free split, batches, loss, BLEU and chrF.

An example is a pair of token lists, ``(["i'm", "cold", "."], ["j'", "ai", "froid", "."])``,
made by :func:`tokenize_en` (the book's :func:`~rnnbook.text.word_tokenize`, lower-cased: words
keep inner apostrophes, every punctuation mark is a token) and, for French,
:func:`tokenize_fr` (elisions split off: ``j' ai``). Batches (:func:`pair_batches`) are
:class:`~rnnbook.batching.PaddedBatches` of ``(source ids, <bos> target ids <eos>)``:
``PaddedBatch(x (B, S), lengths (B,), y (B, T))`` with ``y`` padded with
:data:`~rnnbook.text.IGNORE`.

Decoding (greedy, beam search, :func:`~rnnbook.tasks.decoding.translate`) is in
:mod:`rnnbook.tasks.decoding`. Scores are sacrebleu's corpus BLEU and chrF on the space-joined
tokens, with ``tokenize='none'`` (the text is already tokenised), one reference stream per French
translation of a source.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..batching import PaddedBatches
from ..history import History
from ..text import BOS, EOS, IGNORE, Vocab, word_tokenize
from ..train import train

Pair = tuple[list[str], list[str]]
Group = tuple[list[str], list[list[str]]]  # a source and all its references

# the English openings of the PyTorch tutorial's filter, in the book's tokens
PREFIXES: tuple[tuple[str, ...], ...] = (
    ("i", "am"), ("i'm",), ("he", "is"), ("he's",), ("she", "is"), ("she's",),
    ("you", "are"), ("you're",), ("we", "are"), ("we're",), ("they", "are"), ("they're",))


_ELISION = re.compile(r"^(qu|jusqu|lorsqu|puisqu|[cdjlmnst])['’](.+)$")


def tokenize_en(text: str) -> list[str]:
    """Lower-cased words and punctuation marks: ``"I'm cold." -> ["i'm", "cold", "."]``."""
    return word_tokenize(text)


def tokenize_fr(text: str) -> list[str]:
    """:func:`tokenize_en`, then French elisions split off as the Moses tokenizer does:
    ``"J'ai l'air." -> ["j'", "ai", "l'", "air", "."]`` (``aujourd'hui`` stays whole)."""
    out = []
    for t in tokenize_en(text):
        m = _ELISION.match(t)
        out += [m.group(1) + "'", m.group(2)] if m else [t]
    return out


def prefix_filter(pairs: Sequence[tuple[str, str]], max_tokens: int = 10) -> list[Pair]:
    """The tutorial's filter: tokenised pairs whose English starts with one of
    :data:`PREFIXES` and whose two sides have fewer than ``max_tokens`` tokens."""
    out = []
    for eng, fra in pairs:
        e = tokenize_en(eng)
        if 0 < len(e) < max_tokens and any(tuple(e[:len(p)]) == p for p in PREFIXES):
            f = tokenize_fr(fra)
            if 0 < len(f) < max_tokens:
                out.append((e, f))
    return out


def length_filter(pairs: Sequence[tuple[str, str]], min_tokens: int, max_tokens: int
                  ) -> list[Pair]:
    """Tokenised pairs whose English has ``min_tokens <= n <= max_tokens`` tokens (no prefix
    filter; the French side is not limited). English with fewer than ``min_tokens // 2``
    words is skipped before tokenising (it has too few tokens for any tokenisation)."""
    out = []
    for eng, fra in pairs:
        if eng.count(" ") + 1 < min_tokens // 2:  # far too short: skip the tokenizer
            continue
        e = tokenize_en(eng)
        if min_tokens <= len(e) <= max_tokens:
            out.append((e, tokenize_fr(fra)))
    return out


def group_by_source(pairs: Sequence[Pair]) -> list[Group]:
    """``(source, [all its targets])`` per distinct source, in order of first appearance."""
    groups: dict[tuple[str, ...], list[list[str]]] = {}
    for e, f in pairs:
        refs = groups.setdefault(tuple(e), [])
        if f not in refs:
            refs.append(f)
    return [(list(e), refs) for e, refs in groups.items()]


# whole-word English contractions, then suffixes (``'s`` is read as "is": a key for
# grouping near-duplicates, not a parser; "tom's" and "tom is" share a key, harmlessly)
_WHOLE: dict[str, tuple[str, ...]] = {
    "i'm": ("i", "am"), "won't": ("will", "not"), "can't": ("can", "not"),
    "cannot": ("can", "not"), "shan't": ("shall", "not"), "ain't": ("am", "not"),
    "let's": ("let", "us")}
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("n't", "not"), ("'re", "are"), ("'ve", "have"), ("'ll", "will"), ("'d", "would"),
    ("'s", "is"), ("'m", "am"))


def normalise(tokens: Sequence[str]) -> tuple[str, ...]:
    """The key under which near-duplicate sentences meet: lower-cased, contractions
    expanded, punctuation dropped. ``["I'm", "cold", "."]`` and ``["i", "am", "cold", "!"]``
    both give ``("i", "am", "cold")``; ``"don't" -> ("do", "not")``. French tokens (no
    English contractions) only lose case and punctuation."""
    if isinstance(tokens, str):
        raise TypeError("normalise takes a list of tokens, not a string: tokenize_en it first")
    out: list[str] = []
    for t in tokens:
        t = t.lower().replace("\u2019", "'")
        if not any(ch.isalnum() for ch in t):
            continue  # a punctuation mark
        if t in _WHOLE:
            out += _WHOLE[t]
            continue
        for suffix, word in _SUFFIXES:
            if t.endswith(suffix) and len(t) > len(suffix):
                out += [t[:-len(suffix)], word]
                break
        else:
            out.append(t)
    return tuple(out)


class Split(NamedTuple):
    """A translation split: ``train`` pairs, ``test`` groups ``(source, references)`` and
    the number of test groups ``dropped`` because a reference was a training target."""

    train: list[Pair]
    test: list[Group]
    dropped: int


def grouped_split(pairs: Sequence[Pair], test_fraction: float, seed: int = 0) -> Split:
    """Split by *normalised source* (:func:`normalise`), with no reference seen in training.

    1. Sources are grouped by their normalised English, so "i'm cold." and "i am cold !"
       (contraction twins, punctuation variants) always land on the same side.
    2. A random ``test_fraction`` of the groups (seed ``seed``) is held out; each held-out
       group is one test item: its first source and the references of all its members.
    3. A held-out group one of whose references is, punctuation aside, a training target is
       dropped (neither trained on nor tested): a model could score it by recalling that
       target. ``Split.dropped`` counts them.

    So no normalised source is on both sides and no test reference equals a training target.
    Returns ``Split(train pairs, test groups, dropped)``.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    keys: dict[tuple[str, ...], list[int]] = {}
    for i, (e, _) in enumerate(pairs):
        keys.setdefault(normalise(e), []).append(i)
    if len(keys) < 2:
        raise ValueError("need at least two distinct (normalised) sources to split")
    groups = list(keys.values())
    order = np.random.default_rng(seed).permutation(len(groups))
    n_test = max(1, round(test_fraction * len(groups)))
    held = set(order[:n_test].tolist())
    train = [(list(pairs[i][0]), list(pairs[i][1]))
             for g, members in enumerate(groups) if g not in held for i in members]
    seen = {normalise(f) for _, f in train}
    test, dropped = [], 0
    for g in sorted(held):
        refs: list[list[str]] = []
        for i in groups[g]:
            if list(pairs[i][1]) not in refs:
                refs.append(list(pairs[i][1]))
        if any(normalise(r) in seen for r in refs):
            dropped += 1
            continue
        test.append((list(pairs[groups[g][0]][0]), refs))
    return Split(train, test, dropped)


def build_vocabs(pairs: Sequence[Pair], min_freq: int = 1) -> tuple[Vocab, Vocab]:
    """Source and target vocabularies of the training pairs (specials ``<pad> <unk> <bos>
    <eos>``, ``<pad>`` is id 0); rarer tokens become ``<unk>``."""
    return (Vocab.build((e for e, _ in pairs), min_freq=min_freq),
            Vocab.build((f for _, f in pairs), min_freq=min_freq))


def examples(pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab
             ) -> list[tuple[list[int], list[int]]]:
    """``(source ids, <bos> target ids <eos>)`` for each pair."""
    bos, eos = tgt_vocab[BOS], tgt_vocab[EOS]
    return [(src_vocab.encode(e), [bos] + tgt_vocab.encode(f) + [eos]) for e, f in pairs]


def pair_batches(pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int,
                 shuffle: bool = True, seed: int = 0) -> PaddedBatches:
    """``PaddedBatches`` of :func:`examples`; shuffled batches group sources of similar
    length (little padding)."""
    return PaddedBatches(examples(pairs, src_vocab, tgt_vocab), batch_size, pad_id=0,
                         shuffle=shuffle, seed=seed, sort_by_length=shuffle)


def teacher_forcing(y: Tensor, pad_id: int = 0) -> tuple[Tensor, Tensor]:
    """Decoder inputs and targets of a padded target batch ``y`` ``(B, T)`` (``<bos> .. <eos>``
    padded with :data:`~rnnbook.text.IGNORE`): inputs ``y[:, :-1]`` (padding as ``pad_id``),
    targets ``y[:, 1:]``."""
    if y.dim() != 2 or y.size(1) < 2:
        raise ValueError(f"targets must be (batch, steps >= 2) with <bos> and <eos>, got "
                         f"{tuple(y.shape)}")
    tgt_in = y[:, :-1]
    return tgt_in.masked_fill(tgt_in < 0, pad_id), y[:, 1:]


class Seq2SeqLoss:
    """Teacher-forced cross-entropy per target token, padding masked: ``(model,
    PaddedBatch(x, lengths, y)) -> (mean loss over the real target tokens, their number)``.

        loss = -(1/N) sum_b sum_{t <= T_b} log p(y_bt | y_b,<t, x_b)

    where ``T_b`` counts the tokens of target ``b`` up to and including ``<eos>`` and ``N`` is
    their total; the padded positions (``IGNORE``) are ignored. ``label_smoothing`` as in
    ``torch.nn.functional.cross_entropy``.
    """

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing

    def __call__(self, model: nn.Module, batch: Any) -> tuple[Tensor, int]:
        x, lengths, y = batch
        tgt_in, target = teacher_forcing(y, getattr(model, "pad_id", 0))
        logits = model(x, lengths, tgt_in)
        n = int((target != IGNORE).sum())
        if n == 0:
            raise ValueError("the batch has no target tokens")
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), target.reshape(-1),
                               ignore_index=IGNORE, label_smoothing=self.label_smoothing)
        return loss, n



class TranslationRun:
    """An encoder-decoder in training, one segment of steps at a time.

    The recipe: AdamW (``lr``, weight decay 0.01), a one-cycle learning rate over the whole run
    of ``total_steps`` (warming up for the fraction ``warmup`` of them), :class:`Seq2SeqLoss`
    with ``label_smoothing``, gradients clipped at norm ``clip``. Each :meth:`fit` trains one
    segment with :func:`rnnbook.train`; the optimiser and the schedule go on where the last
    segment stopped, the batches start a new pass. So a run can be scored between segments,
    compared with other runs, and continued or dropped. :meth:`fit` with a ``score_fn``
    (``score_fn(model) -> float``, higher is better, e.g. validation BLEU) scores the model at
    the end of the segment and keeps a copy of the best weights; :meth:`restore_best` gives
    them back. ``history`` is the whole run's :class:`~rnnbook.history.History` (steps and
    seconds counted across segments; ``scores`` at ``score_steps``).
    """

    def __init__(self, model: nn.Module, data: Any, total_steps: int, lr: float,
                 warmup: float = 0.3, label_smoothing: float = 0.0, clip: float = 5.0):
        if total_steps < 1:
            raise ValueError(f"total_steps must be positive, got {total_steps}")
        self.model, self.data, self.clip = model, data, clip
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, lr, total_steps=total_steps, pct_start=warmup)
        self.loss_fn = Seq2SeqLoss(label_smoothing)
        self.history = History()
        self._best: Optional[dict[str, Tensor]] = None

    @property
    def steps(self) -> int:
        """Steps trained so far."""
        return self.history.step[-1] if self.history.step else 0

    def fit(self, steps: int, score_fn: Optional[Callable[[nn.Module], float]] = None,
            log: Optional[Callable[[str], None]] = print) -> History:
        """Train ``steps`` more steps (one evaluation at the end); with ``score_fn``, score
        the model and keep its weights if the score is the best so far (the first, on ties).
        Returns the run's history."""
        train(self.model, self.data, self.loss_fn, steps=steps, optimizer=self.optimizer,
              scheduler=self.scheduler, clip=self.clip, eval_every=steps, keep_best=score_fn,
              history=self.history, log=None)
        h = self.history
        line = f"  step {self.steps:,}: train loss {h.train_loss[-1]:.3f}, {h.seconds:.0f} s"
        if score_fn is not None:
            line += f", score {h.scores[-1]:.1f}"
            if h.best_step == h.score_steps[-1]:
                self._best = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if log is not None:
            log(line)
        return h

    def restore_best(self) -> tuple[float, int]:
        """Give the model its best scored weights; returns ``(best score, its step)``."""
        if self._best is None:
            raise ValueError("no segment was scored: pass score_fn to fit")
        self.model.load_state_dict(self._best)
        step = self.history.best_step
        return self.history.scores[self.history.score_steps.index(step)], step

def reference_streams(refs: Sequence[Sequence[Sequence[str]]]) -> list[list[Optional[str]]]:
    """sacrebleu's reference streams: stream ``j`` holds the ``j``-th reference of every
    source, ``None`` where a source has fewer."""
    depth = max(len(r) for r in refs)
    return [[" ".join(r[j]) if j < len(r) else None for r in refs] for j in range(depth)]


def corpus_scores(hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[Sequence[str]]]
                  ) -> dict[str, float]:
    """sacrebleu on space-joined tokens (``tokenize='none'``): ``{"bleu": multi-reference
    BLEU, "bleu_single": BLEU against the first reference only, "chrf": multi-reference chrF}``.
    """
    if len(hyps) != len(refs) or not hyps:
        raise ValueError(f"{len(hyps)} hypotheses for {len(refs)} sources")
    if any(len(r) == 0 for r in refs):
        raise ValueError("every source needs at least one reference")
    h = [" ".join(t) for t in hyps]
    streams = reference_streams(refs)
    bleu, chrf = _metrics()
    return {"bleu": bleu.corpus_score(h, streams).score,
            "bleu_single": bleu.corpus_score(h, streams[:1]).score,
            "chrf": chrf.corpus_score(h, streams).score}


def _metrics() -> tuple[Any, Any]:
    """sacreBLEU's BLEU and chrF as :func:`corpus_scores` computes them and
    :func:`signatures` describes them: on space-joined tokens (``tokenize='none'``; ``force``,
    since the text is tokenised on purpose and sacreBLEU would warn about it)."""
    import sacrebleu

    return sacrebleu.metrics.BLEU(tokenize="none", force=True), sacrebleu.metrics.CHRF()


def signatures(refs: Sequence[Sequence[Sequence[str]]]) -> dict[str, str]:
    """sacreBLEU's signatures of the metrics :func:`corpus_scores` computes on ``refs``
    (``{"bleu": "nrefs:var|case:mixed|eff:no|tok:none|...", "chrf": ...}``): what a reader
    needs to know which BLEU a number is. ``tok:none`` says the text was tokenised by us."""
    if not refs or any(len(r) == 0 for r in refs):
        raise ValueError("signatures need at least one source, each with a reference")
    streams = reference_streams(refs)
    h = [" ".join(r[0]) for r in refs]  # any hypotheses: a signature depends on the refs only
    bleu, chrf = _metrics()
    bleu.corpus_score(h, streams)
    chrf.corpus_score(h, streams)
    return {"bleu": str(bleu.get_signature()), "chrf": str(chrf.get_signature())}


def sentence_chrf(hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[Sequence[str]]]
                  ) -> np.ndarray:
    """sacrebleu's chrF of each hypothesis against all its references."""
    import sacrebleu

    chrf = sacrebleu.metrics.CHRF()
    return np.array([chrf.sentence_score(" ".join(h), [" ".join(r) for r in rs]).score
                     for h, rs in zip(hyps, refs)])


def bleu_by_length(sources: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]],
                   refs: Sequence[Sequence[Sequence[str]]], bins: Sequence[tuple[int, int]]
                   ) -> list[tuple[float, int]]:
    """Multi-reference corpus BLEU of the sources whose length is in each ``[lo, hi]`` bin:
    ``[(bleu or nan, sources in the bin), ...]``."""
    out = []
    for lo, hi in bins:
        idx = [i for i, s in enumerate(sources) if lo <= len(s) <= hi]
        if not idx:
            out.append((math.nan, 0))
            continue
        s = corpus_scores([hyps[i] for i in idx], [refs[i] for i in idx])
        out.append((s["bleu"], len(idx)))
    return out


__all__ = ["PREFIXES", "tokenize_en", "tokenize_fr", "prefix_filter", "length_filter",
           "group_by_source", "normalise", "Split", "grouped_split", "build_vocabs", "examples",
           "pair_batches", "teacher_forcing", "Seq2SeqLoss", "TranslationRun", "reference_streams",
           "corpus_scores", "signatures", "sentence_chrf", "bleu_by_length"]
