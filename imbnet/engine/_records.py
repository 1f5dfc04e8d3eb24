"""What the fit loop is handed and hands back: plain records, no training.

Kept apart from :mod:`imbnet.engine._loop` so that both training paths (the
compiled program and ``model.fit``, :mod:`imbnet.engine._keras_fit`) use them
without importing each other.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["Epoch", "Stopping", "TrainResult", "print_epoch"]


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
    loss there). ``members``: 0, one rule for the whole model; ``k`` > 0, the
    model holds ``k`` networks side by side (stacked perceptrons, axis 1 of
    the validation's weights and of the outputs) and each has its own rule on
    its own validation loss, its weights frozen once it stops (with
    ``monitor="val_loss"`` on the compiled path only; elsewhere one rule on
    the mean).
    """

    monitor: str = None
    tol: float = 1e-4
    n_iter_no_change: int = 10
    start: int = 0
    members: int = 0


class TrainResult(NamedTuple):
    """``history`` (per-epoch ``loss`` and ``val_loss`` lists) and whether the
    stopping rule ended training before the last epoch (``converged``).
    ``member_epochs``: with a rule per member (``Stopping.members``), the
    epochs each member trained (an int array), else None."""

    history: dict
    converged: bool
    member_epochs: object = None


def print_epoch(epoch, logs):
    """One line per epoch, as scikit-learn's ``MLPClassifier`` prints with ``verbose``."""
    parts = [f"Iteration {epoch + 1}, loss = {logs['loss']:.8f}"]
    if "val_loss" in logs:
        parts.append(f"validation loss = {logs['val_loss']:.8f}")
    print(", ".join(parts))
