"""Whole models of the book, each built around the layers of :mod:`rnnbook.layers`.

Every language model maps ``(ids, state) -> (logits, state)``; the tagger maps
``(words, lengths, chars) -> logits``; the classifier ``(ids, lengths) -> logits (B, K)``;
the regressor ``x -> y``.
"""

from .classifier import AttentionPooling, TextClassifier
from .crf import CRF, CRFTagger, iob2_constraints
from .encoder import RecurrentEncoder
from .lm import NPLM, BigramLM, CharLM, charlm_parameters, count_parameters
from .regressor import SequenceRegressor
from .seq2seq import Seq2Seq
from .tagger import CharEncoder, Tagger

__all__ = ["BigramLM", "NPLM", "CharLM", "charlm_parameters", "count_parameters",
           "RecurrentEncoder", "SequenceRegressor", "CharEncoder", "Tagger",
           "AttentionPooling", "TextClassifier", "CRF", "CRFTagger", "iob2_constraints",
           "Seq2Seq"]
from .word_lm import ConcatPoolClassifier, WordLM  # noqa: E402  (the pre-training chapter's models)

__all__ += ["WordLM", "ConcatPoolClassifier"]
