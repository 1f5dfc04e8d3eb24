"""imbnet: neural networks for class-imbalanced data, as scikit-learn classifiers."""

from ._class_weight import compute_class_weight, compute_label_weight
from ._fancy_pca import FancyPCA
from ._generative import GANOverSampler
from ._hard_negatives import HardNegativeSampler
from ._mlp import CostSensitiveMLPClassifier
from ._persistence import load, save
from ._resampled import ResampledKerasClassifier
from ._version import __version__

__all__ = [
    "CostSensitiveMLPClassifier",
    "FancyPCA",
    "GANOverSampler",
    "HardNegativeSampler",
    "ResampledKerasClassifier",
    "compute_class_weight",
    "compute_label_weight",
    "load",
    "save",
    "__version__",
]
