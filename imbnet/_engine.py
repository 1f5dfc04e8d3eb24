"""The fit loop: epochs of mini-batch steps on a compiled Keras model.

Read top to bottom, ``train`` is the whole loop: for each epoch it asks the
caller's ``source`` for the epoch's data and row order, runs the steps,
computes the validation loss, and hands the epoch's logs to Keras callbacks
(``EarlyStopping``, ``History``, user callbacks), which may stop training.

On the TensorFlow backend the steps of one epoch run inside a single
XLA-compiled function (gather the batch, forward, loss, gradients, Keras
optimizer update, in a ``while`` loop): small networks are dominated by
per-step framework overhead, which this removes. Callbacks see epoch-level
hooks only (``on_epoch_begin``/``on_epoch_end``, train begin/end); per-batch
hooks cannot be called from inside the compiled loop, so a callback that
defines one (``on_train_batch_begin``/``_end``, ``on_batch_begin``/``_end``)
makes the fit run through ``model.fit`` instead, where Keras calls them.

Compiling costs more than training a small network, and a grid search fits
the same architecture hundreds of times. Compiled loops are therefore kept,
keyed by what determines the compiled graph: the model's architecture,
optimizer, loss and data shapes, but not its weights, seeds or learning rate.
TensorFlow never frees an XLA compilation (about 7-9 MB for a small network,
kept for the life of the process even when its function is gone), so an
architecture compiled again after being dropped costs that memory again:
the cache holds many loops (least recently used first out), bounded by
their number and by the bytes of the model and optimizer copies they hold. A cached loop runs on its own copy of
the model; the fitted model's variables (and its optimizer's) are copied in
before each epoch and out after it, so between epochs the fitted model is
always current and callbacks act on it as usual. On other backends the same loop runs
through ``model.fit`` on a ``keras.utils.PyDataset`` that redraws every epoch.
"""

import json
import math
import threading
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from typing import NamedTuple

import keras
import numpy as np

from ._batching import pack_batches
from ._random import keras_seeded

__all__ = ["Epoch", "train", "predict_outputs"]


class Epoch(NamedTuple):
    """What one epoch trains on.

    ``X``, ``y`` (float32, shape (n, n_outputs)) and ``w`` (shape (n,), or
    (n, n_labels) for per-entry weights of a multilabel target) are the arrays,
    ``order`` the flat row order read in consecutive batches, and
    ``augment_rows`` (bool, optional) marks the rows to augment. Returning the
    same arrays every epoch keeps them resident; only ``order`` changes.
    """

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    order: np.ndarray
    augment_rows: np.ndarray = None


def train(
    model,
    source,
    *,
    epochs,
    batch_size,
    callbacks=(),
    validation=None,
    verbose=0,
    augment=None,
    on_divergence="raise",
):
    """Train ``model`` (compiled with a loss and an optimizer) for ``epochs``.

    Parameters
    ----------
    model : keras.Model
        Compiled model; its ``loss`` and ``optimizer`` are used as they are.
    source : callable
        ``source(epoch) -> Epoch``: what the epoch trains on.
    epochs : int
    batch_size : int
    callbacks : sequence of keras.callbacks.Callback
    validation : tuple (X, y, w) or None
        Held-out data whose weighted loss is logged as ``val_loss``.
    verbose : int
        If positive, print one line per epoch.
    augment : keras layer, callable or None
        Applied, with ``training=True``, to the rows of each batch that the
        epoch's ``augment_rows`` marks.
    on_divergence : {"raise", "warn"}
        When an epoch's loss or the final weights are not finite: raise
        ``FloatingPointError``, or warn (``RuntimeWarning``), stop, and put
        back the weights and optimizer state of the last finite epoch.

    Returns
    -------
    keras.callbacks.History
    """
    history = keras.callbacks.History()
    callbacks = [*callbacks, _DivergenceGuard(on_divergence)]
    if verbose:
        callbacks.append(_EpochPrinter())
    if keras.backend.backend() != "tensorflow" or _wants_batch_hooks(callbacks):
        return _train_with_model_fit(
            model, source, epochs, batch_size, [*callbacks, history], validation, augment
        )

    model.optimizer.build(model.trainable_variables)
    callback_list = keras.callbacks.CallbackList([*callbacks, history], model=model)
    model.stop_training = False
    with _compiled_loop(model, augment) as loop:
        callback_list.on_train_begin()
        for epoch in range(epochs):
            callback_list.on_epoch_begin(epoch)
            loop.load(model)
            logs = {"loss": loop.run_epoch(source(epoch), batch_size)}
            if validation is not None:
                logs["val_loss"] = loop.evaluate(*validation)
            loop.store(model)
            callback_list.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        callback_list.on_train_end()
    return history


