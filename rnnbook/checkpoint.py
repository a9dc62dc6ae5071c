"""Atomic, verified checkpoints of a training run.

A checkpoint file is a header (``MAGIC``, the SHA-256 of the payload, its length in bytes)
followed by the payload, ``torch.save`` of a dict of tensors and plain values; loading checks
the header and the checksum before ``torch.load(weights_only=True)`` reads the payload.
:func:`rnnbook.train` writes and resumes from them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import math
import os
import pickle
import random
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from torch import nn

from .history import History
from .runtime import model_device, to_device

MAGIC = b"rnnbook checkpoint 2\n"  #: the first bytes of every checkpoint file
_HEADER = len(MAGIC) + 32 + 8  # magic, SHA-256 digest of the payload, payload length (LE)
_ZIP = b"PK\x03\x04"  # a bare torch.save file: a checkpoint of an older rnnbook


class CorruptCheckpoint(ValueError):
    """A checkpoint file is empty, cut short, damaged (its checksum does not match) or not a
    checkpoint at all. The message names the file and what to do."""


def _rng_state() -> dict[str, Any]:
    """Every global random state a run uses, as tensors and plain values (``weights_only``)."""
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"name": str(np_name), "keys": [int(k) for k in np_keys], "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "cached_gaussian": float(np_gauss)},
        "python": [int(py_version), [int(v) for v in py_internal], py_gauss],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        for i, s in enumerate(cuda[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(s.cpu(), i)
    n = state["numpy"]
    np.random.set_state((n["name"], np.asarray(n["keys"], dtype=np.uint32), n["pos"],
                         n["has_gauss"], n["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def _class_name(obj: Any) -> str | None:
    return None if obj is None else f"{type(obj).__module__}.{type(obj).__qualname__}"


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    step: int, history: History, scheduler: Any = None, *,
                    data: Any = None, loss_fn: Any = None,
                    loop: dict[str, int] | None = None,
                    best: dict[str, Any] | None = None) -> None:
    """Write a checkpoint atomically: a crash mid-write never leaves a broken file behind.

    Besides the model, optimiser and scheduler states, the step and the :class:`History`, it
    holds the optimiser's (and scheduler's) class, every global random state (torch, CUDA,
    NumPy, Python), the state of ``data`` and of ``loss_fn`` when they have a ``state_dict()``
    (the shuffle of :class:`~rnnbook.batching.PaddedBatches`, the carried state of a stateful
    :class:`~rnnbook.tasks.lm.LanguageModelLoss`) and ``loop``, :func:`train`'s place in the
    data (``{"epoch": e, "position": k}``: ``k`` batches of pass ``e`` trained on), so that a
    resumed run repeats the same batches, shuffles and dropout masks (and ``best``, the best
    score, step and weights of ``train(keep_best=...)``). The payload holds tensors
    and plain Python values only, so that :func:`load_checkpoint` can read it with
    ``torch.load(weights_only=True)``; the file starts with a header holding the payload's
    SHA-256 and length, which :func:`load_checkpoint` verifies.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "optimizer_class": _class_name(optimizer),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scheduler_class": _class_name(scheduler),
            "step": step, "history": history.to_dict(), "rng": _rng_state(),
            "data": data.state_dict() if callable(getattr(data, "state_dict", None)) else None,
            "loss": loss_fn.state_dict() if callable(getattr(loss_fn, "state_dict", None))
            else None,
            "loop": dict(loop) if loop is not None else None}
    if best is not None:  # train(keep_best=...): the best score, its step and weights so far
        ckpt["best"] = dict(best)
    buffer = io.BytesIO()
    torch.save(ckpt, buffer)
    payload = buffer.getbuffer()
    header = MAGIC + hashlib.sha256(payload).digest() + len(payload).to_bytes(8, "little")
    try:
        with open(tmp, "wb") as f:
            f.write(header)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        with contextlib.suppress(OSError, AttributeError):  # make the rename durable (POSIX)
            fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        tmp.unlink(missing_ok=True)


