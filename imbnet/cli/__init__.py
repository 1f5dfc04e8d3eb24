"""The ``imbnet`` command line: compare imbalance strategies, fit, predict, report.

Built on imbnet's public API only (``imbnet.CostSensitiveMLPClassifier``,
``imbnet.ResampledKerasClassifier``, ``imbnet.save``/``imbnet.load``).

The few functions a model built by the command line refers to (the one-hot
step's text conversion, the resampling strategies' network, the objectives'
metrics) are importable from here, so that a model the ``recommended.py``
script saves loads in ``imbnet predict``.
"""

from ._data import as_text
from ._main import command, main
from ._objectives import cost_per_1000, precision_at_recall, recall_at_precision
from ._strategies import build_network
from ._text import build_text_tabular, join_text, named_frame

__all__ = [
    "as_text",
    "build_network",
    "build_text_tabular",
    "command",
    "cost_per_1000",
    "join_text",
    "main",
    "named_frame",
    "precision_at_recall",
    "recall_at_precision",
]
