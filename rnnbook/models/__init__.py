"""Models of the book. Every language model maps ``(ids, state) -> (logits, state)``."""

from .bidirectional import RecurrentEncoder, masked_run, packed_run, run_recurrent
from .bigram import BigramLM
from .charlm import CharLM, charlm_parameters, count_parameters, hidden_trace
from .gates import record_gates
from .gru import GRU, GRUCell
from .lstm import LSTM, LSTMCell, set_forget_bias
from .nplm import NPLM
from .probes import gradient_by_distance
from .recurrent import RecurrentCell, RecurrentLayer
from .rnn import RNN, RNNCell
from .tagger import CharEncoder, Tagger

__all__ = ["BigramLM", "CharLM", "charlm_parameters", "count_parameters", "hidden_trace",
           "NPLM", "RecurrentCell", "RecurrentLayer", "RNN", "RNNCell",
           "LSTM", "LSTMCell", "set_forget_bias", "GRU", "GRUCell", "record_gates",
           "gradient_by_distance",
           "RecurrentEncoder", "masked_run", "packed_run", "run_recurrent",
           "CharEncoder", "Tagger"]
