"""One module per task: its batches, its loss ``(model, batch) -> (loss, n)``, its prediction
and its scores. :mod:`~rnnbook.tasks.lm` (language modelling), :mod:`~rnnbook.tasks.tagging`
(sequence labelling), :mod:`~rnnbook.tasks.regress` (many-to-one regression).
"""

from . import lm, regress, tagging

__all__ = ["lm", "regress", "tagging"]
