"""What every recurrent layer of the book shares: layers, directions, dropout, shapes.

A recurrent layer runs a cell along time, then feeds its outputs to the next layer. The
parameters have the names and shapes of ``torch.nn.RNN``/``LSTM``/``GRU`` (``weight_ih_l0``
``(G*H, F)``, ``weight_hh_l0`` ``(G*H, H)``, ``bias_ih_l0``, ``bias_hh_l0``, ``..._reverse`` for
the backward direction), so ``state_dict``s load both ways. A subclass sets ``gates`` (``G``:
1 for the RNN, 4 for the LSTM, 3 for the GRU) and ``state_size`` (tensors in the state: 1 for
``h``, 2 for ``(h, c)``), and writes :meth:`recurrence`, the loop over time of one layer in one
direction. The loop reads the steps of ``xw`` from ``xw.unbind(0)``, not ``xw[t]``: each
``xw[t]`` would add a backward node that writes a full ``(T, B, G*H)`` gradient, making the
backward pass quadratic in ``T``.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

State = Union[Tensor, tuple[Tensor, ...]]
# run(xw, state, w_hh, b_hh, direction) -> (outputs, final state): one layer, one direction
Run = Callable[[Tensor, tuple[Tensor, ...], Tensor, Optional[Tensor], int],
               tuple[Tensor, tuple[Tensor, ...]]]
# gates: a list to which a recurrence appends {gate name: (T, B, H) activations}, one per run
GateLog = Optional[list[dict[str, Tensor]]]


def init_uniform(module: nn.Module, hidden_size: int) -> None:
    """Every parameter of ``module`` ~ U(-1/sqrt(H), 1/sqrt(H)), as ``torch.nn``'s RNNs do."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)


class RecurrentCell(nn.Module):
    """Base of the book's one-step cells, with the parameters of ``torch.nn.RNNCell`` and kin.

    ``weight_ih`` ``(G*H, F)``, ``weight_hh`` ``(G*H, H)``, ``bias_ih`` and ``bias_hh`` ``(G*H,)``
    (``None`` without bias), initialised as PyTorch does. A subclass sets ``gates`` (``G``) and
    writes ``forward``, starting from :meth:`zeros_if_none` for a missing state.
    """

    gates: int = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        rows = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(rows)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(rows)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
        init_uniform(self, self.hidden_size)

    def zeros_if_none(self, x: Tensor, state: Optional[Tensor]) -> Tensor:
        """Check the input ``(B, F)`` or ``(F,)`` and the state ``(B, H)`` or ``(H,)``;
        return ``state``, or zeros of that shape when it is ``None``."""
        name = type(self).__name__
        if x.dim() not in (1, 2):
            raise ValueError(f"{name}: expected an input of shape (batch, features) or "
                             f"(features,), got {tuple(x.shape)}")
        if x.size(-1) != self.input_size:
            raise ValueError(f"{name}: input has {x.size(-1)} features, "
                             f"but input_size={self.input_size}")
        want = (*x.shape[:-1], self.hidden_size)
        if state is None:
            return x.new_zeros(want)
        if not isinstance(state, Tensor):
            raise ValueError(f"{name}: expected a state tensor of shape {want}, "
                             f"got {type(state).__name__}")
        if tuple(state.shape) != want:  # a (1, H) state would broadcast over the batch
            raise ValueError(f"{name}: expected a state of shape {want} "
                             f"({'batch, ' if x.dim() == 2 else ''}hidden_size) for an input of "
                             f"shape {tuple(x.shape)}, got {tuple(state.shape)}")
        return state

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + (
            "" if self.bias_ih is not None else ", bias=False")


