"""Networks side by side: one Keras model holding several of one architecture.

An ensemble's members train together in one compiled program when they are
one model: its input holds one row for each member, shape
``(batch, n_members, *features)``, and its output stacks the members'
outputs, ``(batch, n_members, *outputs)``. A loss evaluated per member with
a weight per (row, member), as Keras does for temporal weights, trains each
member on its own rows only: the gradient of the sum reaches each member
from its own loss.

Two forms, the same function: members that are plain multi-layer
perceptrons (``Sequential`` of ``Dense``, ``Dropout`` and ``Activation`` on
flat input) become one such network of :class:`StackedDense` layers, whose
weights are the members' stacked (one batched matrix product per layer for
all members); any other model is run as it is, once per member slot
(:class:`MemberInput`, :class:`StackMembers`). Building a Keras model
costs more than training a small one, so perceptron members after the first
need not be built: :func:`reseeded_kernels` draws their starting kernels
with the first's initializers under their own seeds. This module knows
nothing of estimators.
"""

import keras
import numpy as np

from .._compat import to_numpy
from ._chunks import bucket

__all__ = [
    "MemberInput",
    "StackMembers",
    "StackedDense",
    "padded_width",
    "reseeded_kernels",
    "stack_models",
]


@keras.saving.register_keras_serializable(package="imbnet")
class MemberInput(keras.layers.Layer):
    """Slot ``index`` of a side-by-side input: ``x[:, index]``."""

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, inputs):
        return inputs[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="imbnet")
class StackMembers(keras.layers.Layer):
    """The members' outputs stacked on a new second axis."""

    def call(self, inputs):
        return keras.ops.stack(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        first = input_shape[0]
        return (first[0], len(input_shape)) + tuple(first[1:])


@keras.saving.register_keras_serializable(package="imbnet")
class StackedDense(keras.layers.Layer):
    """``n_members`` ``Dense`` layers side by side: input (batch, n_members, d).

    Kernel of shape (n_members, d, units), bias (n_members, units); member
    ``k``'s output is ``activation(x[:, k] @ kernel[k] + bias[k])``. An L2
    penalty on the stacked kernel is the sum of the members' penalties.
    """

    def __init__(
        self,
        units,
        n_members,
        activation=None,
        use_bias=True,
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        self.n_members = int(n_members)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.n_members, input_shape[-1], self.units),
            initializer="zeros",
            regularizer=self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight(
                name="bias",
                shape=(self.n_members, self.units),
                initializer="zeros",
                regularizer=self.bias_regularizer,
            )
            if self.use_bias
            else None
        )

    def call(self, inputs):
        outputs = keras.ops.einsum("bkd,kdu->bku", inputs, self.kernel)
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "n_members": self.n_members,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
        }


def padded_width(model):
    """The input width perceptrons like ``model`` are stacked at, or None.

    A perceptron gives the same outputs, gradients and updates with extra
    input columns of zeros and kernel rows that start at zero (their
    gradient, L2 penalty and update stay exactly zero), so members that stack
    as one are given the width rounded up to a power of two (at least 16):
    data sets of many widths then share one compiled program (the program
    cache pads only plain ``Sequential`` models itself). None if ``model`` is
    not a perceptron on flat input.
    """
    if _perceptron_layers(model) is None:
        return None
    return max(16, bucket(model.inputs[0].shape[-1]))


def stack_models(members, input_shape, copies=()):
    """One model running ``members`` (compiled Keras models of one architecture) side by side.

    ``input_shape`` is the shape of one member's input row (without the batch
    axis); perceptrons may take wider rows than they were built for (see
    :func:`padded_width`): the extra columns' kernel rows start at zero.
    ``copies``: more members of a perceptron, not built as Keras models (which
    costs more than training a small one): for each, its ``Dense`` layers'
    starting kernels, in order; their biases start at the first member's
    (:func:`reseeded_kernels`). Compiled with a fresh copy of the first
    member's optimizer and its loss.
    """
    inputs = keras.Input((len(members) + len(copies),) + tuple(input_shape))
    model = _stacked_perceptron(members, inputs, copies)
    if model is None:
        if copies:
            raise ValueError(
                "copies are stacked only with a perceptron (Sequential of Dense layers)"
            )
        names = [member.name for member in members]
        if len(set(names)) != len(names):
            raise ValueError(
                f"the ensemble's networks must have distinct names; the model builder names "
                f"every one {names[0]!r}: leave out name= (Keras then numbers them)."
            )
        outputs = [member(MemberInput(index)(inputs)) for index, member in enumerate(members)]
        model = keras.Model(inputs, StackMembers()(outputs))
    optimizer = members[0].optimizer
    model.compile(
        optimizer=type(optimizer).from_config(optimizer.get_config()), loss=members[0].loss
    )
    return model


