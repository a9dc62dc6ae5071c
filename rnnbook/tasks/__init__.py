"""One module per task: its batches, its loss ``(model, batch) -> (loss, n)``, its prediction
and its scores. :mod:`~rnnbook.tasks.lm` (language modelling), :mod:`~rnnbook.tasks.tagging`
(sequence labelling), :mod:`~rnnbook.tasks.classify` (text classification),
:mod:`~rnnbook.tasks.regress` (many-to-one regression).
"""

from . import classify, lm, regress, tagging

__all__ = ["classify", "lm", "regress", "tagging"]
