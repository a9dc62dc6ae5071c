"""The record of a training run: :class:`History`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional


@dataclass
class History:
    """What happened in a run, one entry per evaluation (plus ``grad_norm`` per step).

    ``time`` is training time in seconds, evaluation excluded, so curves against time compare
    models fairly. Losses are mean nats per item (token, example) as the loss function counts.
    """

    step: list[int] = field(default_factory=list)
    items: list[int] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[Optional[float]] = field(default_factory=list)
    items_per_sec: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    diverged: bool = False
    message: str = ""

    @property
    def best_val(self) -> float:
        """The lowest validation loss seen (``nan`` without validation data)."""
        vals = [v for v in self.val_loss if v is not None]
        return min(vals) if vals else math.nan

    @property
    def final_val(self) -> float:
        """The validation loss at the last evaluation."""
        return self.val_loss[-1] if self.val_loss and self.val_loss[-1] is not None else math.nan

    @property
    def seconds(self) -> float:
        """Total training time (evaluation excluded)."""
        return self.time[-1] if self.time else 0.0

    @property
    def speed(self) -> float:
        """Items (tokens) per second over the whole run."""
        return self.items[-1] / self.seconds if self.time and self.seconds > 0 else math.nan

    def to_dict(self) -> dict:
        return asdict(self)



__all__ = ["History"]
