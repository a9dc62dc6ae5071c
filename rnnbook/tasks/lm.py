"""The language-modelling task: its loss, per-token scores, model mixtures, a training recipe.

A model is scored on a held-out stream ``x_0 .. x_{N-1}`` by ``log p(x_t | x_{<t})`` for
``t = 1 .. N-1``: the same tokens for a count-based model (:mod:`rnnbook.ngram`) and a neural one,
so their cross-entropies (mean nats per token) and perplexities compare directly, and their
per-token probabilities can be mixed: ``p = lam p_a + (1 - lam) p_b``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..batching import StreamBatches
from ..train import History, LanguageModelLoss, eval_mode, model_device, train


def token_log_probs(model: nn.Module, ids: torch.Tensor, chunk: int = 2048) -> np.ndarray:
    """``log p(x_t | x_{<t})`` (nats) for ``t = 1 .. N-1`` under a model with the book's interface.

    The stream is read in chunks, each chunk's final state fed to the next, so a stateful model
    (an RNN, or an NPLM carrying its window) sees the whole past.
    """
    dev = model_device(model)
    ids = torch.as_tensor(ids, dtype=torch.long).flatten().to(dev)
    out, state = [], None
    with eval_mode(model):
        for start in range(0, len(ids) - 1, chunk):
            x = ids[start: min(start + chunk, len(ids) - 1)][None]
            y = ids[start + 1: start + 1 + x.size(1)]
            logits, state = model(x, state)
            lp = torch.log_softmax(logits[0].float(), -1).gather(1, y[:, None])[:, 0]
            out.append(lp.cpu().numpy().astype(np.float64))
    return np.concatenate(out)


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
    batches = StreamBatches(train_ids, batch_size, seq_len)
    val = StreamBatches(val_ids, 16, 256)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.05)
    return train(model, batches, LanguageModelLoss(stateful=True), steps=steps, optimizer=opt,
                 scheduler=sched, val_data=val, progress=False, log=log,
                 eval_every=max(1, steps // 10))


__all__ = ["LanguageModelLoss", "token_log_probs", "mixture_log_probs", "best_mixture_weight",
           "cross_entropy", "fit_lm"]
