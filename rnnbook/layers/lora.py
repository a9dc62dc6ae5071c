"""LoRA: a trainable low-rank update of a frozen weight matrix (Hu et al. 2021, arXiv 2106.09685).

    W' = W + (alpha / r) B A        W (out, in) frozen,  B (out, r),  A (r, in),  r << min(out, in)

``A`` starts Gaussian and ``B`` at zero, so ``W' = W`` before training; only ``A`` and ``B``
train: ``r * (out + in)`` numbers per matrix instead of ``out * in``. The update is a
``torch.nn.utils.parametrize`` parametrization, so it works on any module's weight tensor by
name (``torch.nn.LSTM``'s ``weight_ih_l0``, ``nn.Linear``'s ``weight``, ``nn.Embedding``'s
``weight``, the book's own layers) and the module's ``forward`` is unchanged. On a GPU,
``torch.nn.LSTM`` warns that its weights are not one contiguous chunk (cuDNN cannot flatten a
computed weight); the results are correct, a little slower.

    rnn = add_lora(nn.LSTM(8, 16), rank=4)           # W_ih, W_hh of layer 0 frozen, A, B train
    opt = torch.optim.AdamW(lora_parameters(rnn))
    merge_lora(rnn)                                  # W <- W + (alpha/r) B A, plain weights again
"""

from __future__ import annotations

import math
from typing import Iterator, Optional, Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize


class LoRA(nn.Module):
    """The parametrization ``W -> W + (alpha / r) B A`` of one ``(out, in)`` weight matrix.

    ``A`` ``(r, in)`` ~ N(0, 1/in) (the fan-in scale), ``B`` ``(out, r)`` = 0;
    ``base_requires_grad`` remembers whether ``W`` trained before, for :func:`merge_lora`.
    """

    def __init__(self, weight: Tensor, rank: int, alpha: Optional[float] = None):
        super().__init__()
        out_features, in_features = weight.shape
        factory = {"dtype": weight.dtype, "device": weight.device}
        self.A = nn.Parameter(torch.randn(rank, in_features, **factory) / math.sqrt(in_features))
        self.B = nn.Parameter(torch.zeros(out_features, rank, **factory))
        self.rank, self.alpha = rank, float(rank if alpha is None else alpha)
        self.scale = self.alpha / rank
        self.base_requires_grad = weight.requires_grad

    def delta(self) -> Tensor:
        """The update ``(alpha / r) B A`` ``(out, in)``, of rank at most ``r``."""
        return self.scale * (self.B @ self.A)

    def forward(self, weight: Tensor) -> Tensor:
        return weight + self.delta()

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha:g}"


def weight_matrices(module: nn.Module) -> tuple[str, ...]:
    """Names of the module's own 2-D weights (``weight*``), e.g. all four of a bidirectional
    one-layer ``nn.LSTM``: ``weight_ih_l0, weight_hh_l0, weight_ih_l0_reverse, ...``."""
    return tuple(n for n, p in module.named_parameters(recurse=False)
                 if n.startswith("weight") and p.dim() == 2)


def add_lora(module: nn.Module, names: Optional[Sequence[str]] = ("weight_ih_l0", "weight_hh_l0"),
             rank: int = 8, alpha: Optional[float] = None) -> nn.Module:
    """Give each named weight of ``module`` a LoRA update ``W + (alpha/r) B A`` and freeze ``W``.

    ``names``: weights of ``module`` itself (``None``: every one, :func:`weight_matrices`);
    ``rank`` ``r >= 1``; ``alpha`` defaults to ``r`` (scale 1; the paper sets alpha to the first
    r it tries and does not tune it). Returns ``module``, changed in place.
    """
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise ValueError(f"rank must be a whole number >= 1, got {rank!r}")
    if alpha is not None and not alpha > 0:
        raise ValueError(f"alpha must be a positive number (or None for alpha = rank), got {alpha}")
    if isinstance(names, str):
        raise ValueError(f"names must be a sequence of weight names, e.g. ({names!r},), not a "
                         "string")
    names = weight_matrices(module) if names is None else tuple(names)
    if not names:
        raise ValueError("names must be a non-empty sequence of weight names, e.g. "
                         "('weight_ih_l0', 'weight_hh_l0')")
    own = dict(module.named_parameters(recurse=False))
    for name in names:
        if parametrize.is_parametrized(module, name):
            raise ValueError(f"{name} already has a parametrization (LoRA added twice?)")
        if name not in own:
            raise ValueError(f"{type(module).__name__} has no weight {name!r}; its weight "
                             f"matrices are {', '.join(weight_matrices(module)) or 'none'}")
        if own[name].dim() != 2:
            raise ValueError(f"LoRA updates a 2-D weight matrix; {name} has shape "
                             f"{tuple(own[name].shape)}")
    for name in names:
        lora = LoRA(own[name], rank, alpha)
        own[name].requires_grad_(False)
        parametrize.register_parametrization(module, name, lora)
    if hasattr(module, "_flat_weights") and not _release_hooks(module):
        module.register_forward_hook(_release_flat_weights)
    return module


def _release_flat_weights(rnn: nn.Module, args: object, output: object) -> None:
    """After a forward pass, let ``torch.nn.LSTM``/``GRU``/``RNN`` forget the weights it computed
    (it recomputes them on the next call): they hold the autograd graph, and a module holding
    them cannot be ``copy.deepcopy``-ed."""
    rnn._flat_weights = [w if w is None or w.is_leaf else None for w in rnn._flat_weights]


def _release_hooks(module: nn.Module) -> list[int]:
    return [k for k, hook in module._forward_hooks.items() if hook is _release_flat_weights]


def _loras(module: nn.Module) -> Iterator[tuple[nn.Module, str, LoRA]]:
    """Every ``(owner, weight name, LoRA)`` in ``module`` and its submodules."""
    for owner in module.modules():
        if parametrize.is_parametrized(owner):
            for name, plist in owner.parametrizations.items():
                for p in plist:
                    if isinstance(p, LoRA):
                        yield owner, name, p


def lora_parameters(module: nn.Module) -> list[nn.Parameter]:
    """The trainable LoRA factors ``A`` and ``B`` of every update in ``module`` (recursively)."""
    return [t for _, _, lora in _loras(module) for t in (lora.A, lora.B)]


def merge_lora(module: nn.Module) -> nn.Module:
    """Write ``W + (alpha/r) B A`` into each plain weight and remove the parametrizations.

    Afterwards ``module`` has its original parameter names and computes what it computed with
    LoRA; each weight trains again if it trained before :func:`add_lora`. Returns ``module``.
    """
    for owner, name, lora in list(_loras(module)):
        with torch.no_grad():
            parametrize.remove_parametrizations(owner, name, leave_parametrized=True)
        getattr(owner, name).requires_grad_(lora.base_requires_grad)
        if not parametrize.is_parametrized(owner):
            for key in _release_hooks(owner):
                del owner._forward_hooks[key]
    return module
