"""rnnbook: the companion package of an executable book on recurrent neural networks.

The names a chapter uses most are re-exported here; the rest live in the submodules:
:mod:`rnnbook.data` (data sets), :mod:`rnnbook.text`, :mod:`rnnbook.corpora` and
:mod:`rnnbook.batching` (tokens to batches), :mod:`rnnbook.layers` (recurrent layers from the
equations), :mod:`rnnbook.models` (whole models), :mod:`rnnbook.tasks` (losses, predictions and
scores per task), :mod:`rnnbook.train` (the one loop), :mod:`rnnbook.evaluation` (``evaluate``,
``outputs``), :mod:`rnnbook.metrics`, :mod:`rnnbook.plot`, :mod:`rnnbook.diagrams`.
"""

from importlib.metadata import PackageNotFoundError, version

from . import batching, corpora, data, layers, metrics, models, plot, tasks, text
from .batching import PaddedBatches, StreamBatches
from .book import ClaimFailed, Results, expect, glue, show, table
from .checkpoint import CorruptCheckpoint
from .config import budget, device, hparams, seed_everything
from .evaluation import evaluate, outputs
from .generate import generate
from .history import History
from .metrics import accuracy, bits, perplexity
from .runtime import eval_mode
from .tasks.lm import LanguageModelLoss
from .text import Vocab, char_tokenize, word_tokenize
from .train import TrainingDiverged, train

try:
    __version__ = version("rnnbook")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "batching", "corpora", "data", "layers", "metrics", "models", "plot", "tasks", "text",
    "PaddedBatches", "StreamBatches", "ClaimFailed", "Results", "expect", "glue", "show", "table",
    "budget", "device", "hparams", "seed_everything", "generate",
    "accuracy", "bits", "perplexity", "Vocab", "char_tokenize", "word_tokenize",
    "History", "LanguageModelLoss", "TrainingDiverged", "eval_mode", "evaluate", "outputs",
    "train", "CorruptCheckpoint",
]
