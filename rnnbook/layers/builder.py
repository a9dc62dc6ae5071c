"""One way to build a recurrent layer: ``make_layer(kind, input_size, hidden_size, ...)``.

Every model of the book that reads a sequence (language model, tagger, classifier, regressor,
encoder) builds its recurrent layer here, as a ``torch.nn`` module or as the book's own twin
written from the equations (``scratch=True``): same constructor, same weights, same outputs.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .gru import GRU
from .lstm import LSTM
from .recurrent import RecurrentLayer
from .rnn import RNN

KINDS = ("rnn", "lstm", "gru")
_SCRATCH = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
_TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def make_layer(kind: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
               bidirectional: bool = False, dropout: float = 0.0, batch_first: bool = True,
               scratch: bool = False, **kwargs: Any) -> nn.RNNBase | RecurrentLayer:
    """A recurrent layer of ``kind`` (``'rnn'``, ``'lstm'`` or ``'gru'``).

    ``torch.nn.RNN/LSTM/GRU`` by default, the book's :class:`~rnnbook.layers.RNN`,
    :class:`~rnnbook.layers.LSTM` or :class:`~rnnbook.layers.GRU` with ``scratch=True``.
    ``batch_first`` defaults to ``True`` (the models of the book feed ``(B, T, F)``);
    ``dropout`` between stacked layers applies only when ``num_layers > 1``. Other keywords go
    to the constructor (``nonlinearity='relu'`` for the RNN, ``reset_after=False`` for the
    book's GRU).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kwargs.get("reset_after") is False and not scratch:
        raise ValueError("torch.nn.GRU applies the reset gate after the product (reset_after="
                         "True); Cho et al.'s variant exists only as the book's GRU: "
                         "pass scratch=True")
    cls = (_SCRATCH if scratch else _TORCH)[kind]
    return cls(input_size, hidden_size, num_layers=num_layers, batch_first=batch_first,
               bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0,
               **kwargs)


def layer_or_kind(cell: str | nn.Module, input_size: int, hidden_size: int | None, owner: str,
                  **kwargs: Any) -> nn.Module:
    """``cell`` as a recurrent layer: a kind goes to :func:`make_layer` (with ``kwargs``), a
    ready module is checked to read ``(batch, time, features)`` and returned as it is.
    ``owner`` names the model in the error messages."""
    if isinstance(cell, nn.Module):
        if not getattr(cell, "batch_first", False):
            raise ValueError(f"{owner} feeds (batch, time, features): build the recurrent "
                             "layer with batch_first=True")
        return cell
    if isinstance(cell, str):
        if hidden_size is None or hidden_size < 1:
            raise ValueError("give hidden_size (or pass a ready recurrent module as cell)")
        return make_layer(cell, input_size, hidden_size, **kwargs)
    raise TypeError(f"cell must be a kind ({', '.join(KINDS)}) or a recurrent module "
                    f"built with batch_first=True, got {type(cell).__name__}")


def output_size(layer: nn.Module) -> int:
    """Features of a recurrent layer's output per step: ``D * H``."""
    return layer.hidden_size * (2 if getattr(layer, "bidirectional", False) else 1)
