"""Mini-batch plans: which rows each batch of an epoch holds.

A plan is a flat array of row indices for one epoch, read in consecutive
chunks of ``batch_size``: a plain (shuffled) pass, or class-balanced batches.
This module knows nothing of models or estimators.
"""

import numpy as np

__all__ = ["BalancedBatchPlan", "epoch_order"]


def epoch_order(n_samples, *, shuffle, rng):
    """Row order of one epoch: a fresh permutation, or ``0..n-1``."""
    if shuffle:
        return rng.permutation(n_samples)
    return np.arange(n_samples)


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
