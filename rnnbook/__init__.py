"""rnnbook: the companion package of an executable book on recurrent neural networks.

The names a chapter uses most are re-exported here; the rest live in the submodules
(:mod:`rnnbook.data`, :mod:`rnnbook.text`, :mod:`rnnbook.models`, ...).
"""

from . import batching, corpora, data, metrics, models, plot, text
from .batching import PaddedBatches, StreamBatches
from .book import ClaimFailed, expect, glue, show
from .config import budget, device, hparams, seed_everything
from .generate import generate
from .metrics import accuracy, bits, perplexity
from .text import Vocab, char_tokenize, word_tokenize
from .train import History, LanguageModelLoss, TrainingDiverged, evaluate, train

__version__ = "0.1.0"

__all__ = [
    "batching", "corpora", "data", "metrics", "models", "plot", "text",
    "PaddedBatches", "StreamBatches", "ClaimFailed", "expect", "glue", "show",
    "budget", "device", "hparams", "seed_everything", "generate",
    "accuracy", "bits", "perplexity", "Vocab", "char_tokenize", "word_tokenize",
    "History", "LanguageModelLoss", "TrainingDiverged", "evaluate", "train",
]
