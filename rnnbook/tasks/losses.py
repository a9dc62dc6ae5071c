"""Losses shared by several tasks: ``(model, batch) -> (mean loss, items)``, the contract
of :func:`rnnbook.train` and :func:`rnnbook.evaluate`."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class ClassificationLoss:
    """Cross-entropy of one class per text: ``(model, PaddedBatch(x, lengths, y)) ->
    (mean loss per text, texts)``, for :func:`rnnbook.train` and :func:`rnnbook.evaluate`.
    ``label_smoothing`` as in ``torch.nn.functional.cross_entropy``."""

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing

    def __call__(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        x, lengths, y = batch
        logits = model(x, lengths)
        return F.cross_entropy(logits, y, label_smoothing=self.label_smoothing), int(y.numel())


__all__ = ["ClassificationLoss"]
