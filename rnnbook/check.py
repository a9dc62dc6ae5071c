"""Checks that a chapter runs on a layer: parity with its ``torch.nn`` twin, and its speed.

:func:`parity` runs a scratch layer and the ``torch.nn`` layer holding the same weights on the
same input and initial state, backpropagates one loss that touches the output and every final
state, and reports the largest differences of the values and of the gradients (input and every
parameter). The unit tests build on the same pieces (:func:`twins`, :func:`run_both`,
:func:`assert_same`, :func:`check_parity`). :func:`pass_seconds` times a forward and backward
pass, best of several (:func:`best_seconds`), so that a busy machine slows it down less than a
single timing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import Tensor, nn

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}

Loss = Callable[[Tensor, tuple[Tensor, ...]], Tensor]


def twins(ours_cls: type[nn.Module], ref_cls: type[nn.Module], dtype: torch.dtype = torch.float64,
          input_size: int = 3, hidden_size: int = 5, seed: int = 0, **kw
          ) -> tuple[nn.Module, nn.Module]:
    """A scratch layer and a ``torch.nn`` layer built with ``kw``, holding the same weights."""
    torch.manual_seed(seed)
    ours = ours_cls(input_size, hidden_size, **kw).to(dtype)
    ref = ref_cls(input_size, hidden_size, **kw).to(dtype)
    ref.load_state_dict(ours.state_dict())
    return ours, ref


@dataclass
class Run:
    """What one layer computed, and the gradients of a loss that touches all of it."""

    out: Tensor
    states: tuple[Tensor, ...]
    grad_x: Tensor
    grads: dict[str, Tensor]


def weighted_loss(out: Tensor, states: tuple[Tensor, ...]) -> Tensor:
    """The default loss: the output weighted by a ramp from -1 to 1, plus ``sum(s ** k)`` for
    the ``k``-th final state (``k = 2, 3, ...``), so that every gradient path counts, and
    differently."""
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype,
                                 device=out.device).view_as(out)).sum()
    for power, s in enumerate(states, start=2):
        loss = loss + (s ** power).sum()
    return loss


def run_once(model: nn.Module, x: Tensor, state=None, loss: Loss = weighted_loss) -> Run:
    """Run ``model(x, state)``, backpropagate ``loss(out, final_states)``, keep everything."""
    xi = x.clone().requires_grad_(True)
    out, final = model(xi, state)
    states = final if isinstance(final, tuple) else (final,)
    model.zero_grad()
    loss(out, states).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    return Run(out.detach(), tuple(s.detach() for s in states), xi.grad, grads)


def run_both(ours: nn.Module, ref: nn.Module, x: Tensor, state=None,
             loss: Loss = weighted_loss) -> tuple[Run, Run]:
    """:func:`run_once` for both layers, on the same input, state and loss."""
    return run_once(ours, x, state, loss), run_once(ref, x, state, loss)


def assert_same(a: Run, b: Run, tol: float) -> None:
    """Outputs, states, input gradients and every parameter gradient agree within ``tol``."""
    torch.testing.assert_close(a.out, b.out, atol=tol, rtol=tol)
    assert len(a.states) == len(b.states)
    for s, t in zip(a.states, b.states):
        torch.testing.assert_close(s, t, atol=tol, rtol=tol)
    torch.testing.assert_close(a.grad_x, b.grad_x, atol=tol, rtol=tol)
    assert a.grads.keys() == b.grads.keys()
    for name in a.grads:
        torch.testing.assert_close(a.grads[name], b.grads[name], atol=tol, rtol=tol, msg=name)


def _largest(pairs) -> float:
    return max((float((a - b).abs().max()) for a, b in pairs), default=0.0)


@dataclass
class Parity:
    """The two runs of :func:`parity` and their largest absolute differences."""

    ours: Run
    ref: Run

    @property
    def values(self) -> float:
        """Largest difference over the outputs and every final state."""
        a, b = self.ours, self.ref
        return _largest([(a.out, b.out), *zip(a.states, b.states)])

    @property
    def grad_params(self) -> float:
        """Largest difference over the gradients of the parameters."""
        if self.ours.grads.keys() != self.ref.grads.keys():
            raise ValueError("the two layers name their parameters differently: "
                             f"{sorted(self.ours.grads)} vs {sorted(self.ref.grads)}")
        return _largest((self.ours.grads[n], self.ref.grads[n]) for n in self.ours.grads)

    @property
    def grad_input(self) -> float:
        """Largest difference of the gradients with respect to the input."""
        return _largest([(self.ours.grad_x, self.ref.grad_x)])

    @property
    def grads(self) -> float:
        """Largest difference over all gradients: the input's and every parameter's."""
        return max(self.grad_params, self.grad_input)

    @property
    def largest(self) -> float:
        """Largest difference over everything compared."""
        return max(self.values, self.grads)


def parity(ours: nn.Module, ref: nn.Module, x: Tensor, state=None,
           loss: Optional[Loss] = None) -> Parity:
    """Run a scratch layer and its ``torch.nn`` twin (same weights) on ``x`` and ``state``.

    ``loss(out, final_states)`` is backpropagated in both (default :func:`weighted_loss`; it
    should touch the output and every final state). The result holds both runs and the largest
    differences: ``.values`` (output, states), ``.grad_input``, ``.grad_params``, ``.grads``
    (both) and ``.largest`` (everything).
    """
    return Parity(*run_both(ours, ref, x, state, loss or weighted_loss))


def check_parity(ours_cls: type[nn.Module], ref_cls: type[nn.Module], dtype: torch.dtype,
                 layers: int, batch_first: bool, with_state: bool, bidirectional: bool = False,
                 state_size: int = 1, **kw) -> None:
    """Both layers on a random batch ``T = 7, B = 4, F = 3, H = 5``: everything agrees.

    ``with_state`` passes a random initial state (``state_size`` tensors), else zeros.
    """
    ours, ref = twins(ours_cls, ref_cls, dtype, num_layers=layers, batch_first=batch_first,
                      bidirectional=bidirectional, **kw)
    d = 2 if bidirectional else 1
    gen = torch.Generator().manual_seed(1)
    T, B = 7, 4
    shape = (B, T, 3) if batch_first else (T, B, 3)
    x = torch.randn(*shape, generator=gen, dtype=dtype)
    hx = None
    if with_state:
        hx = tuple(torch.randn(layers * d, B, 5, generator=gen, dtype=dtype)
                   for _ in range(state_size))
        hx = hx[0] if state_size == 1 else hx
    mine, theirs = run_both(ours, ref, x, hx)
    assert mine.out.shape == theirs.out.shape == shape[:2] + (5 * d,)
    assert len(mine.states) == state_size
    assert all(s.shape == (layers * d, B, 5) for s in mine.states)
    assert len(mine.grads) == 4 * layers * d  # two weights and two biases per layer, direction
    assert_same(mine, theirs, TOL[dtype])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_seconds(fn: Callable[[], object], reps: int = 3,
                 device: Optional[torch.device] = None) -> float:
    """The best wall-clock time, in seconds, of ``reps`` calls of ``fn``, after one untimed call.

    The untimed call warms up (allocations, kernel choice); on a GPU the device is synchronised
    before and after each timed call. The best of several runs of the same work is what a busy
    machine disturbs least: load can only make a run slower.
    """
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    device = device or torch.device("cpu")
    best = math.inf
    for i in range(reps + 1):  # the first call warms up
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        if i:
            best = min(best, time.perf_counter() - t0)
    return best


def pass_seconds(layer: nn.Module, x: Tensor, reps: int = 3) -> float:
    """Best time, in seconds, of ``reps`` forward and backward passes of ``layer`` over ``x``,
    after one untimed pass (:func:`best_seconds`); leaves no gradients behind."""

    def forward_backward() -> None:
        layer.zero_grad(set_to_none=True)
        out, _ = layer(x)
        out.sum().backward()

    best = best_seconds(forward_backward, reps, x.device)
    layer.zero_grad(set_to_none=True)
    return best


__all__ = ["TOL", "Run", "Parity", "twins", "weighted_loss", "run_once", "run_both",
           "assert_same", "parity", "check_parity", "best_seconds", "pass_seconds"]
