"""The fit loop: epochs of mini-batch steps on a compiled Keras model.

``train`` is the whole loop, read top to bottom: it asks the caller's
``source`` for each epoch's data and row order, runs the epochs, and returns
the per-epoch losses. Three things happen after every epoch, wherever it
runs: the epoch loss is the sample-weighted mean loss over the epoch's rows;
scikit-learn's stopping rule (:mod:`imbnet.engine._stopping`) decides whether to go
on; a non-finite loss or weight stops training (``on_divergence``).

Every mini-batch step minimises the batch's loss as Keras's ``model.fit``
computes it (the model's compiled loss, weighted, averaged over the batch's
rows, plus regularisation), so class weights act as they do in Keras; the
epoch loss reported and stopped on is scikit-learn's quantity, the weighted
mean ``sum(w * loss) / sum(w)`` over all the epoch's rows.

On the TensorFlow backend the epochs run inside one XLA-compiled program
(:class:`imbnet.engine._program.Program`): the data stays resident, the host hands
over the row orders of many epochs at once, and the program runs the
batches, the epoch losses, the validation loss, the stopping rule, the
best-weights snapshot and the divergence check without returning to Python.
A fit whose epochs need Python in between (a sampler redrawn every epoch,
user callbacks) runs one epoch per call of the same program, callbacks called
between calls. Callbacks with per-batch hooks, and other backends, train
through ``model.fit`` (:mod:`imbnet.engine._keras_fit`).

Which compiled program a fit runs on (cached, shared by data sets of other
sizes and widths, compiled in the background) is :mod:`imbnet.engine._program_cache`'s
business.
"""

import math
import warnings

import keras
import numpy as np

from . import _stopping
from ._chunks import MAX_EPOCHS_PER_CALL, Chunk
from ._keras_fit import (
    finite_weights,
    model_input,
    needs_model_fit,
    nested_layers,
    train_with_model_fit,
)
from ._model_state import build_optimizer_state
from ._program import CallShapes
from ._program_cache import cached_program
from ._records import Epoch, Stopping, TrainResult, print_epoch

__all__ = ["Epoch", "Stopping", "TrainResult", "predict_outputs", "runs_compiled", "train"]


def runs_compiled(model, callbacks=()):
    """Whether :func:`train` runs ``model`` with these callbacks in a compiled
    program (else through ``model.fit``)."""
    callbacks = list(callbacks)
    return not (
        keras.backend.backend() != "tensorflow"
        or _wants_batch_hooks(callbacks)
        or _has_batch_statistics(model)
        or needs_model_fit(model)
    )


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
        Rows per batch; an epoch of fewer rows is one batch.
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
    if not runs_compiled(model, callbacks):
        return _train_with_model_fit(
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
        )
    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    # Between epochs the host must run: the source's next draw may depend on
    # the model, and callbacks see (and may change) the model after each epoch.
    one_epoch_per_call = bool(callbacks) or getattr(source, "redraws", False)
    # The fitted model's optimizer is built only when its state must be its own
    # (pickling, model.fit): see imbnet.engine._model_state.build_optimizer_state.
    model.stop_training = False
    history = {"loss": []} if validation is None else {"loss": [], "val_loss": []}
    epoch, state, ended = 0, _stopping.initial_state(members=stopping.members), None
    member_epochs = np.zeros(stopping.members, int) if stopping.members else None
    per_call = 1 if one_epoch_per_call else min(MAX_EPOCHS_PER_CALL, epochs)
    chunk, rule = _next_chunk(source, epoch, epochs, batch_size, per_call, stopping, None)
    keep_good = on_divergence == "warn"
    with cached_program(
        model, augment, CallShapes.of(chunk, validation, rule, keep_good)
    ) as program:
        program.start(model, keep_good=keep_good)
        callback_list.on_train_begin()
        while True:
            per_call = chunk.padded_epochs
            if one_epoch_per_call:
                callback_list.on_epoch_begin(epoch)
                program.load(model)
            result = program.run(chunk, validation, rule, state)
            state = result.state
            if member_epochs is not None:
                member_epochs += result.member_epochs
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
            if epoch >= epochs or ended is not None:
                break
            chunk, rule = _next_chunk(source, epoch, epochs, batch_size, per_call, stopping, chunk)
        program.finish(
            model, restore_best=stopping.monitor == "val_loss", stored=one_epoch_per_call
        )
        if ended != "diverged" and callbacks and not finite_weights(model):
            ended = "diverged"  # a callback's doing after the last epoch
        if ended == "diverged":
            _diverged(program, model, history, on_divergence)
        callback_list.on_train_end()
    return TrainResult(history, ended == "converged", member_epochs)


def _next_chunk(source, epoch, epochs, batch_size, per_call, stopping, previous):
    """The chunk of epochs from ``epoch`` on, and the stopping rule it runs under."""
    # Epochs before stopping.start run without the rule, in chunks of their own.
    rule = stopping if epoch >= stopping.start else stopping._replace(monitor=None)
    limit = min(epochs, stopping.start if epoch < stopping.start else epochs) - epoch
    return Chunk(source, epoch, limit, batch_size, per_call, previous=previous), rule


def _diverged(program, model, history, on_divergence):
    loss = history["loss"][-1]
    epoch = len(history["loss"])
    problem = (
        f"training loss became {loss} in epoch {epoch}"
        if not math.isfinite(loss)
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


_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


def _has_batch_statistics(model):
    """Whether ``model`` normalises with statistics of the batch (``BatchNormalization``).

    The compiled program fills a partial last batch with weight-0 copies of a
    row: harmless to the loss, but they would enter such a layer's batch mean
    and variance. Those models train through ``model.fit``, whose partial
    batches hold only real rows.
    """
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in nested_layers(model))


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
        keras.ops.convert_to_numpy(
            model(model_input(X[start : start + batch_size]), training=False)
        )
        for start in range(0, len(X), batch_size)
    ]
    return np.concatenate(chunks, axis=0)


# ------------------------------------------------------- model.fit path
def _train_with_model_fit(*args):
    """Backend-independent path: ``model.fit`` (:mod:`imbnet.engine._keras_fit`)."""
    build_optimizer_state(args[0])  # a model a compiled fit left: its optimizer state goes on
    return train_with_model_fit(*args)