def _read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The dict that :func:`save_checkpoint` wrote to ``path``, once the header and the
    checksum are verified; :class:`CorruptCheckpoint` (naming the file) otherwise."""
    path = Path(path)
    raw = path.read_bytes()  # a missing file: FileNotFoundError, which names it

    def corrupt(problem: str) -> CorruptCheckpoint:
        return CorruptCheckpoint(
            f"{path} is not a usable checkpoint: {problem}. Its contents cannot be trusted: "
            "delete it and start a fresh run (train(..., overwrite=True) replaces it), or "
            "resume from an intact copy")

    verified = raw.startswith(MAGIC)
    if not raw:
        raise corrupt("the file is empty (0 bytes), as a write that never finished leaves it")
    if verified:
        if len(raw) < _HEADER:
            raise corrupt(f"it is cut short: {len(raw)} bytes, less than its {_HEADER}-byte "
                          "header")
        digest = raw[len(MAGIC):len(MAGIC) + 32]
        size = int.from_bytes(raw[len(MAGIC) + 32:_HEADER], "little")
        payload = memoryview(raw)[_HEADER:]
        if len(payload) != size:
            how = "cut short" if len(payload) < size else "longer than written"
            raise corrupt(f"it is {how}: its header records {size:,} bytes of data, the file "
                          f"holds {len(payload):,}")
        if hashlib.sha256(payload).digest() != digest:
            raise corrupt("its data do not match the SHA-256 checksum stored in it, so some of "
                          "its bytes changed after it was written (a damaged disk or copy)")
        source = io.BytesIO(payload)
    elif raw.startswith(_ZIP):
        warnings.warn(f"{path} has no checksum (an older rnnbook wrote it), so its integrity "
                      "cannot be checked; the checkpoints this version writes have one",
                      stacklevel=3)
        source = io.BytesIO(raw)
    else:
        raise corrupt(f"it does not start with the header that save_checkpoint writes (its "
                      f"first bytes are {raw[:16]!r}): it is another kind of file, or its "
                      "start is damaged")
    try:
        ckpt = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(
            f"refusing to load {path}: it is not a checkpoint of tensors and plain values as "
            f"save_checkpoint writes, and unpickling it could run arbitrary code ({e})") from e
    except Exception as e:
        if verified:  # the bytes are those written: not damage, an incompatible reader
            raise RuntimeError(f"{path} is intact (its checksum matches) but torch.load cannot "
                               f"read it: {e}. Was it written by another PyTorch version?"
                               ) from e
        raise corrupt(f"torch.load cannot read it ({type(e).__name__}: {e})") from e
    if not isinstance(ckpt, dict) or not {"model", "step", "history"} <= ckpt.keys():
        raise corrupt("it does not hold the model, step and history that save_checkpoint "
                      "writes")
    return ckpt


def _restore(ckpt: dict[str, Any], path: str | Path, model: nn.Module,
             optimizer: torch.optim.Optimizer | None, scheduler: Any, data: Any, rng: bool,
             loss_fn: Any) -> tuple[int, History]:
    """Load the states of a checkpoint read by :func:`_read_checkpoint` (see
    :func:`load_checkpoint`)."""
    for what, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        saved, given = ckpt.get(f"{what}_class"), _class_name(obj)
        if obj is not None and saved is not None and saved != given:
            raise ValueError(f"{path} was saved with the {what} {saved}, not {given}: resume "
                             f"with the same {what} class, or start a fresh run")
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        model.load_state_dict(ckpt["model"])
        if optimizer is not None:
            optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt.get("scheduler") is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
    except Exception:
        model.load_state_dict(before)
        raise
    if data is not None and ckpt.get("data") is not None and hasattr(data, "load_state_dict"):
        data.load_state_dict(ckpt["data"])
    if (loss_fn is not None and ckpt.get("loss") is not None
            and hasattr(loss_fn, "load_state_dict")):
        loss_fn.load_state_dict(to_device(ckpt["loss"], model_device(model)))
    if rng and ckpt.get("rng") is not None:
        _set_rng_state(ckpt["rng"])
    return ckpt["step"], History(**ckpt["history"])


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None
                    = None, scheduler: Any = None, *, data: Any = None, rng: bool = False,
                    loss_fn: Any = None) -> tuple[int, History]:
    """Restore a model (and optimiser, scheduler) saved by :func:`save_checkpoint`.

    Returns ``(step, history)``. With ``data`` (an object with ``load_state_dict``, such as
    :class:`~rnnbook.batching.PaddedBatches`) its saved state is restored too, likewise with
    ``loss_fn`` (a stateful loss, its carried state moved to the model's device), and with
    ``rng=True`` the global random states (torch, CUDA, NumPy, Python).

    The header's length and SHA-256 checksum are verified first: a file that is empty, cut
    short, damaged or not a checkpoint raises :class:`CorruptCheckpoint` (a ``ValueError``)
    naming it. (A checkpoint of an older rnnbook, without a checksum, loads with a warning.)
    The payload is read with ``torch.load(weights_only=True)``: a file that holds arbitrary
    Python objects (which unpickling could make run code) is refused with
    :class:`pickle.UnpicklingError`. An optimiser or scheduler of another class than the saved
    one is refused with :class:`ValueError` before anything is loaded; if loading fails
    anyway, the model keeps the weights it had.
    """
    return _restore(_read_checkpoint(path), path, model, optimizer, scheduler, data, rng,
                    loss_fn)


def _resume_point(ckpt: dict[str, Any], data: Iterable, step: int) -> tuple[int, int]:
    """``(epoch, skip)``: the pass a resumed run continues and the batches of it to skip.

    The checkpoint's ``loop`` says how many batches of which pass were trained on; a finished
    pass (the data's saved ``position`` is 0, or, for data that saves none, the pass's
    length was reached) continues with the next. A checkpoint of an older rnnbook has no
    ``loop``: the passes are counted from ``step`` and ``len(data)``."""
    loop = ckpt.get("loop")
    sized = hasattr(data, "__len__")
    if loop is None:
        passes = len(data) if sized else 0  # type: ignore[arg-type]
        return (step // passes, step % passes) if passes else (0, 0)
    epoch, position = int(loop["epoch"]), int(loop["position"])
    state = ckpt.get("data")
    if isinstance(state, dict) and "position" in state:
        finished = position > 0 and int(state["position"]) == 0
    else:
        finished = sized and position >= len(data)  # type: ignore[arg-type]
    return (epoch + 1, 0) if finished else (epoch, position)


def _check_resumable(data: Iterable, loss_fn: Any, val_data: Iterable | None,
                     checkpoint: str | Path) -> None:
    """Refuse a checkpointed run that a resumed run could not repeat exactly."""
    def has_state(obj: Any) -> bool:
        return callable(getattr(obj, "state_dict", None)) and callable(
            getattr(obj, "load_state_dict", None))

    fixed = isinstance(data, (list, tuple))  # the same batches, in order, every pass
    if iter(data) is data and not has_state(data):
        raise TypeError(
            f"checkpoint={checkpoint} promises that a resumed run repeats the straight run, but "
            "the training data is a one-shot iterator (a generator?), which cannot be replayed "
            "from a checkpoint: pass a list of batches or a batcher with state_dict() and "
            "load_state_dict() (the batcher protocol of rnnbook.batching), or train without "
            "a checkpoint")
    if not fixed and not has_state(data):
        name = type(data).__qualname__
        raise TypeError(
            f"checkpoint={checkpoint} promises that a resumed run repeats the straight run, but "
            f"the training data, a {name}, has no state_dict()/load_state_dict() to save and "
            f"restore where it is (its shuffle, its random draws): give {name} both methods "
            "(the batcher protocol of rnnbook.batching), pass a list of batches, or train "
            "without a checkpoint")
    if val_data is data and not fixed and data.state_dict():  # type: ignore[attr-defined]
        raise ValueError(
            f"val_data is the training batcher itself, a {type(data).__qualname__}: every "
            "evaluation would advance its state (its shuffle), so a run resumed from "
            f"checkpoint={checkpoint} could not repeat the straight run; validate on a "
            "separate batcher or list")


def _resumes(checkpoint: str | Path | None, resume: bool | str, overwrite: bool) -> bool:
    """Whether a run resumes from ``checkpoint``, once ``resume`` (``False``, ``True``,
    ``"if-exists"``) and ``overwrite`` are checked against the file being there or not."""
    if resume not in (False, True, "if-exists"):
        raise ValueError(f"resume must be False, True or 'if-exists', not {resume!r}")
    if resume and checkpoint is None:
        raise ValueError("resume needs the checkpoint to resume from: pass checkpoint=path")
    exists = checkpoint is not None and Path(checkpoint).exists()
    if resume is True and not exists:
        raise FileNotFoundError(f"resume=True but there is no checkpoint at {checkpoint}; pass "
                                "resume='if-exists' to start a fresh run when it is missing")
    if exists and not resume and not overwrite:
        raise FileExistsError(f"a checkpoint already exists at {checkpoint}: pass resume=True to "
                              "continue from it, overwrite=True to replace it, or delete it")
    return exists


def _continue(given: History | None, saved: History, ckpt: dict[str, Any],
              path: str | Path) -> int:
    """Put the ``saved`` history of a checkpoint into ``given`` (the ``history=`` of a resumed
    run, which the saved one must continue); the step the run's own steps count on from."""
    offset = int((ckpt.get("loop") or {}).get("offset", 0))
    if given is not None:
        n = len(given.step)
        if saved.step[:n] != given.step or (given.step[-1] if n else 0) != offset:
            raise ValueError(f"{path} does not continue the history given (its steps "
                             f"{saved.step[:n]} vs {given.step}): resume with the history the "
                             "run started from, or start a fresh run")
        for f in dataclasses.fields(History):
            setattr(given, f.name, getattr(saved, f.name))
    return offset


def _saved_best(ckpt: dict[str, Any], step: int, path: str | Path) -> dict[str, Any]:
    """The best score, step and weights that ``train(keep_best=...)`` saved in a checkpoint."""
    best = ckpt.get("best")
    if best is None:
        if step > 0:
            raise ValueError(f"{path} was saved by a run without keep_best, so the best weights "
                             "before it are unknown: resume without keep_best, or start afresh")
        return {"score": -math.inf, "step": None, "state": None}
    return {"score": float(best["score"]), "step": best["step"], "state": best["state"]}


__all__ = ["MAGIC", "CorruptCheckpoint", "save_checkpoint", "load_checkpoint"]
