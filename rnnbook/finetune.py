"""ULMFiT's fine-tuning (Howard & Ruder 2018, arXiv 1801.06146) as ``torch.optim`` pieces.

No new training loop: each piece plugs into :func:`rnnbook.train` through its ``optimizer=``,
``scheduler=`` or ``schedule=`` argument.

- :func:`discriminative_groups`: one parameter group per layer, each layer's learning rate
  1/2.6 of the layer above it (eq. 2, ``eta^{l-1} = eta^l / 2.6``);
- :func:`slanted_triangular`: the slanted triangular learning rates (eq. 3), a short linear
  warm-up to the peak then a long linear decay, as a ``LambdaLR`` multiplier;
- :class:`GradualUnfreezing`: train the top layer first and unfreeze one more layer per stage.

One run with slanted triangular rates: ``train(model, batches, loss_fn, epochs=3,
optimizer=opt, schedule=slanted_triangular_scheduler)`` (other settings through
``functools.partial(slanted_triangular_scheduler, cut_frac=0.2)``).

Gradual unfreezing with :func:`rnnbook.train`, one optimiser over every group and one scheduler
over the whole run, one ``train`` call per stage (``train`` collects the trainable parameters
at the start of each call; frozen ones get no gradient, so AdamW skips them, weight decay
included)::

    layers = [model.embed, model.encoder, model.out]   # a TextClassifier without attention
    opt = torch.optim.AdamW(discriminative_groups(layers, lr=2e-3))
    sched = slanted_triangular_scheduler(opt, total_steps=len(layers) * len(batches))
    unfreezing = GradualUnfreezing(layers)
    for k in range(len(layers)):
        unfreezing.stage(k)          # the top k+1 layers train
        train(model, batches, loss_fn, epochs=1, optimizer=opt, scheduler=sched)
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["slanted_triangular", "slanted_triangular_scheduler", "discriminative_groups",
           "freeze", "unfreeze", "GradualUnfreezing", "count_trainable"]


def slanted_triangular(total_steps: int, cut_frac: float = 0.1, ratio: float = 32
                       ) -> Callable[[int], float]:
    """The multiplier ``lr_t / lr_max`` of slanted triangular learning rates (ULMFiT eq. 3)::

        cut  = max(1, floor(T * cut_frac))
        p    = t / cut                          if t < cut
               1 - (t - cut) / (T - cut)        otherwise (never below 0)
        lr_t = lr_max * (1 + p * (ratio - 1)) / ratio

    ``T = total_steps``. The rate climbs from ``lr_max / ratio`` at ``t = 0`` to ``lr_max`` at
    ``t = cut`` and falls back to ``lr_max / ratio`` at ``t = T`` (and stays there). The paper
    writes the decay's length as ``cut * (1/cut_frac - 1)``, which is ``T - cut`` when
    ``T * cut_frac`` is a whole number; where it is not, ``T - cut`` keeps the rate positive
    and ends the decay exactly at ``T``. For ``torch.optim.lr_scheduler.LambdaLR``, stepped
    once per optimiser step (as :func:`rnnbook.train` does).
    """
    if not isinstance(total_steps, int) or total_steps < 2:
        raise ValueError(f"total_steps must be a whole number of at least 2, got {total_steps!r}")
    if not 0 < cut_frac < 1:
        raise ValueError(f"cut_frac is the fraction of steps that raise the rate, between 0 and "
                         f"1, got {cut_frac}")
    if not ratio >= 1:
        raise ValueError(f"ratio is lr_max / lr_min, at least 1, got {ratio}")
    cut = max(1, math.floor(total_steps * cut_frac))

    def multiplier(t: int) -> float:
        p = t / cut if t < cut else max(0.0, 1 - (t - cut) / (total_steps - cut))
        return (1 + p * (ratio - 1)) / ratio

    return multiplier


def slanted_triangular_scheduler(optimizer: torch.optim.Optimizer, total_steps: int,
                                 **kw: Any) -> LambdaLR:
    """``LambdaLR(optimizer, slanted_triangular(total_steps, **kw))``: each group's rate is its
    own ``lr`` times the multiplier, so discriminative ratios between groups are kept. Usable as
    :func:`rnnbook.train`'s ``schedule=`` (called as ``schedule(optimizer, total_steps)``)."""
    return LambdaLR(optimizer, slanted_triangular(total_steps, **kw))


