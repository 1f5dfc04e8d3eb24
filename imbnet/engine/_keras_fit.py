"""The fit loop through Keras's ``model.fit``: other backends, per-batch callbacks.

Used when the compiled TensorFlow program cannot run the fit (see
:mod:`imbnet.engine._loop`): a ``keras.utils.PyDataset`` serves each epoch of the
epoch source batch by batch, and Keras callbacks apply the rules the compiled
program applies itself: scikit-learn's stopping rule (:mod:`imbnet.engine._stopping`),
the divergence check, the epoch lines of ``verbose``.

The next epoch is asked for when it begins (a callback's ``on_epoch_begin``),
not in the dataset's ``on_epoch_end``: the source's draw may run the model
(hard-negative mining takes every row's loss under the current weights), and
while an epoch's batches are served the model's variables may not hold the
weights. On JAX they are detached from the model during the epoch and
written back only after its last batch. An epoch is also never drawn after
the last one.
"""

import math
import warnings

import keras
import numpy as np

from .._compat import to_numpy
from . import _stopping
from ._model_inputs import augment_rows
from ._model_state import model_state
from ._records import TrainResult, print_epoch

__all__ = [
    "PREPROCESSING_LAYERS",
    "finite_weights",
    "model_input",
    "needs_model_fit",
    "nested_layers",
    "train_with_model_fit",
]


def model_input(x):
    """``x`` as a Keras model takes it: text (object or string arrays) as TensorFlow
    string tensors, which Keras's array adapters refuse; a mapping of named inputs
    (or an object with ``keras_inputs()``) value by value; anything else as it is."""
    if hasattr(x, "keras_inputs"):
        x = x.keras_inputs()
    if isinstance(x, dict):
        # A call of a multi-input model takes all tensors or all arrays, not a mix.
        values = {name: model_input(value) for name, value in x.items()}
        if any(not isinstance(v, np.ndarray) for v in values.values()):
            values = {name: keras.ops.convert_to_tensor(v) for name, v in values.items()}
        return values
    if isinstance(x, np.ndarray) and x.dtype.kind in "OUS":
        if keras.backend.backend() != "tensorflow":
            raise ValueError(
                "text input needs Keras's TensorFlow backend (strings are TensorFlow "
                f"tensors); this process runs Keras on {keras.backend.backend()!r}."
            )
        import tensorflow as tf

        return tf.constant(x.astype(str))
    return x


# Keras preprocessing layers whose learnt state (statistics, a vocabulary) is not a
# trainable variable: the compiled program's private copy of a model would not carry it.
PREPROCESSING_LAYERS = tuple(
    getattr(keras.layers, name)
    for name in ("TextVectorization", "StringLookup", "IntegerLookup", "Normalization")
)


def nested_layers(model):
    """Every layer of ``model``, those of nested models and blocks included, from the
    input on (a layer before the layers it feeds, in a ``Sequential``)."""
    found, pending = [], list(getattr(model, "layers", []))
    while pending:
        layer = pending.pop(0)
        found.append(layer)
        pending.extend(getattr(layer, "layers", []))
    return found


def needs_model_fit(model):
    """Whether the compiled program cannot run ``model``: it has more than one input,
    an input of strings, or a preprocessing layer with learnt state
    (:data:`PREPROCESSING_LAYERS`)."""
    inputs = getattr(model, "inputs", None) or ()
    if len(inputs) > 1 or any(getattr(t, "dtype", None) == "string" for t in inputs):
        return True
    return any(isinstance(layer, PREPROCESSING_LAYERS) for layer in nested_layers(model))


def train_with_model_fit(
    model,
    source,
    epochs,
    batch_size,
    callbacks,
    validation,
    stopping,
    verbose,
    augment,
    on_divergence,
):
    """Backend-independent path: ``model.fit`` on a dataset redrawn every epoch."""
    history = keras.callbacks.History()
    rule = _RuleCallback(stopping)
    guard = _DivergenceGuard(on_divergence)
    extra = [_PrintCallback()] if verbose else []
    dataset = _EpochDataset(source, batch_size, augment)
    model.fit(
        dataset,
        epochs=epochs,
        callbacks=[_EpochStart(dataset), *callbacks, rule, guard, *extra, history],
        validation_data=_validation_data(validation),
        verbose=0,
        shuffle=False,
    )
    logs = {key: list(values) for key, values in history.history.items()}
    return TrainResult(
        {key: logs[key] for key in ("loss", "val_loss") if key in logs}, rule.stopped
    )


