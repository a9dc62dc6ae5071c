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
    ``scores`` are the values of ``train(keep_best=score_fn)`` (higher is better) at the steps
    ``score_steps``; :attr:`best_step` is the step of the best. :meth:`extend` appends a later
    run (``train(history=...)`` does it as it goes).
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
    scores: list[float] = field(default_factory=list)
    score_steps: list[int] = field(default_factory=list)

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

    @property
    def best_step(self) -> Optional[int]:
        """The step of the highest score (the first, on ties; NaN scores never count);
        ``None`` without scores."""
        best: Optional[int] = None
        top = -math.inf
        for step, score in zip(self.score_steps, self.scores):
            if score > top:
                best, top = step, score
        return best

    def extend(self, later: History) -> History:
        """Append the records of ``later``, a run that continued this one: its steps, items and
        seconds are counted on from this run's last ones. In place; returns ``self``."""
        step = self.step[-1] if self.step else 0
        items = self.items[-1] if self.items else 0
        seconds = self.seconds
        self.step += [step + s for s in later.step]
        self.items += [items + n for n in later.items]
        self.time += [seconds + t for t in later.time]
        self.train_loss += later.train_loss
        self.val_loss += later.val_loss
        self.items_per_sec += later.items_per_sec
        self.grad_norm += later.grad_norm
        self.scores += later.scores
        self.score_steps += [step + s for s in later.score_steps]
        self.diverged = self.diverged or later.diverged
        self.message = "\n".join(m for m in (self.message, later.message) if m)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


__all__ = ["History"]