_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


def _wants_batch_hooks(callbacks):
    """Whether a callback overrides a per-batch hook of ``keras.callbacks.Callback``."""
    return any(
        getattr(type(callback), hook) is not getattr(keras.callbacks.Callback, hook)
        for callback in callbacks
        for hook in _BATCH_HOOKS
    )


def predict_outputs(model, X, batch_size=8192):
    """The model's outputs for ``X`` as a NumPy array, in inference mode."""
    chunks = [
        keras.ops.convert_to_numpy(model(X[start : start + batch_size], training=False))
        for start in range(0, X.shape[0], batch_size)
    ]
    return np.concatenate(chunks, axis=0)


_CACHE_SIZE = 64  # loops
_CACHE_BYTES = 256 * 2**20  # of model and optimizer variables held by cached loops
_cache = OrderedDict()
_cache_lock = threading.Lock()


@contextmanager
def _compiled_loop(model, augment):
    """A compiled loop for ``model``: a cached one if its architecture was seen."""
    key = _graph_key(model, augment)
    loop = None
    if key is not None:
        with _cache_lock:  # taken out while in use: one fit per loop at a time
            loop = _cache.pop(key, None)
        if loop is None:
            template = _training_copy(model)
            loop = _CompiledLoop(template if template is not None else model, augment)
            key = key if template is not None else None
    else:
        loop = _CompiledLoop(model, augment)
    try:
        yield loop
    finally:
        if key is not None:
            with _cache_lock:
                _cache[key] = loop
                while len(_cache) > _CACHE_SIZE or (
                    len(_cache) > 1 and sum(c.nbytes for c in _cache.values()) > _CACHE_BYTES
                ):
                    _cache.popitem(last=False)


def _graph_key(model, augment):
    """What the compiled graph depends on, as a string; None if unknown."""
    try:
        parts = [
            type(model).__module__ + "." + type(model).__qualname__,
            _without_values(model.get_config()),
            _without_values(keras.optimizers.serialize(model.optimizer)),
            model.loss if isinstance(model.loss, str) else _without_values(keras.losses.serialize(model.loss)),
            None if augment is None else id(augment),
        ]
        return json.dumps(parts, sort_keys=True, default=repr)
    except Exception:  # a model or loss Keras cannot serialise: no caching
        return None


# Config entries that do not change the compiled graph: names, seeds, initial
# values; the learning rate is an optimizer variable, copied in like weights.
_NOT_IN_GRAPH = ("name", "seed", "learning_rate")


def _without_values(config):
    if isinstance(config, dict):
        return {
            key: _without_values(value)
            for key, value in config.items()
            if key not in _NOT_IN_GRAPH and not key.endswith("_initializer")
        }
    if isinstance(config, (list, tuple)):
        return [_without_values(value) for value in config]
    return config


def _training_copy(model):
    """A private copy of ``model`` and its optimizer to run a cached loop on."""
    try:
        # Cloning draws seeds for unseeded layers; keep the caller's random state.
        with keras_seeded(0):
            copy = keras.models.clone_model(model)
        optimizer = model.optimizer
        copy.compile(optimizer=type(optimizer).from_config(optimizer.get_config()), loss=model.loss)
        copy.optimizer.build(copy.trainable_variables)
    except Exception:  # not clonable (e.g. a custom layer without get_config)
        return None
    if not _same_shapes(copy, model):
        return None
    return copy


def _state(model):
    return list(model.variables) + list(model.optimizer.variables)


