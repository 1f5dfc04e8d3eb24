"""imbnet: neural networks for class-imbalanced data, as scikit-learn classifiers."""

from ._class_weight import compute_class_weight
from ._mlp import CostSensitiveMLPClassifier

__all__ = ["CostSensitiveMLPClassifier", "compute_class_weight"]

__version__ = "0.1.0"
