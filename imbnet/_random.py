"""Seeds derived from ``random_state``, without touching global random state.

imbnet never seeds NumPy's, Python's, TensorFlow's or Keras's global
generators. Every random choice of a fit (initial weights, dropout masks,
batch order, validation split) is drawn from seeds made here.
"""

import numbers
import random
import threading
from contextlib import contextmanager

import keras
import numpy as np

from ._compat import keras_global_state, keras_seed_generator_module

__all__ = ["fit_seed", "SeedStream", "keras_seeded", "reseed_layer"]


def fit_seed(random_state):
    """One integer seed for a fit.

    ``None`` draws fresh entropy from the operating system (not from NumPy's
    global generator, which stays untouched); an int is used as it is; a
    ``numpy.random.RandomState`` or ``Generator`` is drawn from, as
    scikit-learn estimators do.
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    raise TypeError(
        "random_state must be None, an int, a numpy RandomState or Generator; "
        f"got {type(random_state).__name__}."
    )


class SeedStream:
    """Independent child seeds of one fit seed, one per named purpose.

    The same fit seed and purpose always give the same child, so adding a new
    random choice does not shift the seeds of the others.
    """

    def __init__(self, seed):
        self.seed = seed

    def seed_for(self, purpose):
        """An int seed (below 2**31) for ``purpose`` (a short string)."""
        key = [ord(char) for char in purpose]
        state = np.random.SeedSequence([self.seed, *key]).generate_state(1)[0]
        return int(state >> 1)

    def rng(self, purpose):
        """A NumPy ``Generator`` for ``purpose``."""
        return np.random.default_rng(self.seed_for(purpose))


_keras_seeding_lock = threading.RLock()


@contextmanager
def keras_seeded(seed):
    """Make the unseeded random choices of Keras code in this block reproducible.

    A user's model builder creates layers without seeds: Keras then draws
    initializer and dropout seeds through its ``make_default_seed`` (from the
    ``random`` module) and from its global ``SeedGenerator``. Inside this
    block both are private generators seeded from ``seed``; on exit the
    originals are put back. Python's shared ``random`` state is never drawn
    from or reseeded, so other threads (a Dask worker's event loop, say)
    neither disturb the seeds nor are disturbed.
    """
    global_state = keras_global_state()
    seed_generator = keras_seed_generator_module()
    # Keras < 3.13 has no GLOBAL_SEED_GENERATOR constant, only this key string.
    key = getattr(seed_generator, "GLOBAL_SEED_GENERATOR", "global_seed_generator")
    with _keras_seeding_lock:
        python_random = seed_generator.python_random
        generator = global_state.get_global_attribute(key)
        seed_generator.python_random = random.Random(seed)
        global_state.set_global_attribute(key, keras.random.SeedGenerator(seed))
        try:
            yield
        finally:
            seed_generator.python_random = python_random
            global_state.set_global_attribute(key, generator)


def reseed_layer(layer, seed):
    """Restart the random streams of ``layer`` and its sublayers from ``seed``.

    A Keras random layer (``GaussianNoise``, ``RandomFlip``, ...) draws from
    a ``SeedGenerator`` whose state it carries along: used in two fits, it
    would continue its stream instead of starting from the fit's seed. Each
    generator state (listed in ``layer.variables``) is set to a seed of its own.
    """
    stream = SeedStream(seed)
    generators = [v for v in layer.variables if v.name == "seed_generator_state"]
    for position, state in enumerate(generators):
        value = np.array([stream.seed_for(f"generator{position}"), 0])
        state.assign(value.astype(keras.backend.standardize_dtype(state.dtype)))
