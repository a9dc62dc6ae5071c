"""Probes of a trained character model: how far back does the gradient reach?

For a window of text ``x_1..x_T`` and the loss of the *last* prediction, ``l_T``, the norm
``|| d l_T / d e_{T-k} ||`` of the gradient with respect to the embedded input ``k`` steps
earlier says how much a change ``k`` characters back can still move that prediction, and so
how much learning signal reaches that far.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .charlm import CharLM


def gradient_by_distance(model: CharLM, ids: Tensor) -> Tensor:
    """``|| d l_T / d e_{T-k} ||`` for ``k = 0..T-2``, one row per window: ``(B, T-1)``.

    ``ids`` ``(B, T)`` are windows of text; ``l_T`` is the cross-entropy of predicting
    ``ids[:, -1]`` from ``ids[:, :-1]`` (zero initial state, eval mode). Column ``k`` is the
    gradient norm at distance ``k`` (``k = 0``: the last input character).
    """
    was = model.training
    model.eval()
    try:
        dev = next(model.parameters()).device
        ids = ids.to(dev)
        e = model.embed(ids[:, :-1]).detach().requires_grad_(True)
        h, _ = model.rnn(e)
        loss = F.cross_entropy(model.out(h[:, -1]), ids[:, -1], reduction="sum")
        (grad,) = torch.autograd.grad(loss, e)
    finally:
        model.train(was)
    return grad.norm(dim=-1).flip(1).cpu()  # (B, T-1), distance 0 first
