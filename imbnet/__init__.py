"""imbnet: neural networks for class-imbalanced data, as scikit-learn classifiers.

Importing ``imbnet`` is light: the estimator modules (and with them Keras and
TensorFlow) are imported on first use of a name, so ``imbnet --help`` and
``imbnet.__version__`` do not start TensorFlow.
"""

import importlib

from . import _moved
from ._version import __version__
from .engine import _worker_threads

# In a joblib (loky) worker: TensorFlow's thread pools sized to joblib's budget.
_worker_threads.limit_in_joblib_worker()
# Pickles and saved models of imbnet 0.1 name modules that have since moved.
_moved.install()

# public name -> module that defines it, imported on first access
_EXPORTS = {
    "BalancedEnsembleClassifier": ".classifiers._ensemble",
    "BalancedSoftmaxLoss": ".weighting._long_tail_losses",
    "CostSensitiveMLPClassifier": ".classifiers._mlp",
    "CostSensitiveTextClassifier": ".classifiers._text",
    "FancyPCA": ".sampling._fancy_pca",
    "GANOverSampler": ".sampling._generative",
    "HardNegativeSampler": ".sampling._hard_negatives",
    "LDAMLoss": ".weighting._long_tail_losses",
    "LogitAdjustedLoss": ".weighting._long_tail_losses",
    "NegativeDownsampler": ".sampling._downsampling",
    "ResampledKerasClassifier": ".classifiers._resampled",
    "SequenceTarget": ".weighting._targets",
    "compute_class_weight": ".weighting._class_weight",
    "compute_label_weight": ".weighting._class_weight",
    "load": "._persistence",
    "make_tutorial_data": "._datasets",
    "save": "._persistence",
    "sequence_scorer": ".weighting._step_scoring",
}

__all__ = [*_EXPORTS, "__version__"]


# subpackages imported on first access as attributes (``imbnet.model_selection``)
_SUBPACKAGES = {"model_selection"}


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
