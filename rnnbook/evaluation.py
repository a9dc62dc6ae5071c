"""Running a trained model over data: the one loop behind every prediction and evaluation.

:func:`outputs` runs a *step* ``step(model, batch)`` over every batch, in evaluation mode and
without a graph, and concatenates what the steps return; a task keeps only its step.
:func:`evaluate` is the mean loss per item of a *loss function*, the contract between a task
and the loop: :class:`LossFn` maps a batch to ``(mean_loss, n_items)``, and a loss that carries
a state from batch to batch (a recurrent state across a stream) is a :class:`StatefulLoss`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from .runtime import _rebuild, eval_mode, model_device, to_device


@runtime_checkable
class LossFn(Protocol):
    """``loss_fn(model, batch) -> (loss, n)``: the mean loss over the batch's ``n`` items (a
    0-d tensor that :func:`rnnbook.train` back-propagates) and ``n``, the weight of the batch in
    a mean over batches. Any function of that shape is one."""

    def __call__(self, model: nn.Module, batch: Any) -> tuple[Tensor, int]: ...


@runtime_checkable
class StatefulLoss(LossFn, Protocol):
    """A loss that carries a state from batch to batch (the recurrent state of a stream).

    :func:`rnnbook.train` calls ``reset()`` at the start of every pass, evaluates with
    ``fresh()`` (a copy with its own state, so evaluation does not disturb training) and saves
    ``state_dict()`` in checkpoints, which ``load_state_dict(state)`` restores on a resume.
    """

    def reset(self) -> None: ...

    def fresh(self) -> StatefulLoss: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


_STATEFUL = ("reset", "fresh", "state_dict", "load_state_dict")


def stateful(loss_fn: Any) -> bool:
    """Whether ``loss_fn`` is a :class:`StatefulLoss`; a loss with some of its methods (a
    ``reset`` but no ``state_dict``) is a :class:`TypeError`, not a silently stateless loss."""
    if isinstance(loss_fn, StatefulLoss):
        return True
    has = [m for m in _STATEFUL if callable(getattr(loss_fn, m, None))]
    if has:
        name = type(loss_fn).__qualname__
        lacks = [m for m in _STATEFUL if m not in has]
        raise TypeError(
            f"the loss, a {name}, has {', '.join(m + '()' for m in has)} but not "
            f"{', '.join(m + '()' for m in lacks)}: a loss that carries a state from batch to "
            f"batch follows rnnbook.evaluation.StatefulLoss (all four methods); give {name} "
            "the missing ones, or drop the partial state")
    return False


def _cpu(value: Any) -> Any:
    """``value`` with every tensor in it (nested in tuples, lists, dicts) on the CPU."""
    if isinstance(value, Tensor):
        return value.detach().cpu()
    if isinstance(value, (list, tuple)):
        return _rebuild(value, (_cpu(v) for v in value))
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    return value


def _concat(parts: list[Any], where: str = "the step's result") -> Any:
    """Join the per-batch results ``parts`` of one shape: tensors along dim 0 (0-d ones are
    stacked), tuples and dicts position by position, lists one after the other."""
    first = parts[0]
    for i, p in enumerate(parts):
        if type(p) is not type(first) or (isinstance(p, (tuple, dict)) and len(p) != len(first)) \
                or (isinstance(p, dict) and p.keys() != first.keys()):
            raise ValueError(f"{where} changes shape between batches: batch 0 gave "
                             f"{_kind(first)}, batch {i} {_kind(p)}")
    if isinstance(first, Tensor):
        return torch.stack(parts) if first.dim() == 0 else torch.cat(parts)
    if isinstance(first, tuple):
        return _rebuild(first, (_concat([p[k] for p in parts], f"{where}[{k}]")
                                for k in range(len(first))))
    if isinstance(first, dict):
        return {k: _concat([p[k] for p in parts], f"{where}[{k!r}]") for k in first}
    if isinstance(first, list):
        return [item for p in parts for item in p]
    raise TypeError(f"{where} is a {type(first).__qualname__}; a step returns a tensor, or a "
                    "tuple, dict or list of them")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return f"a dict of keys {sorted(map(str, value))}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    return f"a {type(value).__qualname__}"


def outputs(model: nn.Module, batches: Iterable, step: Callable[[nn.Module, Any], Any], *,
            max_batches: Optional[int] = None) -> Any:
    """Run ``step(model, batch)`` on every batch (at most ``max_batches``) and join the results.

    The model runs in evaluation mode (dropout off) and without a graph
    (:func:`~rnnbook.runtime.eval_mode`; its modes are restored afterwards); each batch goes to
    the model's device and each result comes back to the CPU. A step returns a tensor (the
    results are concatenated along dim 0, so ``(B, ...)`` per batch gives ``(N, ...)``; 0-d
    ones are stacked), a tuple or a dict of them (joined position by position, key by key) or
    a list (the lists are joined into one). The order is the batches' order.
    """
    if max_batches is not None and max_batches < 1:
        raise ValueError(f"max_batches must be a positive number of batches, not {max_batches}")
    dev = model_device(model)
    parts = []
    with eval_mode(model):
        for i, batch in enumerate(batches):
            if max_batches is not None and i >= max_batches:
                break
            parts.append(_cpu(step(model, to_device(batch, dev))))
    if not parts:
        raise ValueError("outputs saw no batches: the data is empty")
    return _concat(parts)


def evaluate(model: nn.Module, data: Iterable, loss_fn: LossFn,
             max_batches: Optional[int] = None) -> float:
    """Mean loss per item over ``data``: ``sum_b loss_b * n_b / sum_b n_b``, in eval mode and
    without building a graph. A :class:`StatefulLoss` is reset first."""
    if stateful(loss_fn):
        loss_fn.reset()  # type: ignore[attr-defined]

    def step(m: nn.Module, batch: Any) -> list[tuple[float, int]]:
        loss, n = loss_fn(m, batch)
        return [(float(loss), n)]

    try:
        losses = outputs(model, data, step, max_batches=max_batches)
    except ValueError as err:
        if "saw no batches" not in str(err):
            raise
        losses = []
    total, count = 0.0, 0
    for loss, n in losses:
        total += loss * n
        count += n
    if count == 0:
        raise ValueError("evaluation saw no items: the validation data is empty")
    return total / count


__all__ = ["LossFn", "StatefulLoss", "stateful", "outputs", "evaluate"]
