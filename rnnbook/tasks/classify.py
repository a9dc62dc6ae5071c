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
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ..batching import PaddedBatches
from ..runtime import eval_mode, model_device
from ..text import PAD, UNK, Vocab, word_tokenize
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


def encode(texts: Sequence[str], vocab: Vocab, max_len: Optional[int] = None
           ) -> list[list[int]]:
    """Word ids of each text (an empty text becomes ``[<unk>]``), cut to ``max_len`` tokens."""
    out = []
    for t in texts:
        ids = vocab.encode(tokenize(t))[:max_len] or [vocab[UNK]]
        out.append(ids)
    return out


def batches(ids: Sequence[Sequence[int]], labels: Sequence[int], batch_size: int,
            shuffle: bool = True, seed: int = 0, pad_id: int = 0) -> PaddedBatches:
    """``PaddedBatches`` of ``(ids, label)``; shuffled batches are drawn from texts of similar
    length (little padding), evaluation batches keep the input order."""
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} texts but {len(labels)} labels")
    return PaddedBatches(list(zip(ids, [int(y) for y in labels])), batch_size, pad_id=pad_id,
                         shuffle=shuffle, seed=seed, sort_by_length=shuffle)


def predict(model: nn.Module, ids: Sequence[Sequence[int]], batch_size: int = 256
            ) -> tuple[np.ndarray, np.ndarray]:
    """``(labels (N,), probabilities (N, K))`` for the texts ``ids``, in their order."""
    dev = model_device(model)
    probs = []
    with eval_mode(model):
        for x, lengths, _ in batches(ids, [0] * len(ids), batch_size, shuffle=False):
            probs.append(torch.softmax(model(x.to(dev), lengths).float(), -1).cpu())
    p = torch.cat(probs).numpy()
    return p.argmax(1), p


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
                   test_texts: Sequence[str], kind: str = "word", C: float = 10.0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Fit :func:`tfidf_model` on the training texts; ``(labels, probabilities)`` on the test
    texts."""
    model = tfidf_model(kind, C).fit(list(train_texts), list(train_labels))
    p = model.predict_proba(list(test_texts))
    return model.classes_[p.argmax(1)], p


def tfidf_cross_val(texts: Sequence[str], labels: Sequence[int], kind: str = "word",
                    folds: int = 10, C: float = 10.0, seed: int = 0) -> np.ndarray:
    """Accuracy of :func:`tfidf_model` on each of ``folds`` stratified folds."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return cross_val_score(tfidf_model(kind, C), list(texts), list(labels), cv=cv)


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


__all__ = ["PAD", "UNK", "tokenize", "build_vocab", "encode", "batches",
           "ClassificationLoss", "predict", "scores", "stratified_split", "majority_baseline",
           "tfidf_model", "tfidf_baseline", "tfidf_cross_val", "most_confused",
           "confident_mistakes"]
