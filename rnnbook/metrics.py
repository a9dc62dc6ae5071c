"""Numbers the book reports: perplexity, bits per symbol, accuracy."""

from __future__ import annotations

import math

import torch

LN2 = math.log(2.0)


def perplexity(nats: float) -> float:
    """Perplexity of a mean cross-entropy given in nats: ``exp(H)``."""
    return math.exp(nats)


def bits(nats: float) -> float:
    """Convert a cross-entropy from nats to bits (per character/token): ``H / ln 2``."""
    return nats / LN2


def accuracy(
    predictions: torch.Tensor, targets: torch.Tensor, ignore_index: int | None = None
) -> float:
    """Share of positions where the prediction equals the target.

    ``predictions`` are class ids with the shape of ``targets``, or logits with one extra last
    dimension (the arg-max is taken). Positions whose target is ``ignore_index`` do not count.
    """
    if predictions.dim() == targets.dim() + 1:
        predictions = predictions.argmax(-1)
    if predictions.shape != targets.shape:
        raise ValueError(f"predictions {tuple(predictions.shape)} and targets "
                         f"{tuple(targets.shape)} do not match")
    keep = torch.ones_like(targets, dtype=torch.bool)
    if ignore_index is not None:
        keep = targets != ignore_index
    total = int(keep.sum())
    if total == 0:
        raise ValueError(
            "no positions to score: every target is ignore_index or the batch is empty")
    return float(((predictions == targets) & keep).sum()) / total
