"""One training loop for every model in the book.

``train(model, batches, loss_fn, ...)`` knows nothing about chapters. A *loss function* turns a
batch into ``(mean_loss, n_items)``; :class:`LanguageModelLoss` is the one language models use.
The loop adds what every run needs: a progress bar, a text log at each evaluation (the built
book shows text, not widgets), a :class:`History`, gradient-norm clipping, a clear stop when the
loss stops being a number, and atomic checkpoints that a later call can resume from.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import torch
import torch.nn.functional as F
from torch import nn

LossFn = Callable[[nn.Module, Any], "tuple[torch.Tensor, int]"]


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN or infinite; training stopped before the bad step."""


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


def detach(state: Any) -> Any:
    """Cut a recurrent state (tensor, or tuple/list of them) from the graph that made it."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(detach(s) for s in state)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) batch to ``device``; leave other values alone."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


class LanguageModelLoss:
    """Next-token cross-entropy for models that map ``(ids, state) -> (logits, state)``.

    A batch is ``(x, y)``, both ``(batch, time)``; logits are ``(batch, time, vocab)``. With
    ``stateful=True`` (truncated BPTT over :class:`~rnnbook.batching.StreamBatches`) the final
    state of one batch, detached, is the initial state of the next; :meth:`reset` forgets it.
    """

    def __init__(self, stateful: bool = False, ignore_index: int = -100):
        self.stateful, self.ignore_index = stateful, ignore_index
        self.state: Any = None

    def reset(self) -> None:
        self.state = None

    def fresh(self) -> LanguageModelLoss:
        """A copy with its own (empty) state, e.g. for validation."""
        return LanguageModelLoss(self.stateful, self.ignore_index)

    def __call__(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        x, y = batch
        logits, state = model(x, self.state if self.stateful else None)
        if self.stateful:
            self.state = detach(state)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                               ignore_index=self.ignore_index)
        return loss, int((y != self.ignore_index).sum())


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's first parameter (the CPU for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@torch.no_grad()
def evaluate(model: nn.Module, data: Iterable, loss_fn: LossFn, max_batches: int | None = None
             ) -> float:
    """Mean loss per item over ``data``, in eval mode and without building a graph."""
    was_training = model.training
    model.eval()
    if hasattr(loss_fn, "reset"):
        loss_fn.reset()
    dev = model_device(model)
    total, count = 0.0, 0
    try:
        for i, batch in enumerate(data):
            if max_batches is not None and i >= max_batches:
                break
            loss, n = loss_fn(model, to_device(batch, dev))
            total += float(loss) * n
            count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluation saw no items: the validation data is empty")
    return total / count


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    step: int, history: History, scheduler: Any = None) -> None:
    """Write a checkpoint atomically: a crash mid-write never leaves a broken file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "step": step, "history": history.to_dict()}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None
                    = None, scheduler: Any = None) -> tuple[int, History]:
    """Restore a model (and optimiser, scheduler) saved by :func:`save_checkpoint`.

    Returns ``(step, history)``.
    """
    ckpt = torch.load(path, map_location=model_device(model), weights_only=False)
    model.load_state_dict(ckpt["model"])
    if optimizer is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None and ckpt.get("scheduler") is not None:
        scheduler.load_state_dict(ckpt["scheduler"])
    return ckpt["step"], History(**ckpt["history"])


