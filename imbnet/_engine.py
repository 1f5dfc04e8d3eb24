"""The fit loop: epochs of mini-batch steps on a compiled Keras model.

``train`` is the whole loop, read top to bottom: it asks the caller's
``source`` for each epoch's data and row order, runs the epochs, and returns
the per-epoch losses. Three things happen after every epoch, wherever it
runs: the epoch loss is the sample-weighted mean loss over the epoch's rows;
scikit-learn's stopping rule (:mod:`imbnet._stopping`) decides whether to go
on; a non-finite loss or weight stops training (``on_divergence``).

Every mini-batch step minimises the batch's loss as Keras's ``model.fit``
computes it (the model's compiled loss, weighted, averaged over the batch's
rows, plus regularisation), so class weights act as they do in Keras; the
epoch loss reported and stopped on is scikit-learn's quantity, the weighted
mean ``sum(w * loss) / sum(w)`` over all the epoch's rows.

On the TensorFlow backend the epochs run inside one XLA-compiled program
(:class:`imbnet._program.Program`): the data stays resident, the host hands
over the row orders of many epochs at once, and the program runs the
batches, the epoch losses, the validation loss, the stopping rule, the
best-weights snapshot and the divergence check without returning to Python.
A fit whose epochs need Python in between (a sampler redrawn every epoch,
user callbacks) runs one epoch per call of the same program, callbacks called
between calls. Callbacks with per-batch hooks, and other backends, train
through ``model.fit`` (:mod:`imbnet._keras_fit`).

Compiling costs more than training a small network, and a grid search fits
the same architecture hundreds of times. Compiled programs are therefore
cached here, keyed by what determines the graph: the model's architecture,
optimizer and loss, not its weights, seeds or learning rate. Row counts are
padded to powers of two so that cross-validation folds share a compilation.
TensorFlow never frees an XLA compilation (about 10 MB for a small network),
so the cache keeps many programs (least recently used first out). A cached
program runs on its own copy of the model: the fitted model's variables and
its optimizer's are copied in before training and out after it (and around
every epoch when callbacks or the epoch source need the current model).
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

from . import _stopping
from ._program import (
    MAX_EPOCHS_PER_CALL, Chunk, Program, adjustable_penalties, bucket, build_optimizer_state,
)
from ._random import keras_seeded

__all__ = ["Epoch", "Stopping", "TrainResult", "train", "predict_outputs"]


class Epoch(NamedTuple):
    """What one epoch trains on.

    ``X``, ``y`` (float32, shape (n, n_outputs)) and ``w`` (shape (n,), or
    (n, n_labels) for per-entry weights of a multilabel target) are the arrays,
    ``order`` the flat row order read in consecutive batches, and
    ``augment_rows`` (bool, optional) marks the rows to augment. Returning the
    same array objects every epoch keeps them resident: only ``order`` changes.
    """

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    order: np.ndarray
    augment_rows: np.ndarray = None


class Stopping(NamedTuple):
    """When training stops before ``epochs``: scikit-learn's rule on ``monitor``.

    ``monitor`` is "loss" (training loss), "val_loss" (the validation loss;
    the best epoch's weights are restored) or None (never stop early). The
    rule counts from epoch ``start`` on (deferred re-weighting changes the
    loss there).
    """

    monitor: str = None
    tol: float = 1e-4
    n_iter_no_change: int = 10
    start: int = 0


class TrainResult(NamedTuple):
    """``history`` (per-epoch ``loss`` and ``val_loss`` lists) and whether the
    stopping rule ended training before the last epoch (``converged``)."""

    history: dict
    converged: bool


def train(
    model,
    source,
    *,
    epochs,
    batch_size,
    callbacks=(),
    validation=None,
    stopping=Stopping(),
    verbose=0,
    augment=None,
    on_divergence="raise",
):
    """Train ``model`` (compiled with a loss and an optimizer) for up to ``epochs``.

    Parameters
    ----------
    model : keras.Model
        Compiled model; its ``loss`` and ``optimizer`` are used as they are.
    source : callable
        ``source(epoch) -> Epoch``: what the epoch trains on. Its attribute
        ``redraws`` (default False) says the data itself changes between
        epochs and may depend on the model trained so far: such a source is
        asked for an epoch only when that epoch starts.
    epochs : int
    batch_size : int
    callbacks : sequence of keras.callbacks.Callback
    validation : tuple (X, y, w) or None
        Held-out data whose weighted loss is logged as ``val_loss``.
    stopping : Stopping
    verbose : int
        If positive, print one line per epoch.
    augment : keras layer, callable or None
        Applied, with ``training=True``, to the rows of each batch that the
        epoch's ``augment_rows`` marks.
    on_divergence : {"raise", "warn"}
        When an epoch's loss or the weights are not finite: raise
        ``FloatingPointError``, or warn (``RuntimeWarning``), stop, and put
        back the weights and optimizer state of the last finite epoch.

    Returns
    -------
    TrainResult
    """
    callbacks = list(callbacks)
    if (
        keras.backend.backend() != "tensorflow"
        or _wants_batch_hooks(callbacks)
        or _has_batch_statistics(model)
    ):
        return _train_with_model_fit(
            model, source, epochs, batch_size, callbacks, validation, stopping, verbose,
            augment, on_divergence,
        )
    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    # Between epochs the host must run: the source's next draw may depend on
    # the model, and callbacks see (and may change) the model after each epoch.
    one_epoch_per_call = bool(callbacks) or getattr(source, "redraws", False)
    # The fitted model's optimizer is built only when its state must be its own
    # (pickling, model.fit): see imbnet._program.build_optimizer_state.
    model.stop_training = False
    history = {"loss": []} if validation is None else {"loss": [], "val_loss": []}
    with _cached_program(model, augment) as program:
        program.start(model, keep_good=on_divergence == "warn")
        callback_list.on_train_begin()
        epoch, state, ended, chunk = 0, _stopping.initial_state(), None, None
        per_call = 1 if one_epoch_per_call else min(MAX_EPOCHS_PER_CALL, bucket(epochs))
        while epoch < epochs and ended is None:
            # Epochs before stopping.start run without the rule, in chunks of their own.
            rule = stopping if epoch >= stopping.start else stopping._replace(monitor=None)
            limit = min(epochs, stopping.start if epoch < stopping.start else epochs) - epoch
            chunk = Chunk(source, epoch, limit, batch_size, per_call, previous=chunk)
            per_call = chunk.padded_epochs
            if one_epoch_per_call:
                callback_list.on_epoch_begin(epoch)
                program.load(model)
            result = program.run(chunk, validation, rule, state)
            state = result.state
            for offset, loss in enumerate(result.losses):
                logs = {"loss": loss}
                if validation is not None:
                    logs["val_loss"] = result.val_losses[offset]
                for key, value in logs.items():
                    history[key].append(value)
                if verbose:
                    print_epoch(epoch + offset, logs)
            epoch += len(result.losses)
            if result.diverged:
                ended = "diverged"
            elif result.stop:
                ended = "converged"
            if one_epoch_per_call:
                program.store(model)
                callback_list.on_epoch_end(epoch - 1, logs)
                if model.stop_training and ended is None:
                    ended = "callback"
        program.finish(model, restore_best=stopping.monitor == "val_loss", stored=one_epoch_per_call)
        if ended != "diverged" and callbacks and not _finite_weights(model):
            ended = "diverged"  # a callback's doing after the last epoch
        if ended == "diverged":
            _diverged(program, model, history, on_divergence)
        callback_list.on_train_end()
    return TrainResult(history, ended == "converged")


def print_epoch(epoch, logs):
    """One line per epoch, as scikit-learn's ``MLPClassifier`` prints with ``verbose``."""
    parts = [f"Iteration {epoch + 1}, loss = {logs['loss']:.8f}"]
    if "val_loss" in logs:
        parts.append(f"validation loss = {logs['val_loss']:.8f}")
    print(", ".join(parts))


def _diverged(program, model, history, on_divergence):
    loss = history["loss"][-1]
    epoch = len(history["loss"])
    problem = (
        f"training loss became {loss} in epoch {epoch}" if not math.isfinite(loss)
        else f"the weights are no longer finite after epoch {epoch}"
    )
    if on_divergence != "warn":
        raise FloatingPointError(
            f"{problem}: the optimisation diverged. Lower the learning rate, scale "
            "the features, or reduce extreme class or sample weights."
        )
    program.restore_good(model)
    warnings.warn(
        f"{problem}: the optimisation diverged; training stopped and the model "
        "keeps the weights of the last epoch with a finite loss. Lower the learning "
        "rate, scale the features, or reduce extreme class or sample weights.",
        RuntimeWarning,
        stacklevel=3,
    )


def _finite_weights(model):
    # variable.numpy(): NumPy 2 warns when Keras converts a TensorFlow tensor with np.array
    return all(np.all(np.isfinite(w.numpy())) for w in model.weights)


_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


def _has_batch_statistics(model):
    """Whether ``model`` normalises with statistics of the batch (``BatchNormalization``).

    The compiled program fills a partial last batch with weight-0 copies of a
    row: harmless to the loss, but they would enter such a layer's batch mean
    and variance. Those models train through ``model.fit``, whose partial
    batches hold only real rows.
    """
    layers = list(getattr(model, "layers", []))
    while layers:
        layer = layers.pop()
        if isinstance(layer, keras.layers.BatchNormalization):
            return True
        layers.extend(getattr(layer, "layers", []))  # nested models and blocks
    return False


def _wants_batch_hooks(callbacks):
    """Whether a callback has a per-batch hook: overridden by its class, or set on
    the instance (``keras.callbacks.LambdaCallback(on_train_batch_end=...)``)."""
    return any(
        hook in vars(callback)
        or getattr(type(callback), hook) is not getattr(keras.callbacks.Callback, hook)
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


# ------------------------------------------------------------------ cache
_CACHE_SIZE = 64  # programs
_CACHE_BYTES = 256 * 2**20  # of model and optimizer variables held by cached programs
_cache = OrderedDict()
_cache_lock = threading.Lock()


@contextmanager
def _cached_program(model, augment):
    """A compiled program for ``model``: a cached one if its architecture was seen."""
    width = _padded_width(model, augment)
    key, program = _cached(model, augment, width)
    if program is None and key is not None:
        template = _training_copy(model, width)
        if template is None and width is not None:
            # A Keras that cannot rebuild the model wider (3.5): the exact width.
            key, program = _cached(model, augment, None)
            template = None if program is not None else _training_copy(model)
        if program is None:
            program = Program(template if template is not None else model, augment)
            key = key if template is not None else None
    elif program is None:
        program = Program(model, augment)
    try:
        yield program
    finally:
        if key is not None:
            with _cache_lock:
                _cache[key] = program
                while len(_cache) > _CACHE_SIZE or (
                    len(_cache) > 1 and sum(p.nbytes for p in _cache.values()) > _CACHE_BYTES
                ):
                    _cache.popitem(last=False)


def _cached(model, augment, width):
    """``(key, program)``: the cache key and the cached program, taken out (one fit
    per program at a time), or None."""
    key = _graph_key(model, augment, width)
    if key is None:
        return None, None
    with _cache_lock:
        program = _cache.pop(key, None)
    if program is not None and not _same_shapes(program.model, model):
        program = None  # a config that does not show every shape: compile anew
    return key, program


def _padded_width(model, augment):
    """The input width of the program's model copy, when it may be wider.

    A sequential model whose first layer is ``Dense`` on flat input gives the
    same outputs, gradients and updates with extra input columns of zeros
    and kernel rows that start at zero (their gradient, L2 penalty and
    optimizer update stay exactly zero), so its program is compiled for the
    width rounded up to a power of two (at least 16): data sets of 3 to 16
    features share one compilation. None otherwise.
    """
    if augment is not None or not isinstance(model, keras.Sequential) or not model.layers:
        return None
    if len(model.inputs[0].shape) != 2 or not isinstance(model.layers[0], keras.layers.Dense):
        return None
    return max(16, bucket(model.inputs[0].shape[-1]))


def _graph_key(model, augment, width=None):
    """What the compiled graph depends on, as a string; None if unknown."""
    try:
        config = model.get_config()
        if width is not None:
            config = _with_input_width(config, width)
        parts = [
            type(model).__module__ + "." + type(model).__qualname__,
            _without_values(config),
            _without_values(keras.optimizers.serialize(model.optimizer)),
            model.loss if isinstance(model.loss, str) else _without_values(keras.losses.serialize(model.loss)),
            None if augment is None else id(augment),
        ]
        return json.dumps(parts, sort_keys=True, default=repr)
    except Exception:  # a model or loss Keras cannot serialise: no caching
        return None


def _with_input_width(config, width):
    """``config`` with the input width of every input shape replaced by ``width``."""
    if isinstance(config, dict):
        return {
            key: [*value[:-1], width] if key in ("batch_shape", "build_input_shape") and value
            else _with_input_width(value, width)
            for key, value in config.items()
        }
    if isinstance(config, (list, tuple)):
        return [_with_input_width(value, width) for value in config]
    return config


# Config entries that do not change the compiled graph: names, seeds, initial
# values; the learning rate is an optimizer variable, copied in like weights,
# and so are the factors of L1/L2 penalties (adjustable_penalties); a layer's
# build_config repeats the input shapes the model's config holds.
_NOT_IN_GRAPH = ("name", "seed", "learning_rate", "build_config", "l1", "l2")


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


def _training_copy(model, width=None):
    """A private copy of ``model`` and its optimizer to run a cached program on,
    ``width`` inputs wide if given; None if it cannot be made."""
    try:
        # Cloning draws seeds for unseeded layers; keep the caller's random state.
        with keras_seeded(0):
            inputs = None if width is None else [keras.Input((width,))]
            copy = keras.models.clone_model(model, input_tensors=inputs)
        optimizer = model.optimizer
        copy.compile(optimizer=type(optimizer).from_config(optimizer.get_config()), loss=model.loss)
        copy.optimizer.build(copy.trainable_variables)
        adjustable_penalties(copy)
    except Exception:  # not clonable (e.g. a custom layer without get_config)
        return None
    if not _same_shapes(copy, model):
        return None
    return copy


def _same_shapes(copy, model):
    """Same variables, but for a first axis the copy may have longer (padded inputs)."""
    state_a, state_b = list(copy.variables), list(model.variables)
    return len(state_a) == len(state_b) and all(
        tuple(x.shape[1:]) == tuple(y.shape[1:]) and (x.shape[:1] or [0])[0] >= (y.shape[:1] or [0])[0]
        for x, y in zip(state_a, state_b)
    )


# ------------------------------------------------------- model.fit path
def _train_with_model_fit(*args):
    """Backend-independent path: ``model.fit`` (:mod:`imbnet._keras_fit`)."""
    from ._keras_fit import train_with_model_fit

    build_optimizer_state(args[0])  # a model a compiled fit left: its optimizer state goes on
    return train_with_model_fit(*args)
