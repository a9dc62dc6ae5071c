"""Record the gate activations of an LSTM or a GRU over a sequence, for the book's heat maps.

``record_gates(layer, input)`` runs the layer once (no gradient) and returns one tensor per
gate, laid out like the layer's output with a leading ``(num_layers * D)`` axis:
``(L*D, T, B, H)``, ``(L*D, B, T, H)`` with ``batch_first``, ``(L*D, T, H)`` unbatched.
Index ``k = layer * D + direction``, as in the state ``h_n``; the backward direction is put
back in input order, so time index ``t`` always means input position ``t``.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import torch
from torch import Tensor, nn

from ..runtime import eval_mode
from .gru import GRU
from .lstm import LSTM

Layer = Union[LSTM, GRU, nn.LSTM, nn.GRU]


def twin(layer: nn.Module) -> Union[LSTM, GRU]:
    """The book's LSTM/GRU holding the weights of ``layer`` (a ``torch.nn`` one is copied)."""
    if isinstance(layer, (LSTM, GRU)):
        return layer
    if isinstance(layer, (nn.LSTM, nn.GRU)):
        if getattr(layer, "proj_size", 0):
            raise ValueError("record_gates does not support an LSTM with proj_size")
        cls = LSTM if isinstance(layer, nn.LSTM) else GRU
        p = next(layer.parameters())
        copy = cls(layer.input_size, layer.hidden_size, layer.num_layers, layer.bias,
                   layer.batch_first, layer.dropout, layer.bidirectional,
                   device=p.device, dtype=p.dtype)
        copy.load_state_dict(layer.state_dict())
        return copy
    raise TypeError(f"record_gates needs an LSTM or a GRU layer, got {type(layer).__name__}")


def record_gates(layer: Layer, input: Tensor, hx: Optional[Any] = None) -> dict[str, Tensor]:
    """Gate activations of ``layer`` over ``input`` (eval mode: no dropout).

    Keys: ``input``, ``forget``, ``cell`` (the candidate ``g_t``), ``output`` for an LSTM;
    ``reset``, ``update``, ``candidate`` (``n_t``) for a GRU. Sigmoid gates lie in (0, 1),
    the candidates in (-1, 1).
    """
    model = twin(layer)
    log: list[dict[str, Tensor]] = []
    with eval_mode(model):  # no dropout, no graph; the mode is restored afterwards
        model(input, hx, gates=log)
    d = model.num_directions
    gates = {}
    for name in log[0]:
        runs = [entry[name].flip(0) if k % d else entry[name] for k, entry in enumerate(log)]
        stacked = torch.stack(runs)  # (L*D, T, B, H)
        if input.dim() == 2:
            stacked = stacked.squeeze(2)
        elif model.batch_first:
            stacked = stacked.transpose(1, 2)
        gates[name] = stacked
    return gates
