"""Where a model runs, independent of training: its device, moving (nested) batches to it,
cutting recurrent states from the graph, and evaluation mode.

The layers, models and tasks import these from here; :mod:`rnnbook.train` (the loop) uses them
too, so nothing below the loop has to import it.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterable, Iterator

import torch
from torch import nn


def _rebuild(seq: Any, items: Iterable) -> Any:
    """A list/tuple of the same type as ``seq`` holding ``items`` (a NamedTuple included)."""
    if isinstance(seq, tuple) and hasattr(seq, "_fields"):
        return type(seq)(*items)
    return type(seq)(items)


def detach(state: Any) -> Any:
    """Cut a recurrent state (tensor, or tuple/list of them) from the graph that made it."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return _rebuild(state, (detach(s) for s in state))


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) batch to ``device``; leave other values alone.

    Lists, tuples and NamedTuples (:class:`~rnnbook.batching.LMBatch`, ...) keep their type.
    """
    if isinstance(batch, (torch.Tensor, nn.utils.rnn.PackedSequence)):
        return batch.to(device, non_blocking=True)  # a PackedSequence keeps its sizes on the CPU
    if isinstance(batch, (list, tuple)):
        return _rebuild(batch, (to_device(b, device) for b in batch))
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's first parameter (the CPU for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@contextlib.contextmanager
def eval_mode(model: nn.Module, no_grad: bool = True) -> Iterator[nn.Module]:
    """``with eval_mode(model):`` runs the block with ``model.eval()`` (dropout off) and, by
    default, under ``torch.no_grad()``; afterwards, even after an exception, every submodule
    is back in the mode it was found in."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            yield model
    finally:
        for m, training in modes:
            m.training = training


def all_finite(tensors: list[torch.Tensor]) -> bool:
    """Whether every entry of every tensor is finite: a reduction or two per tensor, one sync.

    On the GPU one fused ``max |entry|`` over all tensors; on the CPU ``aminmax`` per tensor
    (several times faster there than the fused norm). Both propagate NaN.
    """
    if not tensors:
        return True
    with torch.no_grad():
        try:
            if tensors[0].is_cuda:
                peaks = list(torch._foreach_norm(tensors, math.inf))
            else:
                peaks = [e for t in tensors for e in torch.aminmax(t)]
        except (AttributeError, RuntimeError, TypeError, NotImplementedError):
            peaks = [t.abs().max() for t in tensors]
        try:
            stacked = torch.stack(peaks)
        except (RuntimeError, TypeError):  # tensors on several devices or of several dtypes
            stacked = torch.stack([m.float().cpu() for m in peaks])
        return bool(torch.isfinite(stacked).all())


__all__ = ["detach", "to_device", "model_device", "eval_mode", "all_finite"]
