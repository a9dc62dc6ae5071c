"""The recurrent layers written from their equations, each the twin of its ``torch.nn`` module.

Cells (:class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`) and multi-layer, bidirectional
layers (:class:`RNN`, :class:`LSTM`, :class:`GRU`) share parameter names, shapes and call
signatures with PyTorch, so ``state_dict``s load both ways; :func:`make_layer` builds either
kind; :mod:`~rnnbook.layers.packing` runs them over padded batches; :func:`record_gates` reads
the gates of an LSTM or GRU; :func:`add_lora` gives weights a trainable low-rank update (LoRA).
"""

from .attention import Attention, dot_attention, masked_softmax
from .builder import KINDS, layer_or_kind, make_layer, output_size
from .gates import record_gates
from .gru import GRU, GRUCell, gru_update
from .lora import LoRA, add_lora, lora_parameters, merge_lora, weight_matrices
from .lstm import LSTM, LSTMCell, lstm_update, set_forget_bias
from .packing import (
    Lengths,
    final_states,
    length_mask,
    masked_run,
    packed_run,
    run_recurrent,
    split_directions,
)
from .recurrent import RecurrentCell, RecurrentLayer, State
from .rnn import RNN, RNNCell

__all__ = ["Attention", "dot_attention", "masked_softmax",
           "KINDS", "make_layer", "layer_or_kind", "output_size", "record_gates",
           "RecurrentCell", "RecurrentLayer", "State", "Lengths", "length_mask",
           "RNN", "RNNCell", "LSTM", "LSTMCell", "lstm_update", "set_forget_bias",
           "GRU", "GRUCell", "gru_update",
           "LoRA", "add_lora", "merge_lora", "lora_parameters", "weight_matrices",
           "masked_run", "packed_run", "run_recurrent", "split_directions", "final_states"]