class RecurrentLayer(nn.Module):
    """Base of the book's multi-layer recurrent layers (call signature of ``torch.nn.RNN``).

    ``forward(input, hx=None) -> (output, h_n)`` with input ``(T, B, F)`` (``(B, T, F)`` with
    ``batch_first``, ``(T, F)`` unbatched), state ``(num_layers * D, B, H)`` (``D`` = 2 if
    bidirectional) and output ``(T, B, D * H)``. Dropout acts on the outputs of every layer but
    the last, in training only. Beyond ``torch.nn``'s signature, ``forward`` takes a
    keyword-only ``gates`` list to record the gate activations (see :meth:`forward`).
    """

    gates: int = 1
    state_size: int = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be a probability in [0, 1], got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        factory = {"device": device, "dtype": dtype}
        rows = self.gates * hidden_size
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                sfx = self._suffix(layer, direction)
                self.register_parameter(
                    f"weight_ih{sfx}", nn.Parameter(torch.empty(rows, width, **factory)))
                self.register_parameter(
                    f"weight_hh{sfx}", nn.Parameter(torch.empty(rows, hidden_size, **factory)))
                if bias:
                    self.register_parameter(
                        f"bias_ih{sfx}", nn.Parameter(torch.empty(rows, **factory)))
                    self.register_parameter(
                        f"bias_hh{sfx}", nn.Parameter(torch.empty(rows, **factory)))
        self.reset_parameters()

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
        init_uniform(self, self.hidden_size)

    def layer_weights(self, layer: int, direction: int = 0
                      ) -> tuple[Tensor, Tensor, Optional[Tensor], Optional[Tensor]]:
        """``(W_ih, W_hh, b_ih, b_hh)`` of one layer and direction (biases ``None`` if off)."""
        sfx = self._suffix(layer, direction)
        get = lambda name: getattr(self, name + sfx, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def recurrence(self, xw: Tensor, state: tuple[Tensor, ...], w_hh: Tensor,
                   b_hh: Optional[Tensor], gates: GateLog = None
                   ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Run one layer in one direction along time.

        ``xw`` is the input projection ``x W_ih^T + b_ih`` of all steps, ``(T, B, G*H)``;
        ``state`` holds ``state_size`` tensors ``(B, H)``. Returns the outputs ``(T, B, H)``
        and the final state. A layer with gates (LSTM, GRU) appends to the list ``gates``,
        when one is given, a dict of its activations, each stacked over time ``(T, B, H)``.
        """
        raise NotImplementedError

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    def _check(self, input: Tensor, hx: Optional[State]) -> tuple[bool, tuple[Tensor, ...]]:
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            raise TypeError(
                f"{name} takes a padded tensor, not a PackedSequence (only torch.nn's layers "
                "read packed sequences). Run it over a padded batch with its lengths: "
                "rnnbook.layers.masked_run(layer, padded, lengths), or unpack first with "
                "torch.nn.utils.rnn.pad_packed_sequence")
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a tensor, got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{name}: expected input of 3 dimensions (time, batch, features), "
                f"{'(batch, time, features) with batch_first, ' if self.batch_first else ''}"
                f"or 2 unbatched (time, features); got shape {tuple(input.shape)}")
        if input.size(-1) != self.input_size:
            raise ValueError(f"{name}: input has {input.size(-1)} features in its last dimension, "
                             f"but input_size={self.input_size}")
        batched = input.dim() == 3
        time_dim = 1 if (batched and self.batch_first) else 0
        if input.size(time_dim) == 0:
            raise ValueError(f"{name}: the input has no time steps (shape {tuple(input.shape)})")
        if hx is None:
            return batched, ()
        states = (hx,) if isinstance(hx, Tensor) else tuple(hx)
        if len(states) != self.state_size:
            raise ValueError(f"{name}: the state must be {self.state_size} tensor(s), "
                             f"got {len(states)}")
        batch = input.size(0 if self.batch_first else 1) if batched else None
        want = (self.num_layers * self.num_directions,) + ((batch,) if batched else ()) + (
            self.hidden_size,)
        for s in states:
            if tuple(s.shape) != want:
                raise ValueError(
                    f"{name}: expected a state of shape {want} (num_layers * directions, "
                    f"{'batch, ' if batched else ''}hidden_size), got {tuple(s.shape)}")
        return batched, states

    def run_layers(self, x: Tensor, states: tuple[Tensor, ...], run: Optional[Run] = None,
                   gates: GateLog = None) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Every layer and direction over a time-first batch ``x`` ``(T, B, F)``.

        ``states`` holds ``state_size`` tensors ``(num_layers * D, B, H)``, or is empty for
        zeros. ``run(xw, state, w_hh, b_hh, direction)`` runs one layer in one direction
        (default: :meth:`recurrence`); the backward direction gets its input time-reversed.
        ``gates`` (a list, with the default ``run`` only) receives one entry of activations per
        layer and direction, in the order of the state (``k = layer * D + direction``), the
        backward direction's in reversed time. Returns the top layer's output ``(T, B, D * H)``
        and the final states.
        """
        if run is None:
            run = lambda xw, state, w_hh, b_hh, direction: self.recurrence(  # noqa: E731
                xw, state, w_hh, b_hh, gates=gates)
        elif gates is not None:
            raise ValueError("gates can only be recorded by the layer's own recurrence "
                             "(run=None)")
        if not states:
            zeros = x.new_zeros(self.num_layers * self.num_directions, x.size(1),
                                self.hidden_size)
            states = (zeros,) * self.state_size
        finals: list[list[Tensor]] = [[] for _ in range(self.state_size)]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                w_ih, w_hh, b_ih, b_hh = self.layer_weights(layer, direction)
                xw = F.linear(x, w_ih, b_ih)  # (T, B, G*H): one matmul for all time steps
                if direction:
                    xw = xw.flip(0)
                index = layer * self.num_directions + direction
                out, final = run(xw, tuple(s[index] for s in states), w_hh, b_hh, direction)
                outputs.append(out.flip(0) if direction else out)
                for kept, s in zip(finals, final):
                    kept.append(s)
            x = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, tuple(torch.stack(kept) for kept in finals)  # each (num_layers * D, B, H)

    def forward(self, input: Tensor, hx: Optional[State] = None, *,
                gates: GateLog = None) -> tuple[Tensor, State]:
        """``(output, h_n)`` for ``input`` and the initial state ``hx`` (zeros if ``None``).

        ``gates``, keyword-only, is an extension beyond ``torch.nn``'s signature: a list to
        which an LSTM or GRU appends, for every layer and direction, a dict of its gate
        activations stacked over time, ``(T, B, H)`` each (the backward direction's in reversed
        time). Without it nothing is recorded. :func:`~rnnbook.layers.record_gates` uses it and
        lays the entries out like the output.
        """
        if gates is not None and not isinstance(gates, list):
            raise TypeError(f"gates must be a list to append to, got {type(gates).__name__}")
        batched, states = self._check(input, hx)
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)  # (T, B, F): the loop runs over the first dimension
        if not batched:
            states = tuple(s.unsqueeze(1) for s in states)
        x, h_n = self.run_layers(x, states, gates=gates)
        if not batched:
            x, h_n = x.squeeze(1), tuple(h.squeeze(1) for h in h_n)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, (h_n[0] if self.state_size == 1 else h_n)
