"""Seeds derived from ``random_state``, without touching global random state.

imbnet never seeds NumPy's, Python's, TensorFlow's or Keras's global
generators. Every random choice of a fit (initial weights, dropout masks,
batch order, validation split) is drawn from seeds made here.
"""

import numbers
import random
from contextlib import contextmanager

import keras
import numpy as np

__all__ = ["fit_seed", "SeedStream", "keras_seeded"]


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


@contextmanager
def keras_seeded(seed):
    """Make the unseeded random choices of Keras code in this block reproducible.

    A user's model builder creates layers without seeds: Keras then draws
    initializer and dropout seeds from Python's ``random`` and from its global
    ``SeedGenerator``. Inside this block both are seeded from ``seed``; on
    exit both are put back exactly as they were, so the caller's random state
    is unchanged.
    """
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR

    python_state = random.getstate()
    generator = global_state.get_global_attribute(GLOBAL_SEED_GENERATOR)
    random.seed(seed)
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, keras.random.SeedGenerator(seed))
    try:
        yield
    finally:
        random.setstate(python_state)
        global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, generator)
