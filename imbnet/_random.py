"""Seeds derived from ``random_state``, without touching global random state.

imbnet never seeds NumPy's, Python's, TensorFlow's or Keras's global
generators. Every random choice of a fit (initial weights, dropout masks,
batch order, validation split) is drawn from seeds made here.
"""

import numbers

import numpy as np

__all__ = ["fit_seed", "SeedStream"]


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
