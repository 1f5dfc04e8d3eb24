"""Mini-batch plans: which rows each batch of an epoch holds.

A plan is a flat array of row indices for one epoch, read in consecutive
chunks of ``batch_size``. This module knows nothing of models or estimators.
"""

import numpy as np

__all__ = ["epoch_order", "pack_batches", "stratified_holdout"]


def epoch_order(n_samples, *, shuffle, rng):
    """Row order of one epoch: a fresh permutation, or ``0..n-1``."""
    if shuffle:
        return rng.permutation(n_samples)
    return np.arange(n_samples)


def pack_batches(order, batch_size):
    """Pack a flat epoch order into fixed-size batches for a compiled loop.

    Every batch has ``batch_size`` slots so that one compiled function serves
    the whole epoch. The last, partial batch is padded with row 0 at weight 0,
    and its real rows are scaled by ``batch_size / n_real``: a loss averaged
    over ``batch_size`` slots then equals the loss averaged over the real rows,
    exactly what an unpadded partial batch gives.

    Returns
    -------
    index : ndarray of int32 of shape (n_batches, batch_size)
    scale : ndarray of float32 of shape (n_batches, batch_size)
    """
    order = np.asarray(order)
    n_rows = order.shape[0]
    n_batches = -(-n_rows // batch_size)
    n_slots = n_batches * batch_size
    index = np.zeros(n_slots, dtype=np.int32)
    index[:n_rows] = order
    scale = np.ones(n_slots, dtype=np.float32)
    n_last = n_rows - (n_batches - 1) * batch_size
    scale[n_slots - batch_size : n_rows] = batch_size / n_last
    scale[n_rows:] = 0.0
    return index.reshape(n_batches, batch_size), scale.reshape(n_batches, batch_size)


def stratified_holdout(y, fraction, rng):
    """Split rows into train and validation with every class in both.

    Each class contributes ``round(fraction * n_c)`` rows to validation, at
    least one, and keeps at least one for training, so the minority class is
    always monitored (a plain stratified split can leave a rare class out).

    Raises
    ------
    ValueError
        If a class has fewer than two rows.
    """
    train, valid = [], []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        if rows.shape[0] < 2:
            raise ValueError(
                "early_stopping needs at least 2 samples of every class to hold one "
                f"out for validation; class {label!r} has {rows.shape[0]}. "
                "Set early_stopping=False or collect more samples."
            )
        rows = rng.permutation(rows)
        n_valid = min(max(1, int(round(fraction * rows.shape[0]))), rows.shape[0] - 1)
        valid.append(rows[:n_valid])
        train.append(rows[n_valid:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(valid))
