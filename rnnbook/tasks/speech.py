"""Spoken digits: features, splits, padded float batches, training glue, and CTC recognition.

A recording is ``(waveform, rate, digit, speaker)`` (:func:`rnnbook.data.load_fsdd`). Its
features are log-mel frames ``(T, F)`` (:func:`rnnbook.audio.log_mel`). Batches are
:class:`FrameBatches` of ``(x (B, T, F), lengths (B,), y (B,))`` for one digit per recording,
or ``(x, lengths, targets (B, S), target_lengths (B,))`` for digit strings (CTC).

CTC (Graves et al., 2006) scores a label string ``y`` from per-frame distributions over the
labels and a blank ``-``: ``p(y | x) = sum over paths pi with B(pi) = y of prod_t p_t(pi_t)``,
where ``B`` collapses repeats and then drops blanks (``B(--33-3--) = 33``). Greedy decoding
takes the best label at every frame and applies ``B``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..audio import log_mel, normalise
from ..batching import PaddedBatches
from ..evaluation import outputs
from ..history import History
from ..layers import Lengths
from ..text import pad
from ..train import train
from .losses import ClassificationLoss

Recording = tuple[np.ndarray, int, int, str]
Augment = Callable[[Tensor, Tensor, torch.Generator], Tensor]


def featurise(waves: Sequence[np.ndarray], rate: int, normalised: bool = True,
              **kwargs: Any) -> list[Tensor]:
    """Log-mel frames ``(T, F)`` of every waveform (keywords go to :func:`log_mel`), each
    normalised per utterance (:func:`~rnnbook.audio.normalise`) unless ``normalised=False``."""
    feats = [log_mel(w, rate, **kwargs) for w in waves]
    return [normalise(f) for f in feats] if normalised else feats


def speaker_split(speakers: Sequence[str], held_out: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``: every recording of ``held_out`` is test, the rest train."""
    speakers = np.asarray(speakers)
    if held_out not in set(speakers.tolist()):
        raise ValueError(f"no recordings of speaker {held_out!r}; speakers are "
                         f"{sorted(set(speakers.tolist()))}")
    test = speakers == held_out
    return np.flatnonzero(~test), np.flatnonzero(test)


def speaker_folds(speakers: Sequence[str]
                  ) -> list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]]:
    """Leave-one-speaker-out with a validation speaker: one fold per speaker (in sorted
    order), ``(test speaker, validation speaker, train, validation, test)`` with index arrays.
    The validation speaker of a fold is the next speaker (cyclically), so every speaker is
    tested once and validates once; the others train. Whatever is chosen on a fold's
    validation speaker never sees its test speaker."""
    names = sorted(set(np.asarray(speakers).tolist()))
    if len(names) < 3:
        raise ValueError(f"need at least 3 speakers (train, validation, test), got {names}")
    who = np.asarray(speakers)
    folds = []
    for k, test in enumerate(names):
        val = names[(k + 1) % len(names)]
        folds.append((test, val, np.flatnonzero((who != test) & (who != val)),
                      np.flatnonzero(who == val), np.flatnonzero(who == test)))
    return folds