def _epochs(data: Iterable, loss_fn: LossFn, epochs: int | None, done: int):
    """Pass over ``data`` again and again (``epochs`` times, or forever), skipping the first
    ``done`` batches (a resumed run continues where the checkpoint left off)."""
    passes = len(data) if hasattr(data, "__len__") else 0  # type: ignore[arg-type]
    epoch, skip = (done // passes, done % passes) if passes else (0, 0)
    first = epoch
    while epochs is None or epoch < epochs:
        if hasattr(loss_fn, "reset"):
            loss_fn.reset()
        empty = True
        for i, batch in enumerate(data):
            empty = False
            if epoch == first and i < skip:
                continue
            yield batch
        if empty:
            raise ValueError("the training data yielded no batches: it is empty")
        epoch += 1


def train(
    model: nn.Module,
    train_data: Iterable,
    loss_fn: LossFn,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    max_seconds: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    scheduler: Any = None,
    clip: float | None = 1.0,
    val_data: Iterable | None = None,
    val_loss_fn: LossFn | None = None,
    eval_every: int | None = None,
    eval_batches: int | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    on_nan: str = "raise",
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    unit: str = "tok",
) -> History:
    """Train ``model`` on ``train_data`` with ``loss_fn``; return the :class:`History`.

    The run stops at ``steps`` optimiser steps, after ``epochs`` passes, or after
    ``max_seconds`` of training time, whichever comes first (give at least one). Every
    ``eval_every`` steps (default: ten times per run) it evaluates on ``val_data`` (at most
    ``eval_batches`` batches), logs a line and, with ``checkpoint``, saves one atomically.
    ``clip`` is the maximum gradient norm (``None``: no clipping; the norm is still recorded).
    Batches go to the model's device. With ``resume`` and an existing ``checkpoint`` the run
    continues from it. A NaN/inf loss or gradient stops training *before* the bad update:
    ``on_nan="raise"`` raises :class:`TrainingDiverged`, ``"stop"`` returns the history with
    ``diverged=True``; either way the model keeps its last good weights and the last
    checkpoint is untouched.
    """
    if steps is None and epochs is None and max_seconds is None:
        raise ValueError("say when to stop: give steps, epochs or max_seconds")
    if on_nan not in ("raise", "stop"):
        raise ValueError(f"on_nan must be 'raise' or 'stop', not {on_nan!r}")
    from tqdm.auto import tqdm

    dev = model_device(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = optimizer or torch.optim.AdamW(params, lr=lr)
    if val_loss_fn is None:
        val_loss_fn = loss_fn.fresh() if hasattr(loss_fn, "fresh") else loss_fn
    if eval_every is None:
        if steps is not None:
            eval_every = max(1, steps // 10)
        elif epochs is not None and hasattr(train_data, "__len__"):
            eval_every = max(1, len(train_data))  # type: ignore[arg-type]
        else:
            eval_every = 100

    history, step = History(), 0
    if resume and checkpoint is not None and Path(checkpoint).exists():
        step, history = load_checkpoint(checkpoint, model, optimizer, scheduler)
        if log:
            log(f"resumed from {checkpoint} at step {step}")

    seconds = history.seconds
    items_total = history.items[-1] if history.items else 0
    window_loss, window_items, window_time = 0.0, 0, 0.0
    total = steps if steps is not None else (
        epochs * len(train_data) if epochs is not None and hasattr(train_data, "__len__")
        else None)
    bar = tqdm(total=total, initial=step, disable=not progress, unit="step", leave=False)
    model.train()

    def record() -> None:
        nonlocal window_loss, window_items, window_time
        val = evaluate(model, val_data, val_loss_fn, eval_batches) if val_data is not None else None
        train_loss = window_loss / window_items if window_items else math.nan
        speed = window_items / window_time if window_time > 0 else math.nan
        history.step.append(step)
        history.items.append(items_total)
        history.time.append(seconds)
        history.train_loss.append(train_loss)
        history.val_loss.append(val)
        history.items_per_sec.append(speed)
        window_loss, window_items, window_time = 0.0, 0, 0.0
        if log:
            val_txt = f" | val {val:.4f}" if val is not None else ""
            log(f"step {step:>6} | train {train_loss:.4f}{val_txt} | "
                f"{speed:,.0f} {unit}/s | {seconds:.1f} s")
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, step, history, scheduler)

    def diverge(what: str, value: float) -> History:
        kept = (f" The last good checkpoint, {checkpoint}, is untouched." if checkpoint is not None
                and Path(checkpoint).exists() else "")
        msg = (f"training stopped at step {step + 1}: the {what} is {value} (not a finite number). "
               f"The model keeps its weights from before this step.{kept} Try a lower learning "
               "rate, gradient clipping (clip=1.0) or a check of the inputs.")
        history.diverged, history.message = True, msg
        bar.close()
        if on_nan == "raise":
            raise TrainingDiverged(msg)
        if log:
            log(msg)
        return history

    try:
        for batch in _epochs(train_data, loss_fn, epochs, step):
            if (steps is not None and step >= steps) or (
                    max_seconds is not None and seconds >= max_seconds):
                break
            t0 = time.perf_counter()
            loss, n = loss_fn(model, to_device(batch, dev))
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                return diverge("loss", loss_value)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = float(nn.utils.clip_grad_norm_(params, clip if clip is not None else math.inf))
            if not math.isfinite(norm):
                optimizer.zero_grad(set_to_none=True)
                return diverge("gradient norm", norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            dt = time.perf_counter() - t0
            step += 1
            seconds += dt
            window_time += dt
            window_loss += loss_value * n
            window_items += n
            items_total += n
            history.grad_norm.append(norm)
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.3f}", refresh=False)
            if step % eval_every == 0:
                record()
        if not history.step or history.step[-1] != step:
            record()
    finally:
        bar.close()
    return history
