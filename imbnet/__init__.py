"""imbnet: neural networks for class-imbalanced data, as scikit-learn classifiers."""

from ._class_weight import compute_class_weight, compute_label_weight
from ._hard_negatives import HardNegativeSampler
from ._mlp import CostSensitiveMLPClassifier
from ._resampled import ResampledKerasClassifier

__all__ = [
    "CostSensitiveMLPClassifier",
    "HardNegativeSampler",
    "ResampledKerasClassifier",
    "compute_class_weight",
    "compute_label_weight",
]

__version__ = "0.1.0"
