"""What a language model costs: training throughput, generation time per token, state size,
and training for equal wall-clock budgets.

Timings are best-of-``reps`` after one untimed warm-up run: load from other programs can only
make a run slower, so the best of several runs of the same work is the least disturbed one.
They are of this machine, at this moment; only ratios with wide margins mean much.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Sequence

import torch
from torch import Tensor, nn

from .check import best_seconds
from .history import History
from .runtime import eval_mode, model_device
from .train import train

LossFn = Callable[[nn.Module, Any], tuple[Tensor, int]]  # (model, batch) -> (mean loss, items)


def _ids(model: nn.Module, batch: int, length: int, seed: int = 0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, model.vocab_size, (batch, length), generator=g).to(
        model_device(model))


def training_tokens_per_second(model: nn.Module, loss_fn: LossFn, batch: int, length: int,
                               reps: int = 3) -> float:
    """Tokens per second of one forward and backward pass of ``loss_fn`` (no update) on random
    ids ``(batch, length)``, the batch ``(x, y)`` of next-token prediction (e.g. a
    :class:`~rnnbook.tasks.lm.LanguageModelLoss`); the model needs a ``vocab_size`` attribute."""
    ids = _ids(model, batch, length + 1)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        loss_fn(model, (ids[:, :-1], ids[:, 1:]))[0].backward()

    seconds = best_seconds(step, reps, model_device(model))
    model.zero_grad(set_to_none=True)
    return batch * length / seconds


def seconds_per_new_token(model: nn.Module, context: int, reuse_state: bool = True,
                          reps: int = 5) -> float:
    """Time to compute the next token's logits after ``context`` tokens (batch 1, no grad).

    ``reuse_state``: the model is given its state after the context (an RNN's hidden state, a
    Transformer's KV cache) and reads one token. Otherwise it reads all ``context + 1`` tokens
    again from scratch, as a model without a cache must.
    """
    if context < 1:
        raise ValueError(f"context must be at least 1 token, got {context}")
    ids = _ids(model, 1, context + 1)
    with eval_mode(model):
        if reuse_state:
            _, state = model(ids[:, :-1])
            return best_seconds(lambda: model(ids[:, -1:], state), reps, model_device(model))
        return best_seconds(lambda: model(ids), reps, model_device(model))


def state_bytes(state: Any) -> int:
    """Bytes of every tensor in a (nested) state: hidden states, KV caches, context ids."""
    if state is None:
        return 0
    if isinstance(state, Tensor):
        return state.numel() * state.element_size()
    return sum(state_bytes(s) for s in state)


class Resumable:
    """The batches of ``batches`` in order, pass after pass, from wherever the last iteration
    stopped: successive :func:`rnnbook.train` calls read on instead of starting over."""

    def __init__(self, batches: Iterable):
        self.batches, self._it = batches, iter(batches)

    def __iter__(self) -> Iterator:
        while True:
            try:
                yield next(self._it)
            except StopIteration:
                self._it = iter(self.batches)


def train_for_budgets(model: nn.Module, batches: Iterable, loss_fn: LossFn,
                      budgets: Sequence[float], score: Callable[[nn.Module], float],
                      **train_kwargs: Any) -> tuple[History, list[dict[str, float]]]:
    """Train with :func:`rnnbook.train` until each of the increasing ``budgets`` (seconds of
    training, evaluation excluded) is spent, and ``score`` the model at each.

    Returns the joined :class:`History` and one row per budget: ``budget``, ``seconds`` (spent,
    at most one step beyond the budget), ``steps`` and ``score``. ``train_kwargs`` go to
    :func:`rnnbook.train` (optimizer, scheduler, val_data, eval_every, ...); pass the same
    optimizer and scheduler so that the stages are one run.
    """
    if not budgets or any(b <= a for a, b in zip([0.0, *budgets], budgets)):
        raise ValueError(f"budgets must be increasing positive seconds, got {list(budgets)}")
    data, history, rows = Resumable(batches), History(), []
    for budget in budgets:
        part = train(model, data, loss_fn, max_seconds=budget - history.seconds,
                     **train_kwargs)
        history.extend(part)
        rows.append(dict(budget=budget, seconds=history.seconds, steps=history.step[-1],
                         score=score(model)))
    return history, rows


__all__ = ["best_seconds", "training_tokens_per_second", "seconds_per_new_token",
           "state_bytes", "Resumable", "train_for_budgets"]
