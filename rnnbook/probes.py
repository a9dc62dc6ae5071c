"""Probes of a trained character model: what it holds, and how far back its gradient reaches.

For a window of text ``x_1..x_T`` and the loss of the *last* prediction, ``l_T``, the norm
``|| d l_T / d e_{T-k} ||`` of the gradient with respect to the embedded input ``k`` steps
earlier says how much a change ``k`` characters back can still move that prediction, and so
how much learning signal reaches that far.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .models.lm import CharLM
from .runtime import eval_mode, model_device


def gradient_by_distance(model: CharLM, ids: Tensor) -> Tensor:
    """``|| d l_T / d e_{T-k} ||`` for ``k = 0..T-2``, one row per window: ``(B, T-1)``.

    ``ids`` ``(B, T)`` are windows of text; ``l_T`` is the cross-entropy of predicting
    ``ids[:, -1]`` from ``ids[:, :-1]`` (zero initial state, eval mode: no dropout). cuDNN is
    switched off for this one pass: its RNN backward works only in training mode.
    """
    with eval_mode(model, no_grad=False), torch.backends.cudnn.flags(enabled=False):
        ids = ids.to(model_device(model))
        e = model.embed(ids[:, :-1]).detach().requires_grad_(True)
        h, _ = model.rnn(e)
        loss = F.cross_entropy(model.out(h[:, -1]), ids[:, -1], reduction="sum")
        (grad,) = torch.autograd.grad(loss, e)
    return grad.norm(dim=-1).flip(1).cpu()  # (B, T-1), distance 0 first


def hidden_trace(model: CharLM, ids: Tensor) -> Tensor:
    """Hidden states of the top layer over a 1-D id sequence, ``(T, H)`` (eval mode)."""
    with eval_mode(model):
        h, _ = model.hidden(ids.reshape(1, -1).to(model_device(model)))
    return h[0].cpu()
