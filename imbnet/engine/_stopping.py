"""The stopping rule of scikit-learn's ``MLPClassifier``, written once.

After every epoch the monitored loss (the training loss, or the validation
loss with early stopping) is compared with the best so far: an epoch whose
loss is not below ``best - tol`` counts as no improvement, any other resets
the count; the best is the lowest loss seen, whether or not it improved by
``tol``. Training stops when the count exceeds ``n_iter_no_change``, i.e.
after ``n_iter_no_change + 1`` epochs without an improvement of ``tol``,
exactly where scikit-learn stops.

:func:`update` is written with ``where``/``minimum`` only, so the same code
runs on NumPy scalars (Keras's ``model.fit`` path) and inside a compiled
TensorFlow program (imbnet's own loop), elementwise on arrays of
states (one per network trained side by side). This module knows nothing of
estimators.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["StoppingState", "update", "initial_state"]


class StoppingState(NamedTuple):
    """The best loss so far and the count of epochs without improvement."""

    best: object
    count: object


def initial_state(xp=np, members=0):
    """The state before the first epoch: best loss infinite, no count; with
    ``members`` > 0, one such state per member (arrays of that length)."""
    if members:
        return StoppingState(np.full(members, np.inf, np.float32), np.zeros(members, np.int32))
    return StoppingState(
        xp.constant(np.inf) if xp is not np else np.inf, xp.constant(0) if xp is not np else 0
    )


def update(state, loss, *, tol, n_iter_no_change, xp=np):
    """The state after an epoch with monitored ``loss``.

    Returns
    -------
    state : StoppingState
    improved : bool
        Whether ``loss`` is the lowest so far (the weights to keep with
        early stopping).
    stop : bool
        Whether training stops after this epoch.
    """
    count = xp.where(loss > state.best - tol, state.count + 1, 0 * state.count)
    improved = loss < state.best
    best = xp.minimum(state.best, loss)
    return StoppingState(best, count), improved, count > n_iter_no_change
