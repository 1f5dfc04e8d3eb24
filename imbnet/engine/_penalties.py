"""Weight penalties whose factors are variables, so a compiled program reads them.

Keras's ``L1``, ``L2`` and ``L1L2`` hold their factors as numbers, which a compiled
program (:class:`imbnet.engine._program.Program`) bakes in. A cached program's
model carries a :class:`Penalty` instead (:func:`adjustable_penalties`), whose
factors are set from the fitted model's at each load.
"""

import keras

__all__ = ["Penalty", "adjustable_penalties"]


class Penalty(keras.regularizers.Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w**2)`` with the factors in variables.

    Keras's ``L1``, ``L2`` and ``L1L2`` hold their factors as numbers, which a
    compiled program bakes in: a multi-layer perceptron's penalty
    ``0.5 * alpha / batch_size`` then made every small data set's row count a
    compilation of its own. A cached program's model carries these instead
    (:func:`adjustable_penalties`), set from the fitted model's at each load.
    """

    def __init__(self, kind, l1, l2):
        import tensorflow as tf

        self.kind = kind
        self.l1 = tf.Variable(float(l1), trainable=False, dtype=tf.float32)
        self.l2 = tf.Variable(float(l2), trainable=False, dtype=tf.float32)

    def get_config(self):
        return {"kind": self.kind, "l1": float(self.l1.numpy()), "l2": float(self.l2.numpy())}

    def __call__(self, x):
        total = 0.0
        if self.kind != "l2":
            total += keras.ops.cast(self.l1, x.dtype) * keras.ops.sum(keras.ops.abs(x))
        if self.kind != "l1":
            total += keras.ops.cast(self.l2, x.dtype) * keras.ops.sum(keras.ops.square(x))
        return total


_PENALTY_KINDS = {
    keras.regularizers.L1: "l1",
    keras.regularizers.L2: "l2",
    keras.regularizers.L1L2: "l1l2",
}


def adjustable_penalties(model):
    """Give ``model``'s weights with an ``L1``, ``L2`` or ``L1L2`` penalty a
    :class:`Penalty` (same value, factors in variables), in place."""
    for variable in model.variables:
        regularizer = getattr(variable, "regularizer", None)
        kind = _PENALTY_KINDS.get(type(regularizer))
        if kind is not None:
            variable.regularizer = Penalty(
                kind, getattr(regularizer, "l1", 0.0), getattr(regularizer, "l2", 0.0)
            )
