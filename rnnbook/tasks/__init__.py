"""One module per task: its batches, its loss ``(model, batch) -> (loss, n)``, its prediction
(a step run by :func:`rnnbook.outputs`) and its scores. :mod:`~rnnbook.tasks.lm` (language
modelling), :mod:`~rnnbook.tasks.tagging` (sequence labelling), :mod:`~rnnbook.tasks.ner` (named
entities: spans, CRF, baselines), :mod:`~rnnbook.tasks.classify` (text classification),
:mod:`~rnnbook.tasks.losses` (losses several tasks share),
:mod:`~rnnbook.tasks.pretrain` (language-model pre-training and fine-tuning for a classifier),
:mod:`~rnnbook.tasks.regress` (many-to-one regression),
:mod:`~rnnbook.tasks.seq2seq` (translation: split, batches, loss, BLEU) and
:mod:`~rnnbook.tasks.decoding` (greedy and beam decoding),
:mod:`~rnnbook.tasks.speech` (spoken digits and CTC),
:mod:`~rnnbook.tasks.series`, :mod:`~rnnbook.tasks.forecast_baselines` and
:mod:`~rnnbook.tasks.forecast` (forecasting), :mod:`~rnnbook.tasks.rank`,
:mod:`~rnnbook.tasks.rank_metrics` and :mod:`~rnnbook.tasks.rank_baselines` (next-item
recommendation; the session-parallel batches are :mod:`rnnbook.sessions`).
"""

from . import classify, lm, ner, pretrain, rank, regress, seq2seq, tagging

__all__ = ["classify", "lm", "ner", "pretrain", "rank", "regress", "seq2seq", "tagging"]
