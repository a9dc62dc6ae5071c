"""Bidirectional recurrent layers over padded batches of variable length.

A bidirectional layer runs one recurrence left to right and another right to left over the
same input, and concatenates their states at every step (Schuster & Paliwal, 1997)::

    h->_t = f(x_t, h->_{t-1})        t = 1..L       forward direction
    h<-_t = g(x_t, h<-_{t+1})        t = L..1       backward direction
    y_t   = [h->_t ; h<-_t]          (B, 2H)        output, forward half first

``torch.nn.LSTM/GRU/RNN(bidirectional=True)`` and the book's layers share this layout: output
``(B, T, 2H)`` (``batch_first``), final states ``(num_layers * 2, B, H)`` ordered layer 0
forward, layer 0 backward, layer 1 forward, ...; the backward direction's final state is its
state after reading ``x_1``.

In a padded batch a sequence of length ``L < T`` must not see its padding: the forward
direction must stop at ``x_L`` and the backward one must *start* at ``x_L``, not at the padding
at ``T``. ``torch.nn`` layers get this from packed sequences (:func:`packed_run`); the book's
scratch layers from a mask (:func:`masked_run`) that keeps the state unchanged on padded steps.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .recurrent import RecurrentLayer, State

Lengths = Union[Tensor, Sequence[int]]


def length_mask(lengths: Lengths, steps: int, device: Optional[torch.device] = None) -> Tensor:
    """``m[b, t] = t < L_b``: ``(B, T)`` booleans, true on real tokens, on ``device`` (default:
    the lengths' own)."""
    lengths = torch.as_tensor(lengths, device=device)
    return torch.arange(steps, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def _lengths(lengths: Lengths, batch: int, steps: int) -> Tensor:
    lengths = torch.as_tensor(lengths, dtype=torch.long).flatten().cpu()
    if lengths.numel() != batch:
        raise ValueError(f"got {lengths.numel()} lengths for a batch of {batch} sequences")
    if batch and (int(lengths.min()) < 1 or int(lengths.max()) > steps):
        raise ValueError(f"every length must be between 1 and the padded length {steps}, "
                         f"got {lengths.tolist()}")
    return lengths


def masked_run(layer: RecurrentLayer, input: Tensor, lengths: Lengths,
               hx: Optional[State] = None) -> tuple[Tensor, State]:
    """Run a scratch layer (RNN/LSTM/GRU of the book) over a padded batch, padding masked.

    Same shapes and result as ``pad_packed_sequence(torch_layer(pack_padded_sequence(...)))``:
    ``input`` ``(T, B, F)`` (``(B, T, F)`` with ``batch_first``), ``lengths`` ``(B,)``;
    returns the output ``(T, B, D*H)`` with zeros at padded steps and the final states
    ``(num_layers*D, B, H)`` taken at each sequence's own end. With the mask
    ``m_t = [t < L]`` every step is ``s_t = m_t * cell(x_t, s_{t-1}) + (1 - m_t) * s_{t-1}``.
    The backward direction runs over the time-reversed batch, where the padding comes *first*:
    the mask holds its initial state until the sequence's last real token.
    """
    batched, states = layer._check(input, hx)
    if not batched:
        raise ValueError("masked_run needs a batch (3-D input); a single sequence has no padding")
    x = input.transpose(0, 1) if layer.batch_first else input  # (T, B, F)
    steps, batch = x.size(0), x.size(1)
    lengths = _lengths(lengths, batch, steps)
    mask = (torch.arange(steps).unsqueeze(1) < lengths.unsqueeze(0)).to(x.device)  # (T, B)
    mask = mask.unsqueeze(-1)  # (T, B, 1), broadcast over the hidden units

    def run(xw, state, w_hh, b_hh, direction):
        m = mask.flip(0) if direction else mask  # reversed time: padding first, then x_L..x_1
        out = []
        # unbind, not xw[t:t + 1]: each slice would make backward write a full (T, B, G*H) grad
        for xw_t, m_t in zip(xw.unbind(0), m.unbind(0)):
            # one step of the layer's own recurrence, then keep the old state where padded
            h_t, new = layer.recurrence(xw_t.unsqueeze(0), state, w_hh, b_hh)
            state = tuple(torch.where(m_t, n, s) for n, s in zip(new, state))
            out.append(h_t[0] * m_t)  # padded outputs are zeros, as pad_packed gives
        return torch.stack(out), state

    x, h_n = layer.run_layers(x, states, run)
    if layer.batch_first:
        x = x.transpose(0, 1)
    return x, (h_n[0] if layer.state_size == 1 else h_n)


def packed_run(layer: nn.RNNBase, input: Tensor, lengths: Lengths,
               hx: Optional[State] = None) -> tuple[Tensor, State]:
    """Run a ``torch.nn`` RNN/LSTM/GRU over a padded batch through a packed sequence.

    Shapes as in :func:`masked_run`. ``pack_padded_sequence`` wants the lengths as an int64
    tensor on the CPU, whatever the device of ``input``: :func:`_lengths` moves them there.
    With ``enforce_sorted=False`` the batch need not be sorted by length: PyTorch sorts it
    inside, and the final states come back in the batch's own order; the output is padded back
    to ``T`` steps (zeros after each sequence's end).
    """
    time_dim = 1 if layer.batch_first else 0
    steps, batch = input.size(time_dim), input.size(1 - time_dim)
    lengths = _lengths(lengths, batch, steps)
    packed = pack_padded_sequence(input, lengths, batch_first=layer.batch_first,
                                  enforce_sorted=False)
    out, h_n = layer(packed, hx)
    out, _ = pad_packed_sequence(out, batch_first=layer.batch_first, total_length=steps)
    return out, h_n


def run_recurrent(layer: nn.Module, input: Tensor, lengths: Optional[Lengths] = None,
                  hx: Optional[State] = None) -> tuple[Tensor, State]:
    """``layer(input, hx)``, respecting ``lengths`` when given: packed for ``torch.nn``
    layers, masked for the book's scratch layers."""
    if lengths is None:
        return layer(input, hx)
    if isinstance(layer, nn.RNNBase):
        return packed_run(layer, input, lengths, hx)
    if isinstance(layer, RecurrentLayer):
        return masked_run(layer, input, lengths, hx)
    raise TypeError(f"cannot run {type(layer).__name__} with lengths: expected a torch.nn "
                    "RNN/LSTM/GRU or one of the book's recurrent layers")


def split_directions(output: Tensor, hidden_size: int) -> tuple[Tensor, Tensor]:
    """The forward and backward halves of a bidirectional output ``(..., 2H)``."""
    if output.size(-1) != 2 * hidden_size:
        raise ValueError(f"expected a last dimension of 2 * {hidden_size}, "
                         f"got {output.size(-1)}")
    return output[..., :hidden_size], output[..., hidden_size:]


def final_states(h_n: Tensor, num_layers: int, bidirectional: bool = True) -> Tensor:
    """Final states ``(num_layers * D, B, H)`` as ``(num_layers, D, B, H)``:
    ``[layer, 0]`` is the forward direction, ``[layer, 1]`` the backward one."""
    d = 2 if bidirectional else 1
    return h_n.view(num_layers, d, *h_n.shape[1:])