def _validation_data(validation):
    """The hold-out as ``model.fit`` takes it: text (or named inputs) converted; a
    dataset (sparse rows served dense, :mod:`imbnet.data._sparse`) as it is."""
    if isinstance(validation, tuple):
        return (model_input(validation[0]), *validation[1:])
    return validation


class _EpochDataset(keras.utils.PyDataset):
    """Serves ``source(epoch)`` batch by batch; :class:`_EpochStart` sets the epoch.

    Not ``on_epoch_end``: Keras calls it once before the first epoch too, so
    counting its calls would train epoch ``k`` on the source's epoch ``k + 1``.
    """

    def __init__(self, source, batch_size, augment=None):
        super().__init__()
        self._source = source
        self._batch_size = batch_size
        self._augment = augment
        self._epoch = 0
        self._arrays = source(0)

    def __len__(self):
        return math.ceil(len(self._arrays.order) / self._batch_size)

    def __getitem__(self, batch):
        X, y, w, order, marked = self._arrays
        rows = order[batch * self._batch_size : (batch + 1) * self._batch_size]
        x_batch = X[rows]
        if self._augment is not None and marked is not None:
            x_batch = augment_rows(self._augment, x_batch, marked[rows])
            x_batch = keras.ops.convert_to_numpy(x_batch)
        return model_input(x_batch), y[rows], w[rows]

    def start_epoch(self, epoch):
        if epoch != self._epoch:
            self._epoch = epoch
            self._arrays = self._source(epoch)


class _EpochStart(keras.callbacks.Callback):
    """Tells the dataset which epoch starts, before Keras reads its batches."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset

    def on_epoch_begin(self, epoch, logs=None):
        self.dataset.start_epoch(epoch)


class _RuleCallback(keras.callbacks.Callback):
    """scikit-learn's stopping rule (:mod:`imbnet.engine._stopping`) as a Keras callback."""

    def __init__(self, stopping):
        super().__init__()
        self.stopping = stopping
        self.stopped = False

    def on_train_begin(self, logs=None):
        self._state = _stopping.initial_state()
        self._best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        if self.stopping.monitor is None or epoch < self.stopping.start:
            return
        self._state, improved, stop = _stopping.update(
            self._state,
            float(logs[self.stopping.monitor]),
            tol=self.stopping.tol,
            n_iter_no_change=self.stopping.n_iter_no_change,
        )
        if improved and self.stopping.monitor == "val_loss":
            self._best_weights = self.model.get_weights()
        if stop:
            self.stopped = True
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)


class _PrintCallback(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        print_epoch(epoch, logs)


class _DivergenceGuard(keras.callbacks.Callback):
    """Never leave a model that predicts NaN: stop when the loss diverges.

    Checks every epoch's loss and the weights. ``"raise"`` raises a
    ``FloatingPointError`` at once; ``"warn"`` warns, stops, and restores the
    weights and optimizer state after the last finite epoch (the initial ones
    if the first epoch diverged).
    """

    def __init__(self, on_divergence="raise"):
        super().__init__()
        self.on_divergence = on_divergence
        self._good = None

    def _keep(self):
        if self.on_divergence == "warn":
            self._good = [(v, to_numpy(v)) for v in model_state(self.model)]

    def _diverged(self, problem):
        if self.on_divergence != "warn":
            raise FloatingPointError(
                f"{problem}: the optimisation diverged. Lower the learning rate, scale "
                "the features, or reduce extreme class or sample weights."
            )
        for variable, value in self._good:
            variable.assign(value)
        self.model.stop_training = True
        warnings.warn(
            f"{problem}: the optimisation diverged; training stopped and the model "
            "keeps the weights of the last epoch with a finite loss. Lower the learning "
            "rate, scale the features, or reduce extreme class or sample weights.",
            RuntimeWarning,
            stacklevel=2,
        )

    def on_train_begin(self, logs=None):
        self._keep()

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        weights_finite = finite_weights(self.model)
        if loss is not None and not math.isfinite(loss):
            self._diverged(f"training loss became {loss} in epoch {epoch + 1}")
        elif not weights_finite:
            self._diverged(f"the weights are no longer finite after epoch {epoch + 1}")
        else:
            self._keep()


def finite_weights(model):
    """Whether every weight of ``model`` is finite."""
    return all(np.all(np.isfinite(to_numpy(w))) for w in model.weights)
