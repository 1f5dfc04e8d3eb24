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

    A multilabel indicator matrix ``y`` (2-D) has no classes to stratify by:
    its rows are split at random, ``round(fraction * n)`` to validation (at
    least one, and one left for training).

    Raises
    ------
    ValueError
        If a class has fewer than two rows.
    """
    if np.ndim(y) == 2:
        n_rows = y.shape[0]
        n_valid = min(max(1, int(round(fraction * n_rows))), n_rows - 1)
        rows = rng.permutation(n_rows)
        return np.sort(rows[n_valid:]), np.sort(rows[:n_valid])
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


class BalancedBatchPlan:
    """Mini-batches that each hold the classes at a capped ratio.

    In every batch a class ``c`` gets a share proportional to
    ``min(n_c / n_rarest, ratio)``: with ``ratio=1`` all classes are equal,
    with ``ratio=3`` a binary batch holds 3 majority rows per minority row, and
    a class never gets more than its natural share. An epoch has as many
    batches as a plain pass over the data (``ceil(n_samples / batch_size)``),
    so an epoch costs the same number of steps whatever the ratio.

    Each class has its own stream of row indices: a permutation consumed in
    order and redrawn when used up, kept across epochs. Rare classes are
    therefore repeated within an epoch, and over successive epochs every row
    of the large classes is drawn in turn rather than a fixed subset. Only
    indices are drawn; no resampled copy of the data is made.

    Parameters
    ----------
    y_encoded : ndarray of int of shape (n_samples,)
    batch_size : int
    ratio : float >= 1
    rng : numpy.random.Generator
    """

    def __init__(self, y_encoded, batch_size, ratio, rng):
        self._rng = rng
        labels, counts = np.unique(y_encoded, return_counts=True)
        self.rows_per_batch = _rows_per_class(counts, batch_size, ratio)
        self.batch_size = int(self.rows_per_batch.sum())
        self.n_batches = -(-y_encoded.shape[0] // batch_size)
        self._rows = [np.flatnonzero(y_encoded == label) for label in labels]
        self._streams = [np.empty(0, dtype=np.int64) for _ in labels]

    def epoch(self):
        """A flat order of ``n_batches * batch_size`` row indices."""
        per_class = [
            self._draw(position, self.n_batches * int(k)).reshape(self.n_batches, int(k))
            for position, k in enumerate(self.rows_per_batch)
        ]
        batches = np.concatenate(per_class, axis=1)
        # Shuffle the rows within each batch: a class must not sit in a fixed slot.
        batches = self._rng.permuted(batches, axis=1)
        return batches.reshape(-1)

    def _draw(self, position, n_rows):
        stream = self._streams[position]
        while stream.shape[0] < n_rows:
            stream = np.concatenate([stream, self._rng.permutation(self._rows[position])])
        self._streams[position] = stream[n_rows:]
        return stream[:n_rows]


def _rows_per_class(counts, batch_size, ratio):
    """Rows of each class in one batch: shares min(n_c / n_min, ratio), >= 1 each."""
    shares = np.minimum(counts / counts.min(), ratio)
    if batch_size < counts.shape[0]:
        raise ValueError(
            f"batch_size={batch_size} cannot hold one row of each of the "
            f"{counts.shape[0]} classes; use a batch_size of at least {counts.shape[0]}."
        )
    rows = np.maximum(1, np.floor(batch_size * shares / shares.sum())).astype(np.int64)
    # Hand the rows lost to rounding to the classes furthest below their share.
    while rows.sum() < batch_size:
        rows[np.argmax(batch_size * shares / shares.sum() - rows)] += 1
    while rows.sum() > batch_size:
        rows[np.argmax(rows)] -= 1
    return rows
