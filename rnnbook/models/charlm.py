"""A character language model around any recurrent layer: embedding -> recurrent layer -> linear.

    e_t = E[x_t]                       (B, T, E)
    h_t = layer(e_1..e_t, state)       (B, T, H)   the top layer's output
    logits_t = h_t W_out^T + b_out     (B, T, V)

Any module with the call signature of ``torch.nn.RNN``/``LSTM``/``GRU`` (``batch_first=True``)
can be the layer, so the RNN, LSTM and GRU chapters train the same model.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import torch
from torch import Tensor, nn

from .rnn import RNN

#: Recurrent layers by name; a chapter that writes a new layer can register it here.
LAYERS: dict[str, Callable[..., nn.Module]] = {
    "rnn": RNN,
    "torch-rnn": nn.RNN,
    "torch-lstm": nn.LSTM,
    "torch-gru": nn.GRU,
}


def register_layer(name: str, factory: Callable[..., nn.Module]) -> None:
    """Make ``CharLM(..., cell=name)`` build ``factory(input_size, hidden_size, num_layers=,
    dropout=, batch_first=True)``."""
    LAYERS[name] = factory


class CharLM(nn.Module):
    """Embedding, recurrent layer (``batch_first``), linear output: the book's character LM.

    ``cell`` is a name from :data:`LAYERS` (``'rnn'``, ``'torch-rnn'``, ``'torch-lstm'``, ...),
    a class with the ``torch.nn.RNN`` constructor, or a ready recurrent module (then
    ``hidden_size``, ``num_layers`` and the layer's dropout are its own). ``dropout`` also acts
    on the layer's output. ``forward(ids (B, T), state=None) -> (logits (B, T, V), state)``,
    where ``state`` is whatever the layer returns (``h`` or ``(h, c)``).
    """

    def __init__(
        self,
        vocab_size: int,
        embed_size: int,
        hidden_size: Optional[int] = None,
        num_layers: int = 1,
        cell: Union[str, Callable[..., nn.Module], nn.Module] = "rnn",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        if isinstance(cell, nn.Module):
            self.rnn = cell
            if not getattr(cell, "batch_first", False):
                raise ValueError("CharLM feeds (batch, time, features): build the recurrent "
                                 "layer with batch_first=True")
        else:
            if hidden_size is None:
                raise ValueError("give hidden_size (or pass a ready recurrent module as cell)")
            if isinstance(cell, str):
                if cell not in LAYERS:
                    raise ValueError(f"unknown cell {cell!r}; known: {', '.join(LAYERS)} "
                                     "(or pass a class or a module)")
                cell = LAYERS[cell]
            self.rnn = cell(embed_size, hidden_size, num_layers=num_layers,
                            dropout=dropout if num_layers > 1 else 0.0, batch_first=True)
        if getattr(self.rnn, "input_size", embed_size) != embed_size:
            raise ValueError(f"the recurrent layer takes {self.rnn.input_size} features, "
                             f"but embed_size={embed_size}")
        width = self.rnn.hidden_size * (2 if getattr(self.rnn, "bidirectional", False) else 1)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(width, vocab_size)
        self.vocab_size = vocab_size

    def hidden(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """The top layer's hidden states ``(B, T, H)`` and the final state."""
        return self.rnn(self.embed(ids), state)

    def forward(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        if ids.dim() != 2:
            raise ValueError(f"CharLM takes ids of shape (batch, time), got {tuple(ids.shape)}")
        h, state = self.hidden(ids, state)
        return self.out(self.drop(h)), state


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def charlm_parameters(vocab_size: int, embed_size: int, hidden_size: int, num_layers: int = 1,
                      gates: int = 1) -> int:
    """Parameters of a :class:`CharLM` with biases, by formula: ``V*E`` (embedding)
    + ``G*H*(F + H + 2)`` per layer (``F = E`` in the first, ``H`` above) + ``(H + 1)*V``."""
    layers = sum(gates * hidden_size * ((embed_size if k == 0 else hidden_size) + hidden_size + 2)
                 for k in range(num_layers))
    return vocab_size * embed_size + layers + (hidden_size + 1) * vocab_size


@torch.no_grad()
def hidden_trace(model: CharLM, ids: Tensor) -> Tensor:
    """Hidden states of the top layer over a 1-D id sequence, ``(T, H)`` (eval mode)."""
    was = model.training
    model.eval()
    try:
        h, _ = model.hidden(ids.reshape(1, -1).to(next(model.parameters()).device))
    finally:
        model.train(was)
    return h[0].cpu()
