"""Many-to-one regression: read a sequence of feature vectors, predict numbers."""

from __future__ import annotations

from typing import Any, Union

from torch import Tensor, nn

from ..layers import layer_or_kind, output_size


class SequenceRegressor(nn.Module):
    """Many-to-one: a recurrent layer reads ``x`` ``(B, T, F)``; a linear layer maps its last
    output ``(B, H)`` to ``out_features`` numbers. ``forward(x) -> (B,)`` if ``out_features``
    is 1, else ``(B, out_features)``.

    ``cell`` is a kind (``'rnn'``, ``'lstm'``, ``'gru'``) built by
    :func:`~rnnbook.layers.make_layer` with ``layer_kwargs`` (e.g. ``scratch=True``,
    ``num_layers=2``), or a ready recurrent module with ``batch_first=True``.
    """

    def __init__(self, input_size: int, hidden_size: int = 0,
                 cell: Union[str, nn.Module] = "lstm", out_features: int = 1,
                 **layer_kwargs: Any):
        super().__init__()
        self.rnn = layer_or_kind(cell, input_size, hidden_size, "SequenceRegressor",
                                 **layer_kwargs)
        self.out = nn.Linear(output_size(self.rnn), out_features)
        self.out_features = out_features

    def forward(self, x: Tensor) -> Tensor:
        h, _ = self.rnn(x)
        y = self.out(h[:, -1])
        return y.squeeze(-1) if self.out_features == 1 else y
