"""One module per task: its batches, its loss ``(model, batch) -> (loss, n)``, its prediction
and its scores. :mod:`~rnnbook.tasks.lm` (language modelling), :mod:`~rnnbook.tasks.tagging`
(sequence labelling), :mod:`~rnnbook.tasks.ner` (named entities: spans, CRF, baselines),
:mod:`~rnnbook.tasks.classify` (text classification),
:mod:`~rnnbook.tasks.pretrain` (language-model pre-training for a classifier),
:mod:`~rnnbook.tasks.regress` (many-to-one regression),
:mod:`~rnnbook.tasks.seq2seq` (translation: loss, greedy and beam decoding, BLEU),
:mod:`~rnnbook.tasks.rank` (next-item recommendation: session-parallel batches, full-ranking
Recall/MRR, count baselines).
"""

from . import classify, lm, ner, pretrain, rank, regress, seq2seq, tagging

__all__ = ["classify", "lm", "ner", "pretrain", "rank", "regress", "seq2seq", "tagging"]
