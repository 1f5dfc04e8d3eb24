"""Calls of a concrete function with the arguments' leaves passed straight on:
the same answers as TensorFlow's own binding, and that binding where they could differ."""

import numpy as np
import tensorflow as tf

from imbnet.engine._concrete_calls import ConcreteCalls


def _mixed(x, pairs, variables, scale, flip, absent):
    """Arrays, tensors, a nested list, variables, a Python bool and None."""
    first = tf.reduce_sum(tf.cast(pairs[0], tf.float64))
    total = tf.reduce_sum(x) * scale + first - tf.reduce_sum(pairs[1])
    for variable in variables:
        variable.assign_add(tf.ones_like(variable) * scale)
    return (-total if flip else total), [v.read_value() for v in variables]


def _call_twice(function, key, first, second):
    calls = ConcreteCalls()
    calls(function, key, *first)
    return calls, calls(function, key, *second)


def test_a_known_call_passes_its_leaves_straight_on_and_answers_as_tensorflow():
    function = tf.function(_mixed, autograph=False)
    rng = np.random.default_rng(0)

    def arguments(seed_shift):
        variables = [tf.Variable(rng.normal(size=(3, 2))), tf.Variable(rng.normal(size=2))]
        pairs = [rng.normal(size=4).astype(np.float32), tf.constant(rng.normal(size=4))]
        x = rng.normal(size=(5, 3)) + seed_shift
        return (x, pairs, variables, tf.constant(0.5, tf.float64), True, None)

    first, second = arguments(0.0), arguments(1.0)
    expected_variables = [v.numpy() + 0.5 for v in second[2]]
    calls, (total, values) = _call_twice(function, "mixed", first, second)
    plan = calls._entries["mixed"][1]
    assert plan is not None  # the fast path serves the second call
    x, pairs = second[0], second[1]
    expected = -(x.sum() * 0.5 + pairs[0].astype(np.float32).sum() - pairs[1].numpy().sum())
    np.testing.assert_allclose(total.numpy(), expected, rtol=1e-6)
    for variable, value, want in zip(second[2], values, expected_variables):
        np.testing.assert_allclose(variable.numpy(), want)  # the second call's variables
        np.testing.assert_allclose(value.numpy(), want)


def test_arrays_become_new_tensors_on_every_call():
    function = tf.function(lambda x, y: x * 2 + tf.cast(y, tf.float32), autograph=False)
    calls = ConcreteCalls()
    for values in ([1.0, 2.0, 0.0], [3.5, -1.25, 7.0], [np.nan, 1.0, 2.0]):
        x, y = np.asarray(values, np.float32), np.arange(3)
        out = calls(function, "same shapes", x, y)
        np.testing.assert_array_equal(out.numpy(), x * 2 + y)
    assert calls._entries["same shapes"][1] is not None


def test_an_argument_given_twice_binds_the_tensorflow_way():
    """The same variable twice is one input of the concrete function: the leaves
    would not line up, so every call binds as TensorFlow does, with the right answer."""

    def add(a, b):
        a.assign_add(tf.ones_like(a))
        return a.read_value() + b.read_value()

    function = tf.function(add, autograph=False)
    variable, other = tf.Variable([1.0, 2.0]), tf.Variable([0.0, 0.0])
    calls = ConcreteCalls()
    calls(function, "same", variable, variable)
    assert calls._entries["same"][1] is None
    out = calls(function, "same", other, other)
    np.testing.assert_array_equal(out.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(other.numpy(), [1.0, 1.0])
