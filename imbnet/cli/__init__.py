"""The ``imbnet`` command line: compare imbalance strategies, fit, predict, report.

Built on imbnet's public API only (``imbnet.CostSensitiveMLPClassifier``,
``imbnet.ResampledKerasClassifier``, ``imbnet.save``/``imbnet.load``).
"""

from ._main import main

__all__ = ["main"]
