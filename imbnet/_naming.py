"""Keras layer names private to a fit, so that repeated fits do not leak memory.

Keras names every unnamed layer from one process-wide counter ("dense",
"dense_1", ..., "dense_4711"), and optimizer variables are named after the
layers' variables ("dense_4711_kernel_momentum"). On TensorFlow each variable
name becomes an attribute of the op creating the variable, and TensorFlow's
eager kernel cache keeps one kernel per distinct attribute value for the
life of the process: with ever-new names, every fit in a grid search left
about half a megabyte behind. Clearing that cache would also reset the
caller's stateful random ops. Instead, a fit counts names on a copy of the
caller's counter, which is put back afterwards: the names a fit gives never
clash with layers made before it (a shared layer a model builder uses), and
consecutive fits give the same names, so they reuse the same cached kernels.
The caller's next layers are named as if no fit had run.
"""

import collections
from contextlib import contextmanager

from ._compat import keras_global_state

__all__ = ["private_layer_names"]

_NAME_COUNTER = "object_name_uids"  # Keras's global_state attribute (thread-local)


@contextmanager
def private_layer_names():
    """Inside this block Keras names unnamed layers on a copy of its counter.

    The caller's counter is put back on exit, unchanged. Keras keeps the
    counter per thread, so other threads are not affected.
    """
    global_state = keras_global_state()
    caller = global_state.get_global_attribute(_NAME_COUNTER)
    global_state.set_global_attribute(_NAME_COUNTER, collections.defaultdict(int, caller or {}))
    try:
        yield
    finally:
        global_state.set_global_attribute(_NAME_COUNTER, caller)