def discriminative_groups(layers: Sequence[nn.Module], lr: float, factor: float = 2.6,
                          **group_options: Any) -> list[dict[str, Any]]:
    """One optimiser parameter group per layer, bottom (``layers[0]``) to top (``layers[-1]``)::

        eta^L = lr,    eta^{l-1} = eta^l / factor    i.e.  eta^l = lr / factor^(L - l)

    (ULMFiT eq. 2 with ``factor = 2.6``). Every parameter of a layer is in its group, frozen or
    not, so one optimiser serves all stages of :class:`GradualUnfreezing`. ``group_options``
    (e.g. ``weight_decay=0.01``) go into every group. Parameters outside ``layers`` are not
    in any group: list every part of the model that should train.
    """
    if not lr > 0:
        raise ValueError(f"lr is the top layer's learning rate, a positive number, got {lr}")
    if not factor > 0:
        raise ValueError(f"factor divides the rate from one layer to the next, a positive "
                         f"number, got {factor}")
    if "params" in group_options or "lr" in group_options:
        raise ValueError("params and lr are set per layer; pass lr= (the top layer's rate)")
    if len(layers) == 0:
        raise ValueError("discriminative_groups needs at least one layer")
    seen: dict[int, int] = {}
    groups = []
    for i, layer in enumerate(layers):
        params = list(layer.parameters())
        if not params:
            raise ValueError(f"layer {i} ({type(layer).__name__}) has no parameters")
        for p in params:
            if id(p) in seen:
                raise ValueError(f"layers {seen[id(p)]} and {i} share a parameter (tied "
                                 "weights?): each parameter must belong to one layer only")
            seen[id(p)] = i
        groups.append({"params": params, "lr": lr / factor ** (len(layers) - 1 - i),
                       **group_options})
    return groups


def freeze(module: nn.Module) -> nn.Module:
    """Stop training ``module``: ``requires_grad = False`` and no gradient held, so an
    optimiser step (AdamW's weight decay included) leaves its parameters as they are."""
    for p in module.parameters():
        p.requires_grad_(False)
        p.grad = None
    return module


def unfreeze(module: nn.Module) -> nn.Module:
    """Train ``module`` again: ``requires_grad = True`` for each of its parameters."""
    for p in module.parameters():
        p.requires_grad_(True)
    return module


class GradualUnfreezing:
    """ULMFiT's gradual unfreezing: at stage ``k`` only the top ``k + 1`` layers train.

    ``GradualUnfreezing(layers)`` (bottom to top); ``stage(0)`` trains ``layers[-1]`` only,
    ``stage(1)`` the top two, ..., ``stage(len(layers) - 1)`` and later stages all of them.
    ``trainable()`` lists the indices of the layers that train now.
    """

    def __init__(self, layers: Sequence[nn.Module]):
        if len(layers) == 0:
            raise ValueError("GradualUnfreezing needs at least one layer")
        self.layers = list(layers)

    def stage(self, k: int) -> list[int]:
        """Freeze every layer below the top ``k + 1``, unfreeze those; the trainable indices."""
        if k < 0:
            raise ValueError(f"the stage is a count from 0 (top layer only), got {k}")
        first = max(0, len(self.layers) - 1 - k)
        for i, layer in enumerate(self.layers):
            (unfreeze if i >= first else freeze)(layer)
        return self.trainable()

    def trainable(self) -> list[int]:
        """Indices of the layers whose parameters all train (``requires_grad``)."""
        return [i for i, layer in enumerate(self.layers)
                if all(p.requires_grad for p in layer.parameters())]


def count_trainable(model: nn.Module) -> int:
    """The number of trainable numbers: ``sum(p.numel() for p in model.parameters() if
    p.requires_grad)`` (a tied parameter counts once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
