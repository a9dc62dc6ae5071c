"""Text classification: tokens and batches, the loss, predictions, scores, the baselines a
practitioner tries first (majority class, TF-IDF n-grams + logistic regression), error
analysis (the language-model pre-training that initialises a classifier is
:mod:`rnnbook.tasks.pretrain`).

An example is a text and one class id: ``("a gorgeous, witty film", 1)``. Texts become word ids
(:func:`tokenize`, :class:`~rnnbook.text.Vocab`); batches are
:class:`~rnnbook.batching.PaddedBatches` of ``(ids, label)``, i.e. ``PaddedBatch(x (B, T),
lengths (B,), y (B,))``, and the classifier packs or masks the padding away.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any, Callable, Iterable, NamedTuple, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ..batching import PaddedBatch, PaddedBatches
from ..config import seed_everything
from ..evaluation import outputs
from ..history import History
from ..models.classifier import TextClassifier
from ..text import PAD, UNK, Vocab, word_tokenize
from ..train import train
from .losses import ClassificationLoss

_URL = re.compile(r"https?://\S+")


def tokenize(text: str) -> list[str]:
    """Lower-cased words and punctuation (:func:`~rnnbook.text.word_tokenize`); every web
    address becomes the one token ``http``."""
    return word_tokenize(_URL.sub(" http ", text))


def build_vocab(texts: Iterable[str], min_freq: int = 2, max_size: Optional[int] = None
                ) -> Vocab:
    """Words of ``texts`` seen at least ``min_freq`` times; specials ``<pad> <unk> <bos> <eos>``
    (``<pad>`` is id 0)."""
    return Vocab.build((tokenize(t) for t in texts), min_freq=min_freq, max_size=max_size)


def build_char_vocab(texts: Iterable[str], min_freq: int = 2) -> Vocab:
    """Characters of the words of ``texts`` (as :func:`tokenize` writes them) seen at least
    ``min_freq`` times; specials ``<pad> <unk>`` (``<pad>`` is id 0)."""
    return Vocab.build((c for t in texts for w in tokenize(t) for c in w), min_freq=min_freq,
                       specials=(PAD, UNK))


def encode(texts: Sequence[str], vocab: Vocab, max_len: Optional[int] = None,
           chars: Optional[Vocab] = None, max_chars: int = 16
           ) -> list[list[int]] | list[torch.Tensor]:
    """Word ids of each text (an empty text becomes ``[<unk>]``), cut to ``max_len`` tokens.

    With a character vocabulary ``chars`` each text is a tensor ``(T, 1 + max_chars)``: the
    word id, then the ids of its first ``max_chars`` characters, 0 after the last one, which
    :class:`~rnnbook.models.classifier.TextClassifier` with ``num_chars`` reads.
    """
    out: list = []
    for t in texts:
        words = tokenize(t)[:max_len] or [UNK]
        ids = vocab.encode(words)
        if chars is None:
            out.append(ids)
            continue
        row = torch.zeros(len(words), 1 + max_chars, dtype=torch.long)
        row[:, 0] = torch.tensor(ids)
        for i, w in enumerate(words):
            spelt = chars.encode(list(w))[:max_chars] if w != UNK else [chars[UNK]]
            row[i, 1:1 + len(spelt)] = torch.tensor(spelt)
        out.append(row)
    return out


def batches(ids: Sequence[Sequence[int]], labels: Sequence[int], batch_size: int,
            shuffle: bool = True, seed: int = 0, pad_id: int = 0) -> PaddedBatches:
    """``PaddedBatches`` of ``(ids, label)``; shuffled batches are drawn from texts of similar
    length (little padding), evaluation batches keep the input order."""
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} texts but {len(labels)} labels")
    return PaddedBatches(list(zip(ids, [int(y) for y in labels])), batch_size, pad_id=pad_id,
                         shuffle=shuffle, seed=seed, sort_by_length=shuffle)


def _probabilities(model: nn.Module, batch: PaddedBatch) -> torch.Tensor:
    """The step of :func:`predict`: class probabilities ``(B, K)`` of one batch."""
    return torch.softmax(model(batch.x, batch.lengths).float(), -1)


def predict(model: nn.Module, ids: Sequence[Sequence[int]], batch_size: int = 256
            ) -> tuple[np.ndarray, np.ndarray]:
    """``(labels (N,), probabilities (N, K))`` for the texts ``ids``, in their order
    (:func:`rnnbook.outputs` over evaluation batches)."""
    p = outputs(model, batches(ids, [0] * len(ids), batch_size, shuffle=False),
                _probabilities).numpy()
    return p.argmax(1), p


def accuracy_on(ids: Sequence[Sequence[int]], labels: Sequence[int]
                ) -> Callable[[nn.Module], float]:
    """``score(model) -> accuracy`` on held-out texts ``ids`` with ``labels``: the
    ``keep_best`` score of :func:`fit_classifier`."""
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} held-out texts but {len(labels)} labels")
    y = np.asarray(labels)
    return lambda model: float(np.mean(predict(model, ids)[0] == y))


def fit_classifier(model: nn.Module, data: Iterable, *,
                   held_out: Optional[tuple[Sequence[Sequence[int]], Sequence[int]]] = None,
                   **recipe: Any) -> History:
    """Train a text classifier on ``data`` (:func:`batches`) with :class:`ClassificationLoss`
    by :func:`rnnbook.train` (``recipe``: ``epochs``, ``lr``, ...; texts are the unit, no
    progress bar). With ``held_out=(ids, labels)`` (a part of the *training* texts the model
    does not train on) the model ends with the weights of the epoch of best held-out accuracy
    (``train(keep_best=...)``; ``History.scores`` lists every epoch's)."""
    recipe = {"progress": False, "unit": "texts", **recipe}
    keep = accuracy_on(*held_out) if held_out is not None else None
    return train(model, data, ClassificationLoss(), keep_best=keep, **recipe)


class FittedClassifier(NamedTuple):
    """A trained classifier, the function that encodes texts for it (``encode(texts) ->
    ids``, for :func:`predict`) and the :class:`~rnnbook.history.History` of its training."""

    model: nn.Module
    encode: Callable[[Sequence[str]], list]
    history: History


def fit_text_classifier(texts: Sequence[str], labels: Sequence[int], num_classes: int, *,
                        epochs: int, lr: float = 3e-3, batch_size: int = 64,
                        held_out: Optional[tuple[Sequence[str], Sequence[int]]] = None,
                        vocab: Optional[Vocab] = None, min_freq: int = 2, chars: bool = False,
                        seed: int = 0, device: Any = None, **sizes: Any) -> FittedClassifier:
    """Build a :class:`~rnnbook.models.classifier.TextClassifier` for ``texts`` and train it
    (:func:`fit_classifier`, seeded with ``seed``).

    ``vocab``: the word vocabulary (default: :func:`build_vocab` of ``texts`` with
    ``min_freq``); ``chars=True`` spells every word with a character vocabulary of ``texts``
    (:func:`build_char_vocab`); ``held_out=(texts, labels)``: keep the epoch of best accuracy
    on them; ``sizes`` go to the classifier (``embed_size``, ``hidden_size``, ``pooling``,
    ``dropout``, ``char_embed``, ``char_hidden``, ...).
    """
    vocab = build_vocab(texts, min_freq=min_freq) if vocab is None else vocab
    spell = build_char_vocab(texts) if chars else None
    code = partial(encode, vocab=vocab, chars=spell)
    seed_everything(seed)
    model = TextClassifier(len(vocab), num_classes, num_chars=len(spell) if spell else 0,
                           **sizes).to(device or "cpu")
    held = None if held_out is None else (code(held_out[0]), held_out[1])
    history = fit_classifier(model, batches(code(texts), labels, batch_size), epochs=epochs,
                             lr=lr, held_out=held)
    return FittedClassifier(model, code, history)


def scores(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """``{"accuracy", "macro_f1"}`` (scikit-learn): macro-F1 averages the F1 of every class,
    so a rare class counts as much as a frequent one."""
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro"))}


def stratified_split(labels: Sequence[int], test_fraction: float, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of one stratified split (scikit-learn), the same for every
    model of a comparison."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=test_fraction, random_state=seed,
                                   stratify=np.asarray(labels))
    return np.sort(train), np.sort(test)


def majority_baseline(train_labels: Sequence[int], n: int) -> np.ndarray:
    """The most frequent training class, ``n`` times (ties: the smallest class id)."""
    return np.full(n, int(np.bincount(np.asarray(train_labels)).argmax()))


def tfidf_model(kind: str = "word", C: float = 10.0) -> Any:
    """TF-IDF n-grams + logistic regression (a scikit-learn pipeline).

    ``kind="word"``: word 1-2-grams (the book's :func:`tokenize`); ``"char"``: character
    2-5-grams within word boundaries. Sub-linear term frequencies (``1 + log tf``), L2-normalised
    rows; ``C`` is the inverse L2 penalty of the regression.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    if kind == "word":
        vec = TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False,
                              ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    elif kind == "char":
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                              min_df=2)
    else:
        raise ValueError(f"kind must be 'word' or 'char', got {kind!r}")
    return make_pipeline(vec, LogisticRegression(C=C, max_iter=2000))


def tfidf_baseline(train_texts: Sequence[str], train_labels: Sequence[int],
                   test_texts: Sequence[str], kind: str = "word", C: float = 10.0,
                   num_classes: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit :func:`tfidf_model` on the training texts; ``(labels, probabilities)`` on the test
    texts. The probabilities have one column per class seen in training, or ``num_classes``
    columns (class id = column, 0 for a class absent from training), to average them with
    another model's."""
    model = tfidf_model(kind, C).fit(list(train_texts), list(train_labels))
    p = model.predict_proba(list(test_texts))
    labels = model.classes_[p.argmax(1)]
    if num_classes is not None:
        full = np.zeros((len(p), num_classes), dtype=p.dtype)
        full[:, model.classes_] = p
        p = full
    return labels, p


def tfidf_cross_val(texts: Sequence[str], labels: Sequence[int], kind: str = "word",
                    folds: int = 10, C: float = 10.0, seed: int = 0,
                    n_jobs: Optional[int] = None) -> np.ndarray:
    """Accuracy of :func:`tfidf_model` on each of ``folds`` stratified folds (``n_jobs``
    folds at a time, in separate processes; ``-1``: one per core). The folds and models are the
    same either way; a worker process gives its BLAS fewer threads, so the solver's last digits,
    and now and then one prediction, can differ from a serial run."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return cross_val_score(tfidf_model(kind, C), list(texts), list(labels), cv=cv,
                           n_jobs=n_jobs)


def most_confused(matrix: np.ndarray, names: Sequence[str], k: int = 5
                  ) -> list[tuple[str, str, int]]:
    """The ``k`` largest off-diagonal counts of a confusion matrix (rows gold, columns
    predicted) as ``(gold, predicted, count)``, largest first (ties: row, then column)."""
    m = np.asarray(matrix).copy()
    np.fill_diagonal(m, 0)
    order = sorted(((int(m[i, j]), i, j) for i, j in zip(*np.nonzero(m))),
                   key=lambda c: (-c[0], c[1], c[2]))
    return [(names[i], names[j], c) for c, i, j in order[:k]]


def confident_mistakes(probs: np.ndarray, y_true: Sequence[int], k: int = 5) -> list[int]:
    """Indices of the ``k`` wrong predictions made with the highest probability, most confident
    first: the rule that picks the error examples a chapter shows."""
    y = np.asarray(y_true)
    pred = probs.argmax(1)
    wrong = np.nonzero(pred != y)[0]
    conf = probs[wrong, pred[wrong]]
    return [int(i) for i in wrong[np.argsort(-conf, kind="stable")][:k]]


__all__ = ["PAD", "UNK", "tokenize", "build_vocab", "build_char_vocab", "encode", "batches",
           "ClassificationLoss", "predict", "accuracy_on", "fit_classifier", "FittedClassifier",
           "fit_text_classifier", "scores",
           "stratified_split", "majority_baseline",
           "tfidf_model", "tfidf_baseline", "tfidf_cross_val", "most_confused",
           "confident_mistakes"]
