"""Whether a compiled program still holds a model's state: ``partial_fit`` without copies.

A cached program (:class:`imbnet.engine._program.Program`) trains on its own
copy of the model; the fitted model's state is copied in before a fit and
out after it. Consecutive ``partial_fit`` calls of one estimator would copy
back in exactly what the last call copied out. :class:`HeldState`, taken when
the program stores its state into a model, tells the next load whether that
model is unchanged since, so the copy can be skipped. It compares the
model's values (not only its identity), so a change made in between
(``set_weights``, an assignment, a new learning rate, another program's
store) is always copied in.
"""

import math
import weakref

import keras
import numpy as np

__all__ = ["HeldState"]


class HeldState:
    """The model a program's state was last stored into, and that model's state
    then: its values, its penalties' factors and the optimizer state kept aside
    (``rest``, the moments of an optimizer not built)."""

    # Larger states are copied in every time: a copy kept per cached program
    # would cost memory, and their copy costs little beside their training.
    MAX_BYTES = 2**20

    def __init__(self, model, penalties, rest, values=None):
        """``values``: the model's state values as just stored (tensors or arrays,
        in the order of its variables and its optimizer's), if the caller has them;
        else they are read from the model."""
        self.model = weakref.ref(model)
        if not self.keeps(_state(model)):
            self.values = None
        elif values is not None:
            self.values = [np.asarray(v) for v in values]
        else:
            self.values = _values(model)
        self.factors = _penalty_factors(model, penalties)
        self.rest = rest

    @classmethod
    def keeps(cls, variables):
        """Whether a state of these variables is small enough to be kept and compared."""
        size = sum(
            math.prod(v.shape) * np.dtype(keras.backend.standardize_dtype(v.dtype)).itemsize
            for v in variables
        )
        return size <= cls.MAX_BYTES

    def holds(self, model, penalties, rest):
        """Whether ``model`` is the one stored into and has not changed since."""
        if self.values is None or self.model() is not model or rest is not self.rest:
            return False
        if _penalty_factors(model, penalties) != self.factors:
            return False
        values = _values(model)
        return len(values) == len(self.values) and all(
            a.shape == b.shape and np.array_equal(a, b) for a, b in zip(values, self.values)
        )


def _state(model):
    return list(model.variables) + list(model.optimizer.variables)


def _values(model):
    return [np.asarray(getattr(v, "value", v).numpy()) for v in _state(model)]


def _penalty_factors(model, penalties):
    return [
        getattr(getattr(model.variables[i], "regularizer", None), name, 0.0)
        for i, _ in penalties
        for name in ("l1", "l2")
    ]
