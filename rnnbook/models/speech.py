"""Recurrent models over frames of speech features: a word classifier and a CTC recogniser.

Both read a padded batch of feature frames ``x`` ``(B, T, F)`` with their ``lengths`` ``(B,)``
and first stack every ``stride`` neighbouring frames into one (``(B, T/stride, stride*F)``: half
the steps for the recurrence with ``stride=2``, nothing lost), then run a (bi)GRU/LSTM
(:class:`~rnnbook.models.encoder.RecurrentEncoder`, packed: padding is never read).

- :class:`FrameClassifier`: the mean of the states over the real frames, then a linear layer:
  one class per recording (a spoken word).
- :class:`CTCRecogniser`: a linear layer and a log-softmax at every step, ``log p_t(k)`` over
  the labels and the blank (index 0), for :func:`torch.nn.functional.ctc_loss`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..layers import Lengths, length_mask
from .classifier import mean_pool
from .encoder import RecurrentEncoder


def stack_frames(x: Tensor, lengths: Lengths, stride: int) -> tuple[Tensor, Tensor]:
    """``(B, T, F)`` -> ``(B, ceil(T/stride), stride*F)``: frames ``s*t .. s*t+s-1`` side by
    side (zero-padded at the end); lengths become ``ceil(L / stride)``."""
    if x.dim() != 3 or not x.is_floating_point():
        raise ValueError(f"expected float frames (batch, time, features), got shape "
                         f"{tuple(x.shape)} and dtype {x.dtype}")
    lengths = torch.as_tensor(lengths, dtype=torch.long, device=x.device)
    if stride == 1:
        return x, lengths
    b, t, f = x.shape
    pad = (-t) % stride
    x = nn.functional.pad(x, (0, 0, 0, pad))
    return x.reshape(b, (t + pad) // stride, stride * f), (lengths + stride - 1) // stride


class _FrameEncoder(nn.Module):
    def __init__(self, n_features: int, hidden_size: int, num_layers: int, cell: str,
                 bidirectional: bool, stride: int, dropout: float):
        super().__init__()
        if stride < 1:
            raise ValueError(f"stride must be a positive number of frames, got {stride}")
        self.encoder = RecurrentEncoder(cell, stride * n_features, hidden_size, num_layers,
                                        bidirectional=bidirectional, dropout=dropout)
        self.n_features, self.stride = n_features, stride
        self.drop = nn.Dropout(dropout)

    def states(self, x: Tensor, lengths: Lengths) -> tuple[Tensor, Tensor]:
        """Encoder outputs ``(B, T', D*H)`` and the lengths ``(B,)`` after stacking."""
        if x.dim() != 3 or x.size(-1) != self.n_features:
            raise ValueError(f"expected frames (batch, time, {self.n_features}), got shape "
                             f"{tuple(x.shape)}")
        x, lengths = stack_frames(x, lengths, self.stride)
        h, _ = self.encoder(x, lengths)
        return self.drop(h), lengths


class FrameClassifier(_FrameEncoder):
    """Frames -> stack -> (bi)GRU/LSTM -> mean over real frames -> linear.

    ``forward(x (B, T, F), lengths (B,)) -> logits (B, num_classes)``.
    """

    def __init__(self, n_features: int, num_classes: int, hidden_size: int = 64,
                 num_layers: int = 1, cell: str = "gru", bidirectional: bool = True,
                 stride: int = 2, dropout: float = 0.0):
        super().__init__(n_features, hidden_size, num_layers, cell, bidirectional, stride,
                         dropout)
        self.out = nn.Linear(self.encoder.output_size, num_classes)

    def forward(self, x: Tensor, lengths: Lengths) -> Tensor:
        h, lengths = self.states(x, lengths)
        return self.out(mean_pool(h, length_mask(lengths, h.size(1), h.device)))


class CTCRecogniser(_FrameEncoder):
    """Frames -> stack -> (bi)GRU/LSTM -> linear -> log-softmax at every step.

    ``forward(x (B, T, F), lengths (B,)) -> (log_probs (B, T', num_labels + 1), lengths'
    (B,))``; index 0 is CTC's blank, label ``k`` is index ``k + 1``.
    """

    def __init__(self, n_features: int, num_labels: int, hidden_size: int = 64,
                 num_layers: int = 1, cell: str = "gru", bidirectional: bool = True,
                 stride: int = 2, dropout: float = 0.0):
        super().__init__(n_features, hidden_size, num_layers, cell, bidirectional, stride,
                         dropout)
        self.out = nn.Linear(self.encoder.output_size, num_labels + 1)

    def forward(self, x: Tensor, lengths: Lengths) -> tuple[Tensor, Tensor]:
        h, lengths = self.states(x, lengths)
        return torch.log_softmax(self.out(h), dim=-1), lengths
