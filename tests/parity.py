"""Shared helpers for the parity tests: a scratch layer against the matching ``torch.nn`` layer.

The two layers hold the same weights; :func:`run_both` runs both on the same input and
returns everything a test compares: the output, every final state tensor (``h`` alone, or
``h`` and ``c``), the gradient with respect to the input and the gradient of every parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def twins(ours_cls: type[nn.Module], ref_cls: type[nn.Module], dtype: torch.dtype = torch.float64,
          input_size: int = 3, hidden_size: int = 5, **kw) -> tuple[nn.Module, nn.Module]:
    """A scratch layer and a ``torch.nn`` layer built with ``kw``, holding the same weights."""
    torch.manual_seed(0)
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


def run_once(model: nn.Module, x: Tensor, state=None) -> Run:
    xi = x.clone().requires_grad_(True)
    out, final = model(xi, state)
    states = final if isinstance(final, tuple) else (final,)
    # weigh the output and each state differently so that every gradient path counts
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=x.dtype).view_as(out)).sum()
    for power, s in enumerate(states, start=2):
        loss = loss + (s ** power).sum()
    model.zero_grad()
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    return Run(out.detach(), tuple(s.detach() for s in states), xi.grad, grads)


def run_both(ours: nn.Module, ref: nn.Module, x: Tensor, state=None) -> tuple[Run, Run]:
    return run_once(ours, x, state), run_once(ref, x, state)


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
