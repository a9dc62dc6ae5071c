"""Sampling from any language model of the book: temperature and top-k."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .runtime import eval_mode, model_device


def next_token_distribution(logits: torch.Tensor, temperature: float = 1.0,
                            top_k: int | None = None) -> torch.Tensor:
    """Turn logits ``(..., vocab)`` into sampling probabilities.

    ``softmax(logits / temperature)``, after keeping only the ``top_k`` largest logits.
    Temperature below 1 sharpens the distribution, above 1 flattens it.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    logits = logits / temperature
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        k = min(top_k, logits.size(-1))
        kth = torch.topk(logits, k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.softmax(logits, dim=-1)


def generate(
    model: nn.Module,
    prompt: Sequence[int] | torch.Tensor,
    steps: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    stop_id: int | None = None,
) -> list[int]:
    """Sample ``steps`` token ids after ``prompt`` (ids, at least one); return the new ids.

    Works for every model with the book's interface ``model(ids, state) -> (logits, state)``.
    A model with a fixed window (attribute ``context_size``, e.g. the NPLM) is fed its last
    ``context_size`` tokens each step; a recurrent model is fed one token and its state.
    Sampling stops early at ``stop_id``.
    """
    prompt = torch.as_tensor(prompt, dtype=torch.long).flatten()
    if prompt.numel() == 0:
        raise ValueError("generate needs a prompt of at least one token (e.g. <bos>)")
    dev = model_device(model)
    window = getattr(model, "context_size", None)
    seq = prompt.tolist()
    out: list[int] = []
    with eval_mode(model):
        if window is None:
            logits, state = model(prompt.to(dev)[None], None)
        for _ in range(steps):
            if window is not None:
                ctx = torch.tensor(seq[-window:], device=dev)[None]
                logits, _ = model(ctx, None)
            probs = next_token_distribution(logits[0, -1].float(), temperature, top_k)
            token = int(torch.multinomial(probs.cpu(), 1, generator=generator))
            out.append(token)
            seq.append(token)
            if stop_id is not None and token == stop_id:
                break
            if window is None:
                logits, state = model(torch.tensor([[token]], device=dev), state)
    return out
