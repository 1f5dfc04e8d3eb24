"""Every private API imbnet relies on, in one place.

imbnet uses a few names that the libraries it builds on do not promise to
keep. They are imported here only, so that a new release that moves one
breaks one module, and the versions they were checked against are the bounds
in ``pyproject.toml``:

- scikit-learn (checked 1.6 to 1.9): ``sklearn.utils._param_validation``
  (the constraint types of ``_parameter_constraints``, as scikit-learn's own
  estimators declare them) and ``sklearn.utils.validation._check_sample_weight``.
- Keras (checked 3.5 to 3.15): ``keras.src.backend.common.global_state`` (the
  per-thread layer-name counter and global seed generator) and
  ``keras.src.random.seed_generator`` (the Python ``random`` instance Keras
  draws default seeds from).

And one workaround: :func:`to_numpy` reads a Keras variable without the
``DeprecationWarning`` NumPy 2 gives for ``keras.ops.convert_to_numpy`` of a
TensorFlow-backed variable (Keras calls ``np.array`` on it, whose
``__array__`` takes no ``copy`` keyword).

imbnet imports nothing private from scikeras: since Keras 3 pickles models,
optimizers and losses itself, scikeras is only needed by
:meth:`imbnet.ResampledKerasClassifier.from_scikeras`, which reads public
attributes of a scikeras estimator.
"""

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "check_sample_weight",
    "keras_global_state",
    "keras_seed_generator_module",
    "to_numpy",
]

check_sample_weight = _check_sample_weight


def keras_global_state():
    """Keras's module of per-thread global attributes (name counters, seed generator)."""
    from keras.src.backend.common import global_state

    return global_state


def keras_seed_generator_module():
    """Keras's module holding ``python_random`` and the global seed generator's name."""
    from keras.src.random import seed_generator

    return seed_generator


def to_numpy(value):
    """``value`` (a Keras variable or tensor) as a NumPy array.

    On TensorFlow a variable is read with its own ``numpy()`` (a copy):
    ``keras.ops.convert_to_numpy`` of it calls ``np.array`` on it, which NumPy 2
    answers with a ``DeprecationWarning`` (the variable's ``__array__`` takes no
    ``copy`` keyword), shown to anyone running their code under pytest or -W.
    On JAX and PyTorch, Keras's conversions of a variable warn the same way
    (its ``numpy()`` too); there it is converted as before.
    """
    import keras

    if isinstance(value, keras.Variable) and keras.backend.backend() == "tensorflow":
        return value.numpy()
    return keras.ops.convert_to_numpy(value)
