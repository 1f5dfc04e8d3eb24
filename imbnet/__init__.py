"""imbnet: neural networks for class-imbalanced data, as scikit-learn classifiers."""

from ._class_weight import compute_class_weight
from ._mlp import CostSensitiveMLPClassifier
from ._resampled import ResampledKerasClassifier

__all__ = ["CostSensitiveMLPClassifier", "ResampledKerasClassifier", "compute_class_weight"]

__version__ = "0.1.0"
