"""Calls of compiled functions through their concrete functions, without re-binding.

A ``tf.function`` call matches its arguments against its traces every time,
which costs about as much as a small network's epochs; a concrete function,
looked up once per kind of call, skips that matching. It still binds every
call's arguments to the Python signature and flattens them (TensorFlow's
``bind_with_defaults``), about half a millisecond per call: as much as the
training step of a small network, and ``partial_fit`` makes two calls.

:class:`ConcreteCalls` binds the first call of each kind the TensorFlow way
and notes, for every leaf of the arguments that TensorFlow passes on as a
tensor, how it passes it (the tensor itself, a variable's handle, an array
converted to a dtype). It checks that this gives exactly TensorFlow's own
inputs for that call; from then on, calls of that kind pass the leaves
straight to the concrete function (``ConcreteFunction._call_flat``). Where the
check fails, or the TensorFlow version has no such call, every call binds
as before: the fast path is never a different answer.

The caller's key must determine the shape and dtype of every argument that is
an array or tensor, and every Python value among the arguments (as the keys
of :meth:`imbnet.engine._program.Program._call` do): a call of a known key is
not checked again. :func:`kinds` gives that part of a key for a list of
arguments; :func:`scalar` gives the same tensor for a number seen before.
"""

import numpy as np

__all__ = ["ConcreteCalls", "kinds", "scalar"]

_TENSOR, _HANDLE, _VARIABLE = "tensor", "handle", "variable"


class ConcreteCalls:
    """``fn(*args)`` through ``fn``'s concrete function for calls like ``key``."""

    def __init__(self):
        self._entries = {}

    def trace(self, fn, key, *args):
        """Trace ``fn`` for calls like ``key`` (if not yet), without calling it: its
        first call compiles."""
        if key not in self._entries:
            concrete = fn.get_concrete_function(*args)
            self._entries[key] = (concrete, _plan(concrete, args))

    def __call__(self, fn, key, *args):
        entry = self._entries.get(key)
        if entry is None:
            self.trace(fn, key, *args)
            concrete, _ = self._entries[key]
            return concrete(*args)
        concrete, plan = entry
        if plan is None:
            return concrete(*args)
        return concrete._call_flat(_inputs(plan, args), concrete.captured_inputs)


def _leaves(args):
    """The arguments' arrays, tensors and variables, in TensorFlow's order."""
    import tensorflow as tf

    types = (tf.Tensor, tf.Variable, np.ndarray, np.generic)
    return [leaf for leaf in tf.nest.flatten(args) if isinstance(leaf, types)]


def _inputs(plan, args):
    import tensorflow as tf

    inputs = []
    for how, leaf in zip(plan, _leaves(args)):
        if how is _TENSOR or how is _VARIABLE:
            inputs.append(leaf)
        elif how is _HANDLE:
            inputs.append(leaf.handle)
        else:  # an array: the dtype it was converted to
            inputs.append(tf.constant(leaf, dtype=how))
    return inputs


def _plan(concrete, args):
    """How each leaf of ``args`` becomes one of ``concrete``'s inputs, checked
    against TensorFlow's own binding of ``args``; None where it differs (or the
    private entry points are missing: a TensorFlow that changed them)."""
    import tensorflow as tf

    try:
        from tensorflow.python.eager.polymorphic_function import function_type_utils

        if not callable(getattr(concrete, "_call_flat", None)):
            return None
        bound = function_type_utils.canonicalize_function_inputs(args, {}, concrete.function_type)
        expected = concrete.function_type.unpack_inputs(bound)
    except Exception:  # noqa: BLE001 - any change of TensorFlow's internals
        return None
    leaves = _leaves(args)
    if len(leaves) != len(expected):
        return None
    plan = []
    for leaf, tensor in zip(leaves, expected):
        if isinstance(leaf, tf.Variable):
            if tensor is leaf:
                plan.append(_VARIABLE)
            elif tensor is getattr(leaf, "handle", None):
                plan.append(_HANDLE)
            else:
                return None
        elif isinstance(leaf, tf.Tensor):
            if tensor is not leaf:
                return None
            plan.append(_TENSOR)
        else:
            converted = np.asarray(leaf).astype(tensor.dtype.as_numpy_dtype)
            value = tensor.numpy()
            if value.shape != converted.shape or not np.array_equal(
                value, converted, equal_nan=value.dtype.kind in "fc"
            ):
                return None
            plan.append(tensor.dtype)
    return plan


_scalars = {}  # (value, dtype): an immutable tensor, see scalar


def scalar(value, dtype):
    """``tf.constant(value, dtype)``, the same tensor again for a number seen before
    (a call's sizes and stopping settings repeat from call to call; each new
    tensor is an eager operation)."""
    import tensorflow as tf

    if not isinstance(value, (int, float, np.integer, np.floating)):
        return tf.constant(value, dtype)  # an array: a rule per member
    key = (float(value), dtype.name)
    tensor = _scalars.get(key)
    if tensor is None:
        if len(_scalars) >= 4096:
            _scalars.clear()
        tensor = _scalars[key] = tf.constant(value, dtype)
    return tensor


def kinds(values):
    """What a concrete function's call depends on for these arguments: each one's
    kind (variable, tensor or array), shape and dtype."""
    return tuple((type(v).__name__, tuple(v.shape), str(getattr(v, "dtype", None))) for v in values)
