"""The regression task: batches ``(x, y)`` of float features and targets, squared error."""

from __future__ import annotations

from typing import Any, Optional

import torch.nn.functional as F
from torch import Tensor, nn

from ..evaluation import evaluate


def regression_loss(model: nn.Module, batch: Any) -> tuple[Tensor, int]:
    """Mean squared error of ``model(x)`` against ``y``: the loss function for
    :func:`rnnbook.train` and :func:`rnnbook.evaluate` on regression batches ``(x, y)``."""
    x, y = batch
    return F.mse_loss(model(x), y), y.numel()


def mse(model: nn.Module, x: Tensor, y: Tensor, batch_size: Optional[int] = 1024) -> float:
    """Mean squared error of ``model`` on a data set (eval mode, the one evaluation loop)."""
    step = batch_size or len(x)
    batches = [(x[i:i + step], y[i:i + step]) for i in range(0, len(x), step)]
    return evaluate(model, batches, regression_loss)


__all__ = ["regression_loss", "mse"]
