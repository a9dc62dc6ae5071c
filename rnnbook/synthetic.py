"""Synthetic long-range problems: the adding problem and the copy task.

**Adding problem** (after Hochreiter & Schmidhuber, 1997), in the variant of Le, Jaitly & Hinton
(2015): an example is a sequence of ``T`` steps with two input channels. Channel 0 holds numbers
drawn uniformly from ``[0, 1)``; channel 1 is zero except for two ones, the *markers*, one at a
uniformly chosen step of the first half ``[0, T//2)`` and one in the second half ``[T//2, T)``.
The target is the sum of the two marked numbers, in ``[0, 2)``. Predicting the constant 1 (the
target's mean) scores a mean squared error of ``Var(u_1 + u_2) = 2/12 = 1/6``: a model must beat
that to have learnt anything. The first marker lies at least ``T//2`` steps before the end, so
the answer needs a memory of at least that span.

**Copy task** (delayed recall): ``length`` symbols from ``1..symbols``, then ``delay`` blanks
(``0``), then a delimiter (``symbols + 1``) that asks for the recall, then ``length - 1`` more
blanks; the target is blank everywhere except the last ``length`` steps, which must reproduce
the symbols in order. A model that outputs blanks and then guesses uniformly scores a
cross-entropy of ``length * ln(symbols) / (2 * length + delay)`` nats per step.
"""

from __future__ import annotations

import math
from typing import Iterator, Union

import torch
from torch import Tensor

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
    every step there is no over-fitting, only learning or not. :meth:`state_dict` is the seed
    (the batcher protocol of :mod:`rnnbook.batching`: :func:`rnnbook.train` resumes by
    replaying the pass and skipping the batches it already trained on).
    """

    def __init__(self, length: int, batch_size: int, seed: int = 0):
        self.length, self.batch_size, self.seed = length, batch_size, seed

    def state_dict(self) -> dict[str, int]:
        """``{"seed": seed}``: the pass in progress, which every iteration replays."""
        return {"seed": int(self.seed)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Replay the saved run's stream: its ``seed``."""
        self.seed = int(state["seed"])

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


__all__ = ["ADDING_BASELINE_MSE", "adding_problem", "AddingBatches", "copy_task", "copy_baseline"]
