"""Synthetic long-range tasks, and the many-to-one head that solves them.

**Adding problem** (after Hochreiter & Schmidhuber, 1997), the variant used here: an example is
a sequence of ``T`` steps with two input channels. Channel 0 holds numbers drawn uniformly from
``[0, 1)``; channel 1 is zero except for two ones, the *markers*, one at a uniformly chosen step
of the first half ``[0, T//2)`` and one in the second half ``[T//2, T)``. The target is the sum
of the two marked numbers, in ``[0, 2)``. Predicting the constant 1 (the target's mean) scores
a mean squared error of ``Var(u_1 + u_2) = 2/12 = 1/6``: a model must beat that to have learnt
anything. The first marker lies at least ``T//2`` steps before the end, so the answer needs a
memory of at least that span.

**Copy task** (delayed recall): ``length`` symbols from ``1..symbols``, then ``delay`` blanks
(``0``), then a delimiter (``symbols + 1``) that asks for the recall, then ``length - 1`` more
blanks; the target is blank everywhere except the last ``length`` steps, which must reproduce
the symbols in order. A model that outputs blanks and then guesses uniformly scores a
cross-entropy of ``length * ln(symbols) / (2 * length + delay)`` nats per step.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ADDING_BASELINE_MSE = 1.0 / 6.0  #: MSE of always predicting 1.0 on the adding problem


def _generator(seed: Union[int, torch.Generator]) -> torch.Generator:
    return seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)


def adding_problem(n: int, length: int, seed: Union[int, torch.Generator] = 0
                   ) -> tuple[Tensor, Tensor]:
    """``n`` examples of the adding problem of ``length`` steps: ``x`` ``(n, length, 2)``,
    ``y`` ``(n,)`` (float32). The same ``seed`` gives the same examples."""
    if length < 2:
        raise ValueError(f"the adding problem needs length >= 2, got {length}")
    gen = _generator(seed)
    half = length // 2
    values = torch.rand(n, length, generator=gen)
    first = torch.randint(0, half, (n,), generator=gen)
    second = torch.randint(half, length, (n,), generator=gen)
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return torch.stack([values, markers], dim=-1), y


class AddingBatches:
    """An endless stream of fresh adding-problem batches ``(x (B, T, 2), y (B,))``.

    Every pass starts again from ``seed``, so a run is reproducible; with fresh examples at
    every step there is no over-fitting, only learning or not.
    """

    def __init__(self, length: int, batch_size: int, seed: int = 0):
        self.length, self.batch_size, self.seed = length, batch_size, seed

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        gen = torch.Generator().manual_seed(self.seed)
        while True:
            yield adding_problem(self.batch_size, self.length, gen)


def copy_task(n: int, length: int = 10, delay: int = 20, symbols: int = 8,
              seed: Union[int, torch.Generator] = 0) -> tuple[Tensor, Tensor]:
    """``n`` examples of the copy task: ids ``x`` and targets ``y``, both ``(n, 2*length +
    delay)`` int64. Vocabulary: 0 blank, ``1..symbols`` data, ``symbols + 1`` the delimiter."""
    if length < 1 or delay < 0 or symbols < 1:
        raise ValueError("need length >= 1, delay >= 0 and symbols >= 1")
    gen = _generator(seed)
    T = 2 * length + delay
    data = torch.randint(1, symbols + 1, (n, length), generator=gen)
    x = torch.zeros(n, T, dtype=torch.long)
    y = torch.zeros(n, T, dtype=torch.long)
    x[:, :length] = data
    x[:, length + delay] = symbols + 1
    y[:, T - length:] = data
    return x, y


def copy_baseline(length: int = 10, delay: int = 20, symbols: int = 8) -> float:
    """Cross-entropy (nats per step) of blanks, then uniform guesses over the symbols."""
    return length * math.log(symbols) / (2 * length + delay)


class SequenceRegressor(nn.Module):
    """Many-to-one: a recurrent layer reads ``x`` ``(B, T, F)``; a linear layer maps its last
    output ``(B, H)`` to ``out_features`` numbers. ``forward(x) -> (B,)`` if ``out_features``
    is 1, else ``(B, out_features)``.

    ``cell`` is a ready module with ``batch_first=True`` or a class with ``torch.nn.RNN``'s
    constructor (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``, or the book's ``RNN``/``LSTM``/``GRU``).
    """

    def __init__(self, input_size: int, hidden_size: int = 0,
                 cell: Union[Callable[..., nn.Module], nn.Module] = nn.LSTM,
                 out_features: int = 1, **layer_kwargs):
        super().__init__()
        if isinstance(cell, nn.Module):
            if not getattr(cell, "batch_first", False):
                raise ValueError("SequenceRegressor feeds (batch, time, features): build the "
                                 "recurrent layer with batch_first=True")
            self.rnn = cell
        else:
            if hidden_size < 1:
                raise ValueError("give hidden_size (or pass a ready recurrent module as cell)")
            self.rnn = cell(input_size, hidden_size, batch_first=True, **layer_kwargs)
        width = self.rnn.hidden_size * (2 if getattr(self.rnn, "bidirectional", False) else 1)
        self.out = nn.Linear(width, out_features)
        self.out_features = out_features

    def forward(self, x: Tensor) -> Tensor:
        h, _ = self.rnn(x)
        y = self.out(h[:, -1])
        return y.squeeze(-1) if self.out_features == 1 else y


def regression_loss(model: nn.Module, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, int]:
    """Mean squared error of ``model(x)`` against ``y``: the loss function for
    :func:`rnnbook.train` on regression batches ``(x, y)``."""
    x, y = batch
    return F.mse_loss(model(x), y), y.numel()


@torch.no_grad()
def mse(model: nn.Module, x: Tensor, y: Tensor, batch_size: Optional[int] = 1024) -> float:
    """Mean squared error of ``model`` on a data set (eval mode)."""
    was = model.training
    model.eval()
    dev = next(model.parameters()).device
    total = 0.0
    try:
        step = batch_size or len(x)
        for i in range(0, len(x), step):
            pred = model(x[i:i + step].to(dev))
            total += float(((pred - y[i:i + step].to(dev)) ** 2).sum())
    finally:
        model.train(was)
    return total / y.numel()


__all__ = ["ADDING_BASELINE_MSE", "adding_problem", "AddingBatches", "copy_task", "copy_baseline",
           "SequenceRegressor", "regression_loss", "mse"]
