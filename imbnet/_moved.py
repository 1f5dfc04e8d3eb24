"""Modules that moved in imbnet 0.2 (the concept subpackages), still importable
by their old names.

Pickles and ``.imbnet`` files written by imbnet 0.1 name their classes by the
module that defined them then (``imbnet._mlp.CostSensitiveMLPClassifier``).
:class:`MovedModuleFinder` answers an import of such a name with the module as it
is now, so those files load unchanged. Keras-registered names
(``"imbnet>FocalLoss"``) never held a module path and did not move.
"""

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["MOVED", "MovedModuleFinder", "install"]

# old module name -> where it lives now
MOVED = {
    "imbnet._engine": "imbnet.engine._loop",
    "imbnet._program": "imbnet.engine._program",
    "imbnet._program_cache": "imbnet.engine._program_cache",
    "imbnet._keras_fit": "imbnet.engine._keras_fit",
    "imbnet._stopping": "imbnet.engine._stopping",
    "imbnet._schedules": "imbnet.engine._schedules",
    "imbnet._stacking": "imbnet.engine._stacking",
    "imbnet._worker_threads": "imbnet.engine._worker_threads",
    "imbnet._class_weight": "imbnet.weighting._class_weight",
    "imbnet._priors": "imbnet.weighting._priors",
    "imbnet._losses": "imbnet.weighting._losses",
    "imbnet._long_tail_losses": "imbnet.weighting._long_tail_losses",
    "imbnet._targets": "imbnet.weighting._targets",
    "imbnet._samplers": "imbnet.sampling._samplers",
    "imbnet._batching": "imbnet.sampling._batching",
    "imbnet._epochs": "imbnet.sampling._epochs",
    "imbnet._hard_negatives": "imbnet.sampling._hard_negatives",
    "imbnet._downsampling": "imbnet.sampling._downsampling",
    "imbnet._generative": "imbnet.sampling._generative",
    "imbnet._fancy_pca": "imbnet.sampling._fancy_pca",
    "imbnet._sparse": "imbnet.data._sparse",
    "imbnet._dask": "imbnet.data._dask",
    "imbnet._dask_partitions": "imbnet.data._dask_partitions",
    "imbnet._base": "imbnet.classifiers._base",
    "imbnet._mlp": "imbnet.classifiers._mlp",
    "imbnet._resampled": "imbnet.classifiers._resampled",
    "imbnet._ensemble": "imbnet.classifiers._ensemble",
    "imbnet._incremental": "imbnet.classifiers._incremental",
    "imbnet._routing": "imbnet.classifiers._routing",
}


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name in :data:`MOVED` and loads the module it became.

    The old name is bound to the *same* module object, so a class keeps one
    identity (``imbnet._mlp.CostSensitiveMLPClassifier is
    imbnet.CostSensitiveMLPClassifier``) and the module keeps its new name.
    """

    def __init__(self):
        self._specs = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(MOVED[spec.name])
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        # The module ran under its new name already; importlib has just set its
        # __spec__ to the old name's: give it back its own.
        module.__spec__ = self._specs.pop(module.__spec__.name)


def install():
    """Add the finder to ``sys.meta_path``, once."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
