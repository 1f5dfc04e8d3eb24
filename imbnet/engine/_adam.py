"""Adam's update in plain TensorFlow operations, as ``keras.optimizers.Adam`` computes it.

Programs that train networks of their own (members side by side,
:mod:`imbnet.engine._member_training`; the GAN of
:mod:`imbnet.sampling._generative`) update their weights with these
functions rather than through a Keras optimizer: the same arithmetic, in the
same order, without the Keras machinery that takes a fifth of a second to
trace at every application. Values in, values out: the caller keeps the
state (variables, or tensors carried through a loop). This module knows
nothing of Keras or of estimators.
"""

__all__ = ["adam_step_size", "adam_update"]


def adam_step_size(learning_rate, beta_1, beta_2, t):
    """The step size of Adam's ``t``-th update (``t`` from 1): the learning rate
    with both moments' bias corrections. Where ``t`` is 0 (a member that has
    not stepped) the result is finite and unused."""
    import tensorflow as tf

    return learning_rate * tf.sqrt(1 - beta_2**t) / tf.maximum(1 - beta_1**t, 1e-30)


def adam_update(variable, gradient, m, v, step_size, beta_1, beta_2, epsilon):
    """One update of one weight array: ``(variable, m, v)`` after the step."""
    import tensorflow as tf

    m = m + (gradient - m) * (1 - beta_1)
    v = v + (gradient * gradient - v) * (1 - beta_2)
    return variable - step_size * m / (tf.sqrt(v) + epsilon), m, v
