"""imbnet: neural networks for class-imbalanced data, as scikit-learn classifiers.

Importing ``imbnet`` is light: the estimator modules (and with them Keras and
TensorFlow) are imported on first use of a name, so ``imbnet --help`` and
``imbnet.__version__`` do not start TensorFlow.
"""

import importlib

from ._version import __version__
from . import _worker_threads

# In a joblib (loky) worker: TensorFlow's thread pools sized to joblib's budget.
_worker_threads.limit_in_joblib_worker()

# public name -> module that defines it, imported on first access
_EXPORTS = {
    "BalancedEnsembleClassifier": "._ensemble",
    "BalancedSoftmaxLoss": "._long_tail_losses",
    "CostSensitiveMLPClassifier": "._mlp",
    "FancyPCA": "._fancy_pca",
    "GANOverSampler": "._generative",
    "HardNegativeSampler": "._hard_negatives",
    "LDAMLoss": "._long_tail_losses",
    "LogitAdjustedLoss": "._long_tail_losses",
    "NegativeDownsampler": "._downsampling",
    "ResampledKerasClassifier": "._resampled",
    "compute_class_weight": "._class_weight",
    "compute_label_weight": "._class_weight",
    "load": "._persistence",
    "make_tutorial_data": "._datasets",
    "save": "._persistence",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