class FrameBatches(PaddedBatches):
    """Padded mini-batches of float frames: ``(x (B, T, F), lengths (B,), y (B,))`` for integer
    labels, ``(x, lengths, y (B, S) padded with 0, y_lengths (B,))`` for label sequences.

    Shuffled (a new order each pass, from ``seed``) batches are drawn from recordings of
    similar length, so little padding is computed (the order of
    :class:`~rnnbook.batching.PaddedBatches` with ``sort_by_length``; unshuffled: in order).
    ``augment(x, lengths, generator=g)``, when given, transforms each training batch
    (:func:`~rnnbook.audio.spec_augment` with its widths bound, say). A recording may come in
    several versions (a list of tensors: speed-perturbed copies, say): each pass then reads
    one of them, drawn at random, so a pass costs the same as without them; unshuffled
    batches read the first version. Re-iterable, as :func:`rnnbook.train` wants.

    The shuffle, the versions drawn and the masks all come from one generator, so
    :meth:`state_dict` / :meth:`load_state_dict` (those of
    :class:`~rnnbook.batching.PaddedBatches`: the generator's state at the start of the pass in
    progress and ``position``) let a resumed :func:`rnnbook.train` repeat the straight run.
    """

    def __init__(self, features: Sequence[Tensor | Sequence[Tensor]], labels: Sequence[Any],
                 batch_size: int,
                 shuffle: bool = True, seed: int = 0, augment: Optional[Augment] = None):
        if len(features) == 0:
            raise ValueError("no recordings to batch: the data set is empty")
        if len(features) != len(labels):
            raise ValueError(f"{len(features)} recordings but {len(labels)} labels")
        versions = [[f] if isinstance(f, Tensor) else list(f) for f in features]
        if any(len(v) == 0 for v in versions):
            raise ValueError("a recording has an empty list of versions: give it at least one "
                             "(T, F) tensor")
        # PaddedBatches sorts by len(example[0]): the frames of the first version
        super().__init__(list(zip((v[0] for v in versions), labels)), batch_size,
                         shuffle=shuffle, seed=seed, sort_by_length=shuffle)
        self.versions, self.labels = versions, list(labels)
        self.augment = augment

    def _pick(self, versions: list[Tensor]) -> Tensor:
        if len(versions) == 1 or not self.shuffle:
            return versions[0]
        return versions[int(torch.randint(len(versions), (1,), generator=self._generator))]

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        for idx in self._batches():
            feats = [self._pick(self.versions[i]) for i in idx]
            x = nn.utils.rnn.pad_sequence(feats, batch_first=True)
            lengths = torch.tensor([len(f) for f in feats])
            if self.augment is not None:
                x = self.augment(x, lengths, generator=self._generator)
            labels = [self.labels[i] for i in idx]
            if isinstance(labels[0], (int, np.integer)):
                yield x, lengths, torch.tensor([int(v) for v in labels])
            else:
                y, y_lengths = pad([list(v) for v in labels], 0)
                yield x, lengths, y, y_lengths


def predict(model: nn.Module, features: Sequence[Tensor], batch_size: int = 256) -> np.ndarray:
    """The most likely class of every recording, in order."""
    batches = FrameBatches(features, [0] * len(features), batch_size, shuffle=False)
    return outputs(model, batches, lambda m, b: m(b[0], b[1]).argmax(-1)).numpy()


def fit(model: nn.Module, batches: Any, loss_fn: Any, epochs: int, lr: float) -> History:
    """Adam (AdamW without weight decay) with a one-cycle learning rate (peak ``lr``, 30% of
    the steps warming up) for ``epochs`` passes, gradients clipped at norm 5, through
    :func:`rnnbook.train`; returns its :class:`~rnnbook.history.History` (``.seconds``: the
    training time)."""
    return train(model, batches, loss_fn, epochs=epochs, lr=lr, weight_decay=0.0,
                 schedule="one-cycle", warmup=0.3, clip=5.0, log=None, progress=False,
                 unit="utt")


def train_and_score(make_model: Callable[[], nn.Module], train_features: Sequence[Any],
                    train_labels: Sequence[int], test_features: Sequence[Tensor],
                    test_labels: Sequence[int], *, epochs: int, batch: int, lr: float,
                    augment: Optional[Augment] = None, seed: int = 0) -> dict[str, Any]:
    """Seed, build a model, train it (:func:`fit` on :class:`FrameBatches`), score it on the
    test recordings: ``{"model", "history", "accuracy", "pred"}``."""
    torch.manual_seed(seed)
    model = make_model()
    data = FrameBatches(train_features, train_labels, batch, seed=seed, augment=augment)
    history = fit(model, data, ClassificationLoss(), epochs, lr)
    pred = predict(model, test_features)
    acc = float(np.mean(pred == np.asarray(test_labels)))
    return {"model": model, "history": history, "accuracy": acc, "pred": pred}


