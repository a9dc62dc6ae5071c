"""One training loop for every model in the book.

``train(model, batches, loss_fn, ...)`` knows nothing about chapters. A *loss function* turns a
batch into ``(mean_loss, n_items)``; each task module (:mod:`rnnbook.tasks`) provides its own,
e.g. :class:`rnnbook.tasks.lm.LanguageModelLoss`.
The loop adds what every run needs: a progress bar, a text log at each evaluation (the built
book shows text, not widgets), a :class:`History`, gradient-norm clipping, a clear stop when the
loss stops being a number, and atomic checkpoints that a later call can resume from.

The pieces it is built from live in their own modules and are re-exported here:
:mod:`rnnbook.runtime` (device, ``eval_mode``, ``detach``), :mod:`rnnbook.history`
(:class:`History`), :mod:`rnnbook.checkpoint` (verified, atomic checkpoints) and
:mod:`rnnbook.evaluation` (``evaluate``, ``outputs`` and the :class:`LossFn` /
:class:`StatefulLoss` protocols a loss follows).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Union

import torch
from torch import nn

from .batching import passes
from .checkpoint import (  # noqa: F401  (re-exported: rnnbook.train.save_checkpoint, ...)
    MAGIC,
    CorruptCheckpoint,
    _check_resumable,
    _continue,
    _read_checkpoint,
    _restore,
    _resume_point,
    _resumes,
    _saved_best,
    load_checkpoint,
    save_checkpoint,
)
from .config import building
from .evaluation import LossFn, StatefulLoss, evaluate, outputs, stateful  # noqa: F401
from .history import History
from .runtime import all_finite, detach, eval_mode, model_device, to_device  # noqa: F401


class TrainingDiverged(RuntimeError):
    """The loss, the gradient, the weights or the validation loss became NaN or infinite.

    Training stopped and the model was given back its last good weights (those of the last
    finite evaluation, or of the start of the run).
    """


def _build_schedule(schedule: Any, optimizer: torch.optim.Optimizer, total: int | None,
                    lr: float, warmup: float) -> Any:
    """The scheduler of ``train(schedule=...)`` over a run of ``total`` steps."""
    if total is None:
        raise ValueError("a schedule needs the length of the run: give steps, or epochs with "
                         "training data that has a len()")
    if schedule == "one-cycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total,
                                                   pct_start=warmup)
    return schedule(optimizer, total)


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
    weight_decay: float = 0.01,
    scheduler: Any = None,
    schedule: Union[None, str, Callable[[torch.optim.Optimizer, int], Any]] = None,
    warmup: float = 0.3,
    clip: float | None = 1.0,
    val_data: Iterable | None = None,
    val_loss_fn: LossFn | None = None,
    eval_every: int | None = None,
    eval_batches: int | None = None,
    checkpoint: str | Path | None = None,
    resume: Union[bool, str] = False,
    overwrite: bool = False,
    on_nan: str = "raise",
    progress: bool | None = None,
    log: Callable[[str], None] | None = print,
    unit: str = "tok",
    keep_best: Callable[[nn.Module], float] | None = None,
    history: History | None = None,
) -> History:
    """Train ``model`` on ``train_data`` with ``loss_fn``; return the :class:`History`.

    The run stops at ``steps`` optimiser steps, after ``epochs`` passes, or after
    ``max_seconds`` of training time, whichever comes first (give at least one). Every
    ``eval_every`` steps (default: ten times per run) it evaluates on ``val_data`` (at most
    ``eval_batches`` batches), logs a line and, with ``checkpoint``, saves one atomically.
    ``clip`` is the maximum gradient norm, a positive number (``None``: no clipping; the norm
    is still recorded). ``progress`` shows a bar (default: yes, except in a build of the book,
    :func:`rnnbook.config.building`, whose pages cannot show widgets). Batches go to the model's
    device. ``train_data`` (and ``val_data``)
    should be re-iterable (a list, a batcher): a one-shot generator serves a single pass only.

    The recipe: without an ``optimizer``, AdamW with ``lr`` and ``weight_decay``. ``schedule``
    sets the learning rate at every step: ``"one-cycle"`` is
    :class:`torch.optim.lr_scheduler.OneCycleLR` up to ``max_lr=lr`` over the run's ``N`` steps
    (``steps``, or ``epochs * len(train_data)``), warming up for the fraction ``warmup`` of
    them; a callable is ``schedule(optimizer, N) -> scheduler``. (A ready ``scheduler`` object,
    stepped after every optimiser step, works too.)

    ``keep_best=score_fn`` scores the model (``score_fn(model) -> float``, higher is better,
    run under :func:`~rnnbook.runtime.eval_mode`) at every evaluation, that is after every pass
    of a run given in ``epochs`` and every ``eval_every`` steps otherwise; at the end the model
    holds the weights of the best score of this run (the first, on ties), and the history
    records ``scores`` and ``best_step``. ``history=`` a previous run's :class:`History`
    appends this run's records to it (its steps, items and seconds counted on) and returns it.

    Checkpoints: ``resume=True`` continues from ``checkpoint``, which must exist
    (:class:`FileNotFoundError` otherwise); ``resume="if-exists"`` continues from it if it
    exists and starts afresh otherwise. Without ``resume`` an existing ``checkpoint`` file is
    an error (:class:`FileExistsError`) unless ``overwrite=True``. A checkpoint holds the random
    states, the place in ``train_data`` and the states of ``train_data`` and ``loss_fn``, so
    a resumed run repeats the straight run bit for bit. That needs ``train_data`` to be a
    list/tuple of batches or to follow the batcher protocol of :mod:`rnnbook.batching`
    (``state_dict``/``load_state_dict``); a checkpointed run without it is refused at the
    start (:class:`TypeError`), as is validating on the (stateful)
    training batcher itself. A damaged checkpoint raises :class:`CorruptCheckpoint`.

    A NaN/inf loss or gradient stops training before the bad update; weights that are no longer
    finite after an update, or a NaN/inf validation loss, stop it too. ``on_nan="raise"``
    raises :class:`TrainingDiverged`, ``"stop"`` returns the history with ``diverged=True``;
    either way the model is given back its last good weights (those of the last finite
    evaluation, or of the start of the run), and no checkpoint ever holds non-finite weights
    or a non-finite validation loss.
    """
    if steps is None and epochs is None and max_seconds is None:
        raise ValueError("say when to stop: give steps, epochs or max_seconds")
    if on_nan not in ("raise", "stop"):
        raise ValueError(f"on_nan must be 'raise' or 'stop', not {on_nan!r}")
    if clip is not None and not clip > 0:  # also refuses NaN
        raise ValueError(f"clip is the largest gradient norm allowed: a positive number (or None "
                         f"for no clipping), not {clip}")
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"eval_every must be a positive number of steps, not {eval_every}")
    if schedule is not None and scheduler is not None:
        raise ValueError("give a schedule (a name or a function) or a ready scheduler, not both")
    if schedule is not None and schedule != "one-cycle" and not callable(schedule):
        raise ValueError(f"schedule must be None, 'one-cycle' or a function (optimizer, steps) "
                         f"-> scheduler, not {schedule!r}")
    exists = _resumes(checkpoint, resume, overwrite)
    if epochs is not None and epochs > 1 and iter(train_data) is train_data:
        raise ValueError(f"the training data is a one-shot iterator (a generator?) but epochs="
                         f"{epochs} needs {epochs} passes; pass a re-iterable such as a list or "
                         "a batcher (StreamBatches, PaddedBatches)")
    stateful(loss_fn)  # a loss with part of the StatefulLoss methods is refused here
    if checkpoint is not None:
        _check_resumable(train_data, loss_fn, val_data, checkpoint)
    from tqdm.auto import tqdm

    dev = model_device(model)
    params = [p for p in model.parameters() if p.requires_grad]
    check = [p for p in params if p.numel() > 0]
    optimizer = optimizer or torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    total = steps if steps is not None else (
        epochs * len(train_data) if epochs is not None and hasattr(train_data, "__len__")
        else None)
    if schedule is not None:
        scheduler = _build_schedule(schedule, optimizer, total, lr, warmup)
    if val_loss_fn is None:
        val_loss_fn = loss_fn.fresh() if stateful(loss_fn) else loss_fn  # type: ignore
    if eval_every is None:
        if steps is not None:
            eval_every = max(1, steps // 10)
        elif epochs is not None and hasattr(train_data, "__len__"):
            eval_every = max(1, len(train_data))  # type: ignore[arg-type]
        else:
            eval_every = 100
    if val_data is not None and iter(val_data) is val_data and not (
            steps is not None and eval_every >= steps):
        raise ValueError("val_data is a one-shot iterator (a generator?): the first evaluation "
                         "would use it up; pass a re-iterable such as a list or a batcher")

    given, history = history, History() if history is None else history
    offset = history.step[-1] if history.step else 0  # the steps of the run it continues
    step, start, keep_loss = 0, (0, 0), False
    best: dict[str, Any] = {"score": -math.inf, "step": None, "state": None}
    if resume and exists:
        ckpt = _read_checkpoint(checkpoint)  # type: ignore[arg-type]
        step, saved = _restore(ckpt, checkpoint, model, optimizer,  # type: ignore[arg-type]
                               scheduler, train_data, True, loss_fn)
        offset = _continue(given, saved, ckpt, checkpoint)  # type: ignore[arg-type]
        history = history if given is not None else saved
        if keep_best is not None:
            best = _saved_best(ckpt, step, checkpoint)
        start = _resume_point(ckpt, train_data, step)
        keep_loss = ckpt.get("loss") is not None
        del ckpt
        if log:
            log(f"resumed from {checkpoint} at step {step}")
    elif resume and log:
        log(f"no checkpoint at {checkpoint}: starting a fresh run")

    def snapshot() -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    # the last good point: weights the model is given back if the run diverges
    good = {"step": step, "state": snapshot(), "what": "the checkpoint it resumed from"
            if resume and exists else "the start of the run"}
    seconds = history.seconds
    items_total = history.items[-1] if history.items else 0
    window_loss, window_items, window_time = 0.0, 0, 0.0
    if progress is None:
        progress = not building()  # a bar is a widget: the built pages would show nothing
    bar = tqdm(total=total, initial=step, disable=not progress, unit="step", leave=False)
    model.train()

    def record() -> str | None:
        """Evaluate, log, checkpoint; the problem if the validation loss is not finite."""
        nonlocal window_loss, window_items, window_time
        val = evaluate(model, val_data, val_loss_fn, eval_batches) if val_data is not None else None
        if val is not None and not math.isfinite(val):
            return f"the validation loss is {val} (not a finite number)"
        train_loss = window_loss / window_items if window_items else math.nan
        speed = window_items / window_time if window_time > 0 else math.nan
        history.step.append(offset + step)
        history.items.append(items_total)
        history.time.append(seconds)
        history.train_loss.append(train_loss)
        history.val_loss.append(val)
        history.items_per_sec.append(speed)
        window_loss, window_items, window_time = 0.0, 0, 0.0
        if log:
            val_txt = f" | val {val:.4f}" if val is not None else ""
            log(f"step {offset + step:>6} | train {train_loss:.4f}{val_txt} | "
                f"{speed:,.0f} {unit}/s | {seconds:.1f} s")
        state = snapshot()
        if keep_best is not None:
            with eval_mode(model):
                score = float(keep_best(model))
            history.scores.append(score)
            history.score_steps.append(offset + step)
            if score > best["score"]:
                best.update(score=score, step=step, state=state)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, step, history, scheduler,
                            data=train_data, loss_fn=loss_fn, loop=place,
                            best=best if keep_best is not None else None)
        good.update(step=step, state=state, what="the last finite evaluation")
        return None

    def diverge(at: int, problem: str) -> History:
        optimizer.zero_grad(set_to_none=True)
        model.load_state_dict(good["state"])
        kept = (f" The last good checkpoint, {checkpoint}, is untouched." if checkpoint is not None
                and Path(checkpoint).exists() else "")
        msg = (f"training stopped at step {at}: {problem}. The model is given back its weights "
               f"of step {good['step']} ({good['what']}).{kept} Try a lower learning rate, "
               "gradient clipping (clip=1.0) or a check of the inputs.")
        history.diverged, history.message = True, msg
        bar.close()
        if on_nan == "raise":
            raise TrainingDiverged(msg)
        if log:
            log(msg)
        return history

    end = object()
    place = {"epoch": start[0], "position": start[1]}
    if offset:
        place["offset"] = offset

    def new_pass(resumed: bool) -> None:  # a resumed pass keeps the loss state it restored
        if stateful(loss_fn) and not (keep_loss and resumed):
            loss_fn.reset()  # type: ignore[attr-defined]

    batches = passes(train_data, epochs, start, place, new_pass)
    try:
        # the stop test comes before the next batch is drawn, so that the data's position
        # (saved in checkpoints) counts only the batches trained on
        while not ((steps is not None and step >= steps) or (
                max_seconds is not None and seconds >= max_seconds)):
            batch = next(batches, end)
            if batch is end:
                break
            t0 = time.perf_counter()
            loss, n = loss_fn(model, to_device(batch, dev))
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                return diverge(step + 1, f"the loss is {loss_value} (not a finite number)")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = float(nn.utils.clip_grad_norm_(params, clip if clip is not None else math.inf))
            if not math.isfinite(norm):
                return diverge(step + 1, f"the gradient norm is {norm} (not a finite number)")
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if not all_finite(check):
                return diverge(step + 1, "after its update some weights are not finite numbers")
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
                problem = record()
                if problem:
                    return diverge(step, problem)
        if not history.step or history.step[-1] != offset + step:
            problem = record()
            if problem:
                return diverge(step, problem)
    finally:
        bar.close()
    if best["state"] is not None:
        model.load_state_dict(best["state"])
        if log:
            log(f"keep_best: the model holds its weights of step {offset + best['step']} "
                f"(score {best['score']:.4g})")
    return history