def _same_shapes(a, b):
    state_a, state_b = _state(a), _state(b)
    return len(state_a) == len(state_b) and all(
        tuple(x.shape) == tuple(y.shape) for x, y in zip(state_a, state_b)
    )


# An epoch reaches the compiled loop in chunks of at most _CHUNK_BATCHES
# batches gathered on the host: beyond the caller's arrays, a fit holds one
# chunk in memory whatever the data size (no copy of X, resampled or not).
# Chunks come in a few shapes (a power of two of batches), so every fit of an
# architecture and batch size shares one XLA compilation, whatever its rows.
_CHUNK_BATCHES = 256
_EVAL_ROWS = 4096


def _chunk_length(n, limit):
    return min(limit, 1 << max(0, n - 1).bit_length())


def _pad_to(array, length, value=0):
    if array.shape[0] == length:
        return array
    padding = np.full((length - array.shape[0],) + array.shape[1:], value, array.dtype)
    return np.concatenate([array, padding])


class _CompiledLoop:
    """One compiled function for a chunk of batches, one for the validation loss.

    XLA compiles both, except with augmentation: Keras's random preprocessing
    layers use ops XLA does not compile on CPU, so that epoch runs as a plain
    TensorFlow graph. The functions run on ``model``, the loop's own model
    when it is cached; ``load`` and ``store`` copy the state of the model
    being fitted in and out.
    """

    def __init__(self, model, augment=None):
        import tensorflow as tf

        self._tf = tf
        self.model = model
        self.variables = model.trainable_variables
        model.optimizer.build(self.variables)
        self._augment = augment
        self._steps_fn = tf.function(
            self._steps, jit_compile=augment is None, reduce_retracing=True
        )
        self._loss_fn = tf.function(self._loss, jit_compile=True, reduce_retracing=True)
        self._loss_built = False
        self.nbytes = sum(
            math.prod(v.shape) * np.dtype(keras.backend.standardize_dtype(v.dtype)).itemsize
            for v in _state(model)
        )

    def load(self, model):
        """Copy ``model``'s weights and optimizer state into the loop's model."""
        if model is not self.model:
            for target, value in zip(_state(self.model), _state(model)):
                target.assign(value)

    def store(self, model):
        """Copy the loop's model state back into ``model``."""
        if model is not self.model:
            for target, value in zip(_state(model), _state(self.model)):
                target.assign(value)

    def run_epoch(self, epoch, batch_size):
        """Train on one epoch; return the mean of its batch losses."""
        if not self._loss_built:
            # Keras builds its compiled loss on first use; do that eagerly,
            # outside the compiled function, as model.fit does.
            self._loss(epoch.X[:1], epoch.y[:1], epoch.w[:1], False)
            self._loss_built = True
        index, scale = pack_batches(epoch.order, batch_size)
        n_batches = index.shape[0]
        chunk = _chunk_length(n_batches, _CHUNK_BATCHES)
        total = 0.0
        for start in range(0, n_batches, chunk):
            rows = _pad_to(index[start : start + chunk], chunk)
            row_scale = _pad_to(scale[start : start + chunk], chunk)
            augment_rows = (
                np.zeros(rows.shape, dtype=bool)
                if epoch.augment_rows is None
                else epoch.augment_rows[rows]
            )
            n_steps = min(chunk, n_batches - start)
            # Weights per row, or per (row, label) entry for multilabel targets.
            row_scale = row_scale.reshape(row_scale.shape + (1,) * (epoch.w.ndim - 1))
            total += float(
                self._steps_fn(
                    epoch.X[rows], epoch.y[rows], epoch.w[rows] * row_scale,
                    augment_rows, self._tf.constant(n_steps, dtype=self._tf.int32),
                )
            )
        return total / n_batches

    def evaluate(self, X, y, w):
        """The weighted loss over all rows, as Keras's ``evaluate`` computes it."""
        n_rows = X.shape[0]
        chunk = _chunk_length(n_rows, _EVAL_ROWS)
        total = 0.0
        for start in range(0, n_rows, chunk):
            n = min(chunk, n_rows - start)
            # Padding rows weigh 0; scale the real rows so that the chunk's mean
            # is the mean over its n real rows, then weigh chunks by their rows.
            loss = self._loss_fn(
                _pad_to(X[start : start + n], chunk),
                _pad_to(y[start : start + n], chunk),
                _pad_to(w[start : start + n] * (chunk / n), chunk),
                False,
            )
            total += float(loss) * n / n_rows
        return total

    def _loss(self, x, y, w, training):
        # The model's own compute_loss: its compiled loss (any form Keras
        # accepts), weighted and averaged per batch, plus regularisation.
        outputs = self.model(x, training=training)
        return self.model.compute_loss(
            x=x, y=y, y_pred=outputs, sample_weight=w, training=training
        )

    def _steps(self, x, y, w, augment_rows, n_steps):
        """``n_steps`` optimizer steps on batches ``x[i], y[i], w[i]``; the loss sum."""
        tf = self._tf

        def step(i, total):
            x_batch = x[i]
            if self._augment is not None:
                x_batch = _augment_rows(self._augment, x_batch, augment_rows[i])
            with tf.GradientTape() as tape:
                loss = self._loss(x_batch, y[i], w[i], True)
            gradients = tape.gradient(loss, self.variables)
            self.model.optimizer.apply(gradients, self.variables)
            return i + 1, total + loss

        _, total = tf.while_loop(
            lambda i, _: i < n_steps, step, (tf.constant(0), tf.constant(0.0))
        )
        return total


