"""A model's state between fits: its variables, and its optimizer's kept aside.

A compiled program (:class:`imbnet.engine._program.Program`) trains on its own
copy of a model and copies the state in and out. A fitted model's optimizer is
left unbuilt (its moments would be a dozen more variables to create per fit):
its moments are kept here until the next fit loads them or
:func:`build_optimizer_state` puts them into the optimizer (before pickling,
or before ``model.fit``).
"""

import weakref

__all__ = [
    "build_optimizer_state",
    "model_state",
    "padded_to",
    "unbuilt_optimizer_state",
    "variable_of",
]


def model_state(model):
    """The model's variables and its optimizer's, in a fixed order."""
    return list(model.variables) + list(model.optimizer.variables)


# A fitted model's optimizer is not built (its moments would be a dozen more
# variables to create for every fit, a fifth of a small network's fit): its
# step count and learning rate are its own, the rest of its state is kept here,
# at the program's shapes, until the next fit loads it or
# build_optimizer_state puts it into the optimizer (before pickling).
unbuilt_optimizer_state = weakref.WeakKeyDictionary()


def build_optimizer_state(model):
    """Build ``model``'s optimizer and give it the state its last fit left, if it has none."""
    state = unbuilt_optimizer_state.pop(model, None)
    optimizer = getattr(model, "optimizer", None)
    if state is None or optimizer is None or optimizer.built:
        return
    n_own = len(optimizer.variables)
    optimizer.build(model.trainable_variables)
    for variable, value in zip(optimizer.variables[n_own:], state):
        variable.assign(padded_to(value, variable.shape))  # kept at the program's input width


def variable_of(variable):
    """The TensorFlow variable under a Keras one (a tensor as it is)."""
    return getattr(variable, "value", variable)


def padded_to(value, shape):
    """``value`` with zero rows appended, or its rows of padded inputs (all zero)
    cut, to ``shape[0]`` rows: state from a program of another input width."""
    if tuple(value.shape) == tuple(shape):
        return value
    if value.shape[0] > shape[0]:
        return value[: shape[0]]
    import tensorflow as tf

    return tf.pad(value, [[0, shape[0] - value.shape[0]]] + [[0, 0]] * (len(shape) - 1))