def reseeded_kernels(model, reseed):
    """The starting ``Dense`` kernels of another network of ``model``'s architecture.

    ``model`` is a perceptron just built (not trained); ``reseed(seed)`` is the
    seed the other network's builder would have given an initializer that got
    ``seed`` in ``model``, or None if unknown. A kernel initializer without a
    seed (a constant) gives ``model``'s kernel. Returns a list of arrays, one
    per ``Dense`` layer, or None if ``model`` is not a perceptron that stacks
    (constraints, an activity regularizer), a seed is unknown, or a bias
    initializer has a seed (biases are copied).
    """
    layers = _perceptron_layers(model)
    if layers is None:
        return None
    kernels = []
    for layer in layers:
        if not isinstance(layer, keras.layers.Dense):
            continue
        config = layer.get_config()
        if any(config.get(f) is not None for f in _DENSE_ABSENT) or (
            layer.use_bias and "seed" in layer.bias_initializer.get_config()
        ):
            return None
        initializer = layer.kernel_initializer.get_config()
        if "seed" not in initializer:
            kernels.append(to_numpy(layer.kernel))
            continue
        seed = reseed(initializer["seed"]) if isinstance(initializer["seed"], int) else None
        if seed is None:
            return None
        initializer = type(layer.kernel_initializer).from_config({**initializer, "seed": seed})
        kernels.append(
            keras.ops.convert_to_numpy(
                initializer(tuple(layer.kernel.shape), dtype=layer.kernel.dtype)
            )
        )
    return kernels


# Dense settings that must agree for members to stack (initialisers and names may differ).
_DENSE_FIELDS = ("units", "activation", "use_bias", "kernel_regularizer", "bias_regularizer")
_DENSE_ABSENT = ("kernel_constraint", "bias_constraint", "activity_regularizer")


def _stacked_perceptron(members, inputs, copies=()):
    """The members (and ``copies``, see :func:`stack_models`) as one network of
    :class:`StackedDense` layers, or None if they are not perceptrons of one
    architecture on flat input."""
    plans = [_perceptron_layers(member) for member in members]
    if any(plan is None for plan in plans) or len({len(plan) for plan in plans}) != 1:
        return None
    n_members = len(members) + len(copies)
    outputs, stacked = inputs, []
    for layers in zip(*plans):
        first = layers[0]
        configs = [layer.get_config() for layer in layers]
        if any(type(layer) is not type(first) for layer in layers):
            return None
        if isinstance(first, keras.layers.Dense):
            if any(
                {f: c.get(f) for f in _DENSE_FIELDS}
                != {f: configs[0].get(f) for f in _DENSE_FIELDS}
                or any(c.get(f) is not None for f in _DENSE_ABSENT)
                for c in configs
            ):
                return None
            layer = StackedDense(n_members=n_members, **{f: configs[0][f] for f in _DENSE_FIELDS})
            stacked.append((layer, layers))
        else:
            strip = {"name", "seed"}
            if any(
                {k: v for k, v in c.items() if k not in strip}
                != {k: v for k, v in configs[0].items() if k not in strip}
                for c in configs
            ):
                return None
            layer = type(first).from_config({k: v for k, v in configs[0].items() if k != "name"})
        outputs = layer(outputs)
    model = keras.Model(inputs, outputs)
    for position, (layer, originals) in enumerate(stacked):
        kernels = [to_numpy(o.kernel) for o in originals]
        kernels = np.stack(kernels + [copy[position] for copy in copies])
        extra = layer.kernel.shape[1] - kernels.shape[1]  # padded input columns (first layer)
        layer.kernel.assign(np.pad(kernels, ((0, 0), (0, extra), (0, 0))) if extra else kernels)
        if layer.bias is not None:
            biases = [to_numpy(o.bias) for o in originals]
            layer.bias.assign(np.stack(biases + biases[:1] * len(copies)))
    return model


def _perceptron_layers(model):
    """``model``'s layers if it is a ``Sequential`` of Dense, Dropout and Activation
    layers on flat input, else None."""
    if not isinstance(model, keras.Sequential) or len(model.inputs[0].shape) != 2:
        return None
    layers = list(model.layers)
    allowed = (keras.layers.Dense, keras.layers.Dropout, keras.layers.Activation)
    if not layers or any(type(layer) not in allowed for layer in layers):
        return None
    if getattr(layers[0], "lora_enabled", False):
        return None
    return layers
