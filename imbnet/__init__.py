"""imbnet: neural networks for class-imbalanced data, as scikit-learn classifiers."""

from ._class_weight import compute_class_weight
from ._mlp import CostSensitiveMLPClassifier
from ._persistence import load, save
from ._resampled import ResampledKerasClassifier
from ._version import __version__

__all__ = [
    "CostSensitiveMLPClassifier",
    "ResampledKerasClassifier",
    "compute_class_weight",
    "load",
    "save",
    "__version__",
]
