"""A recurrent encoder over padded batches: the reading part of the tagger and the classifiers."""

from __future__ import annotations

from typing import Optional

from torch import Tensor, nn

from ..layers import Lengths, State, make_layer, output_size, run_recurrent


class RecurrentEncoder(nn.Module):
    """A (bi)directional RNN/LSTM/GRU over padded batches: ``torch.nn`` or the book's own.

    ``RecurrentEncoder("lstm", F, H, bidirectional=True, scratch=False)`` wraps
    ``make_layer("lstm", F, H, bidirectional=True)``, i.e. ``torch.nn.LSTM(F, H,
    batch_first=True, bidirectional=True)`` (``scratch=True``: the book's
    :class:`~rnnbook.layers.LSTM`, same parameter names, so ``state_dict``s swap).
    ``forward(x (B, T, F), lengths (B,) or None, hx=None) -> (output (B, T, D*H), h_n)``;
    with ``lengths`` padding changes nothing (packed or masked, see
    :func:`~rnnbook.layers.run_recurrent`).
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = True, dropout: float = 0.0, scratch: bool = False):
        super().__init__()
        self.rnn = make_layer(cell, input_size, hidden_size, num_layers,
                              bidirectional=bidirectional, dropout=dropout, scratch=scratch)
        self.cell, self.scratch = cell, scratch
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bidirectional = bidirectional
        self.output_size = output_size(self.rnn)

    def forward(self, x: Tensor, lengths: Optional[Lengths] = None,
                hx: Optional[State] = None) -> tuple[Tensor, State]:
        return run_recurrent(self.rnn, x, lengths, hx)