def make_utterances(waves: Sequence[np.ndarray], digits: Sequence[int], n: int, rate: int,
                    min_digits: int = 2, max_digits: int = 5,
                    silence: tuple[float, float] = (0.05, 0.3), noise: float = 1e-3,
                    seed: int = 0) -> list[tuple[np.ndarray, list[int]]]:
    """``n`` utterances ``(waveform, digit string)``: ``min_digits``..``max_digits`` recordings
    drawn at random, joined by silences of a random length in ``silence`` seconds (and one at
    each end), with faint Gaussian noise (std ``noise``) over the silences."""
    if not 1 <= min_digits <= max_digits:
        raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits}, {max_digits}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        pick = rng.integers(0, len(waves), rng.integers(min_digits, max_digits + 1))
        parts = []
        for i in pick:
            gap = int(rng.uniform(*silence) * rate)
            parts += [rng.normal(0, noise, gap).astype(np.float32), waves[i]]
        parts.append(rng.normal(0, noise, int(rng.uniform(*silence) * rate)).astype(np.float32))
        out.append((np.concatenate(parts), [int(digits[i]) for i in pick]))
    return out


class CTCLoss:
    """CTC loss of a :class:`~rnnbook.models.speech.CTCRecogniser`: ``(model, (x, lengths, y,
    y_lengths)) -> (mean -log p(y | x) per utterance, utterances)``. Labels ``y`` are digits;
    the model's class ``k + 1`` is digit ``k`` and class 0 the blank."""

    def __call__(self, model: nn.Module, batch: Any) -> tuple[Tensor, int]:
        x, lengths, y, y_lengths = batch
        log_probs, out_lengths = model(x, lengths)
        loss = F.ctc_loss(log_probs.transpose(0, 1), y + 1, out_lengths, y_lengths,
                          blank=0, reduction="sum", zero_infinity=True)
        return loss / x.size(0), int(x.size(0))


def collapse(path: Sequence[int], blank: int = 0) -> list[int]:
    """CTC's ``B``: merge runs of the same label, then drop the blanks
    (``[0, 3, 3, 0, 3, 0] -> [3, 3]``)."""
    out, prev = [], None
    for k in path:
        k = int(k)
        if k != prev and k != blank:
            out.append(k)
        prev = k
    return out


def greedy_decode(log_probs: Tensor, lengths: Lengths, blank: int = 0) -> list[list[int]]:
    """Best path decoding of ``(B, T, C)`` scores: ``collapse(argmax_k p_t(k))`` over each
    sequence's first ``lengths[b]`` steps."""
    if log_probs.dim() != 3:
        raise ValueError(f"expected scores (batch, time, classes), got shape "
                         f"{tuple(log_probs.shape)}")
    best = log_probs.argmax(-1).cpu()
    return [collapse(best[b, :int(n)].tolist(), blank) for b, n in enumerate(lengths)]


def recognise(model: nn.Module, features: Sequence[Tensor], batch_size: int = 128
              ) -> list[list[int]]:
    """Digit strings of every utterance by greedy decoding (class ``k + 1`` is digit ``k``)."""
    def step(m: nn.Module, batch: Any) -> list[list[int]]:
        log_probs, n = m(batch[0], batch[1])
        return [[k - 1 for k in s] for s in greedy_decode(log_probs, n)]

    batches = FrameBatches(features, [[0]] * len(features), batch_size, shuffle=False)
    return outputs(model, batches, step)


def edit_distance(ref: Sequence[Any], hyp: Sequence[Any]) -> int:
    """Levenshtein distance: the fewest substitutions, deletions and insertions that turn
    ``ref`` into ``hyp``."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def digit_error_rate(refs: Sequence[Sequence[int]], hyps: Sequence[Sequence[int]]) -> float:
    """``sum edit_distance(ref, hyp) / sum len(ref)``: errors per spoken digit (it can
    exceed 1 when the recogniser inserts digits). References with no digit at all leave it
    undefined (a ValueError); empty references among others are fine (their hypotheses'
    digits count as insertions)."""
    if len(refs) != len(hyps) or not refs:
        raise ValueError(f"need as many hypotheses as references (and at least one), got "
                         f"{len(refs)} and {len(hyps)}")
    total = sum(len(r) for r in refs)
    if total == 0:
        raise ValueError(f"the {len(refs)} references hold no digit, so errors per reference "
                         "digit are undefined: score utterances that contain digits")
    return sum(edit_distance(r, h) for r, h in zip(refs, hyps)) / total
