"""The kill-and-resume check of the tests: a run stopped at ``split`` with a checkpoint and
resumed from it must end with the weights of the straight run, bit for bit."""

from pathlib import Path
from typing import Callable, Optional

import torch
from torch import nn


def same_weights(a: nn.Module, b: nn.Module) -> None:
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), name


def kill_and_resume(run: Callable[..., nn.Module], total: int, split: int, tmp_path: Path,
                    resume_seed: Optional[int] = None, **kw) -> tuple[nn.Module, nn.Module]:
    """``run(steps, **kw)`` builds a fresh model, data and loss from a seed and trains; returns
    the straight model and the model of a run stopped at ``split`` and resumed to ``total``
    (``kw`` goes to both checkpointed runs; ``resume_seed``, when given, seeds the resumed run
    otherwise, so that only the checkpoint can make it repeat the straight run)."""
    straight = run(total)
    ckpt = tmp_path / f"split{split}.pt"
    run(split, checkpoint=ckpt, **kw)
    seed = {} if resume_seed is None else {"seed": resume_seed}
    resumed = run(total, checkpoint=ckpt, resume=True, **seed, **kw)
    return straight, resumed