def _augment_rows(augment, x_batch, row_mask):
    """``augment(x_batch)`` on the rows of ``row_mask``, the other rows unchanged."""
    if isinstance(augment, keras.layers.Layer):
        augmented = augment(x_batch, training=True)
    else:
        augmented = augment(x_batch)
    mask = keras.ops.reshape(row_mask, (-1,) + (1,) * (len(x_batch.shape) - 1))
    return keras.ops.where(mask, augmented, x_batch)


def _train_with_model_fit(model, source, epochs, batch_size, callbacks, validation, augment):
    """Backend-independent path: ``model.fit`` on a dataset redrawn every epoch."""
    dataset = _EpochDataset(source, batch_size, augment)
    model.fit(
        dataset,
        epochs=epochs,
        callbacks=callbacks,
        validation_data=validation,
        verbose=0,
        shuffle=False,
    )
    return callbacks[-1]


class _EpochDataset(keras.utils.PyDataset):
    """Serves ``source(epoch)`` batch by batch; asks for a new epoch at its end."""

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
        X, y, w, order, augment_rows = self._arrays
        rows = order[batch * self._batch_size : (batch + 1) * self._batch_size]
        x_batch = X[rows]
        if self._augment is not None and augment_rows is not None:
            x_batch = _augment_rows(self._augment, x_batch, augment_rows[rows])
            x_batch = keras.ops.convert_to_numpy(x_batch)
        return x_batch, y[rows], w[rows]

    def on_epoch_end(self):
        self._epoch += 1
        self._arrays = self._source(self._epoch)


class _DivergenceGuard(keras.callbacks.Callback):
    """Never leave a model that predicts NaN: stop when the loss diverges.

    Checks every epoch's loss, and the weights when training ends (a last
    step can overflow the weights after a finite loss). ``"raise"`` raises a
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
            # The optimizer's variables too, where it has built them already.
            self._good = [(v, keras.ops.convert_to_numpy(v)) for v in _state(self.model)]

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
        if loss is not None and not math.isfinite(loss):
            self._diverged(f"training loss became {loss} in epoch {epoch + 1}")
        else:
            self._keep()

    def on_train_end(self, logs=None):
        if not all(np.all(np.isfinite(keras.ops.convert_to_numpy(w))) for w in self.model.weights):
            self._diverged("the weights are no longer finite after training")


class _EpochPrinter(keras.callbacks.Callback):
    """One line per epoch, as scikit-learn's MLPClassifier prints with verbose."""

    def on_epoch_end(self, epoch, logs=None):
        parts = [f"Iteration {epoch + 1}, loss = {logs['loss']:.8f}"]
        if "val_loss" in logs:
            parts.append(f"validation loss = {logs['val_loss']:.8f}")
        print(", ".join(parts))
