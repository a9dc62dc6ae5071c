"""The language-modelling task: its loss, per-token scores, model mixtures, a training recipe,
and the comparison of a neural model with count-based n-grams.

A model is scored on a held-out stream ``x_0 .. x_{N-1}`` by ``log p(x_t | x_{<t})`` for
``t = 1 .. N-1``: the same tokens for a count-based model (:mod:`rnnbook.ngram`) and a neural one,
so their cross-entropies (mean nats per token) and perplexities compare directly, and their
per-token probabilities can be mixed: ``p = lam p_a + (1 - lam) p_b``.
"""

from __future__ import annotations

import math
import time
from typing import Any, Collection, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..batching import StreamBatches
from ..evaluation import outputs
from ..history import History
from ..ngram import AddKLM, KneserNeyLM
from ..runtime import detach
from ..text import IGNORE, word_tokenize
from ..train import train


class LanguageModelLoss:
    """Next-token cross-entropy for models that map ``(ids, state) -> (logits, state)``.

    A batch is ``(x, y)``, both ``(batch, time)``; logits are ``(batch, time, vocab)``. With
    ``stateful=True`` (truncated BPTT over :class:`~rnnbook.batching.StreamBatches`) the final
    state of one batch, detached, is the initial state of the next; :meth:`reset` forgets it,
    :meth:`state_dict`/:meth:`load_state_dict` save and restore it (checkpoints).
    """

    def __init__(self, stateful: bool = False, ignore_index: int = IGNORE):
        self.stateful, self.ignore_index = stateful, ignore_index
        self.state: Any = None

    def reset(self) -> None:
        self.state = None

    def fresh(self) -> LanguageModelLoss:
        """A copy with its own (empty) state, e.g. for validation."""
        return LanguageModelLoss(self.stateful, self.ignore_index)

    def state_dict(self) -> dict[str, Any]:
        """``{"state": state}``: the carried state (``None``, a tensor or a tuple of them), which
        a checkpoint saves so that a resumed run continues the same text."""
        return {"state": self.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (on the model's device: the caller moves it)."""
        self.state = state["state"]

    def __call__(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        x, y = batch
        logits, state = model(x, self.state if self.stateful else None)
        if self.stateful:
            self.state = detach(state)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                               ignore_index=self.ignore_index)
        return loss, int((y != self.ignore_index).sum())


def token_log_probs(model: nn.Module, ids: torch.Tensor, chunk: int = 2048) -> np.ndarray:
    """``log p(x_t | x_{<t})`` (nats) for ``t = 1 .. N-1`` under a model with the book's interface.

    The stream is read in chunks, each chunk's final state fed to the next, so a stateful model
    (an RNN, or an NPLM carrying its window) sees the whole past.
    """
    ids = torch.as_tensor(ids, dtype=torch.long).flatten()
    n = len(ids) - 1
    if n < 1:
        raise ValueError(f"a stream of {len(ids)} token(s) has no next token to score: "
                         "token_log_probs needs at least 2")
    chunks = [(ids[start: min(start + chunk, n)][None], ids[start + 1: min(start + chunk, n) + 1])
              for start in range(0, n, chunk)]
    state = None

    def step(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        nonlocal state
        x, y = batch
        logits, state = model(x, state)
        return torch.log_softmax(logits[0].float(), -1).gather(1, y[:, None])[:, 0]

    return outputs(model, chunks, step).numpy().astype(np.float64)


def mixture_log_probs(log_p: np.ndarray, log_q: np.ndarray, weight: float) -> np.ndarray:
    """Per-token ``log(weight p + (1 - weight) q)`` from the two models' log-probabilities."""
    if not 0 <= weight <= 1:
        raise ValueError(f"the mixing weight must lie in [0, 1], got {weight}")
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log(weight) + log_p, np.log1p(-weight) + log_q)


def best_mixture_weight(log_p: np.ndarray, log_q: np.ndarray, grid: int = 101) -> float:
    """The weight of ``p`` (on a grid over [0, 1]) that minimises the mixture's cross-entropy.

    Fit it on validation data: chosen on the test set it would flatter the mixture.
    """
    weights = np.linspace(0.0, 1.0, grid)
    losses = [-mixture_log_probs(log_p, log_q, w).mean() for w in weights]
    return float(weights[int(np.argmin(losses))])


def cross_entropy(log_probs: np.ndarray) -> float:
    """Mean nats per token from per-token log-probabilities."""
    return float(-np.mean(log_probs))


def fit_lm(model: nn.Module, train_ids: torch.Tensor, val_ids: torch.Tensor, *, steps: int,
           batch_size: int, seq_len: int, lr: float, weight_decay: float = 0.01,
           log=print) -> History:
    """Train a language model on a token stream with :func:`rnnbook.train`.

    Truncated-BPTT batches (:class:`~rnnbook.batching.StreamBatches`) with a stateful loss, AdamW,
    and a one-cycle learning rate (5% warm-up, then cosine decay to the last step); the
    validation loss is logged ten times.
    """
    return train(model, StreamBatches(train_ids, batch_size, seq_len),
                 LanguageModelLoss(stateful=True), steps=steps, lr=lr, weight_decay=weight_decay,
                 schedule="one-cycle", warmup=0.05, val_data=StreamBatches(val_ids, 16, 256),
                 progress=False, log=log, eval_every=max(1, steps // 10))


def loss_by_position(model: nn.Module, batches: Iterable, max_batches: int = 10) -> torch.Tensor:
    """Mean cross-entropy (nats) at each position of the windows ``(x, y)`` of ``batches``.

    Averages over the first ``max_batches`` batches that have the length of the first one
    (a shorter last batch is skipped). The model runs in evaluation mode, without gradients,
    and is left in the mode it was in. Returns a tensor ``(time,)``.
    """
    length = None

    def step(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> list[torch.Tensor]:
        nonlocal length
        x, y = batch
        length = length or x.size(1)
        if x.size(1) != length:
            return []
        logits, _ = model(x)
        return [F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(0)]

    return torch.stack(outputs(model, batches, step, max_batches=max_batches)).mean(0)


def known_word_share(text: str, known: Collection[str], min_len: int = 1,
                     max_len: int | None = None) -> tuple[float, int]:
    """Share of the words of ``text`` with ``min_len`` to ``max_len`` characters that are in
    ``known`` (e.g. the words of the training text), and how many such words there are.

    Words are the tokens of :func:`rnnbook.text.word_tokenize` that contain a letter
    (punctuation is skipped). Raises ``ValueError`` when ``text`` has no word of that length.
    """
    words = [w for w in word_tokenize(text) if any(ch.isalpha() for ch in w)
             and min_len <= len(w) <= (max_len or len(w))]
    if not words:
        raise ValueError(f"the text has no word of {min_len} to {max_len or 'any'} characters")
    return sum(w in known for w in words) / len(words), len(words)


def ngram_table(corpus: Any, orders: Sequence[int], add_k: float = 0.01
                ) -> tuple[dict[int, dict[str, Any]], int]:
    """Fit an interpolated Kneser-Ney model (discounts estimated) and an add-k model of each
    order on ``corpus.train``; score them on ``corpus.val`` and ``corpus.test``.

    Returns ``(table, best)``: ``table[n]`` holds the Kneser-Ney model ``kn``, its fitting time
    ``fit_s`` (seconds, on this machine) and the cross-entropies ``kn_val``, ``kn_test`` and
    ``addk_test`` (nats per token); ``best`` is the order with the lowest *validation*
    cross-entropy (chosen on validation, not test).
    """
    V = len(corpus.vocab)
    out = {}
    for n in orders:
        t0 = time.perf_counter()
        kn = KneserNeyLM(n, V, discount=None).fit(corpus.train)
        seconds = time.perf_counter() - t0
        addk = AddKLM(n, V, k=add_k).fit(corpus.train)
        out[n] = dict(kn=kn, fit_s=seconds, add_k=add_k, kn_val=kn.cross_entropy(corpus.val),
                      kn_test=kn.cross_entropy(corpus.test),
                      addk_test=addk.cross_entropy(corpus.test))
    return out, min(out, key=lambda n: out[n]["kn_val"])


def compare_with_ngram(model: nn.Module, kn: Any, corpus: Any) -> dict[str, Any]:
    """A neural model, a count-based one and their mixture, on the same test tokens.

    The mixing weight ``lam`` of the neural model is fitted on ``corpus.val``. Returns the test
    cross-entropies ``model``, ``kn`` and ``mix`` (nats per token), ``lam``, and the per-token
    test log-probabilities ``lp_test`` (neural) and ``kn_test``.
    """
    lp_val, lp_test = token_log_probs(model, corpus.val), token_log_probs(model, corpus.test)
    kn_val, kn_test = kn.log_probs(corpus.val), kn.log_probs(corpus.test)
    lam = best_mixture_weight(lp_val, kn_val)
    return dict(model=cross_entropy(lp_test), kn=cross_entropy(kn_test), lam=lam,
                mix=cross_entropy(mixture_log_probs(lp_test, kn_test, lam)),
                lp_test=lp_test, kn_test=kn_test)


def results_table(name: str, table: dict[int, dict[str, Any]], best: int, result: dict[str, Any],
                  params: int, seconds: float, perplexity: bool = True,
                  model_name: str = "NPLM") -> tuple[list[str], list[list[str]]]:
    """Columns and rows of a results table (for :func:`rnnbook.book.table`): the add-k and
    Kneser-Ney models of :func:`ngram_table`, the neural model and the mixture of
    :func:`compare_with_ngram`, in test perplexity (``perplexity``) or nats per token."""
    val = (lambda h: f"{math.exp(h):.1f}") if perplexity else (lambda h: f"{h:.3f}")
    columns = [f"{name} model", f"test {'perplexity' if perplexity else 'nats/char'}",
               "parameters or n-grams", "training time"]
    rows = [[f"add-k (k = {r['add_k']:g}), {n}-gram", val(r["addk_test"]), "", ""]
            for n, r in table.items()]
    for n, r in table.items():
        mark = " (best on validation)" if n == best else ""
        size = sum(len(t) for t in r["kn"].counts.keys[1:])
        rows.append([f"Kneser-Ney, {n}-gram{mark}", val(r["kn_test"]), f"{size:,} n-grams",
                     f"{r['fit_s']:.2f} s"])
    rows.append([model_name, val(result["model"]), f"{params:,}", f"{seconds:.0f} s"])
    rows.append([f"mixture {model_name} + KN (lambda = {result['lam']:.2f})",
                 val(result["mix"]), "", ""])
    return columns, rows


__all__ = ["LanguageModelLoss", "token_log_probs", "mixture_log_probs", "best_mixture_weight",
           "cross_entropy", "fit_lm", "loss_by_position", "ngram_table", "compare_with_ngram",
           "results_table", "known_word_share"]
