"""Chunks of epochs in the compiled program's shapes.

A :class:`Chunk` is what one call of :class:`imbnet.engine._program.Program`
trains on: the resident arrays padded to a shared row count, and the row
orders of consecutive epochs laid out flat, batch by batch. The shapes depend
on the data as little as possible, so that data sets of many sizes share one
compilation. This module knows nothing of Keras.
"""

import numpy as np

__all__ = [
    "EVAL_ROWS",
    "MAX_EPOCHS_PER_CALL",
    "MIN_ROWS",
    "Chunk",
    "bucket",
    "pad_rows",
    "padded_validation",
    "width_bucket",
    "with_width",
]

# Epochs handed over in one call at most: the host draws their row orders.
MAX_EPOCHS_PER_CALL = 128
# Each new data shape costs an XLA compilation (about a second), so the
# program's shapes depend on the data as little as possible: the row orders
# of a call fill a flat array of at least _ORDER_SLOTS slots (as many epochs as
# fit), and the resident rows are padded to at least MIN_ROWS. Small data
# sets of any size then share one compilation per batch size; the padding is
# never computed on (rows are gathered by index, unused slots are skipped).
_ORDER_SLOTS = 1 << 17
MIN_ROWS = 4096
# The hold-out is evaluated this many rows at a time.
EVAL_ROWS = 4096
# An epoch of one batch fills the slots of a whole batch when the batch size
# is at most this (MLPClassifier's 200): data sets smaller than a batch share
# the compilation of larger ones. A larger batch size: a power of two.
_SHARED_BATCH = 256


def bucket(n):
    """``n`` rounded up to a power of two (at least 1)."""
    return 1 << max(0, int(n) - 1).bit_length()


# Input widths up to this share programs in steps of _WIDTH_STEP (16, 32, 48,
# 64); wider inputs in powers of two. A padded column costs a first-layer
# kernel row of work on every row of every batch, so steps finer than a
# doubling pay where the first layer is most of the work (a few dozen
# features, a hundred hidden units: 40 features ran 60 % wider at 64).
_WIDTH_STEP, _STEPPED_WIDTHS = 16, 64


def width_bucket(n):
    """The input width a program is compiled for, for ``n`` features: a multiple
    of 16 up to 64, then a power of two.

    >>> [width_bucket(n) for n in (3, 16, 17, 40, 64, 65, 200)]
    [16, 16, 32, 48, 64, 128, 256]
    """
    n = max(1, int(n))
    if n <= _STEPPED_WIDTHS:
        return -(-n // _WIDTH_STEP) * _WIDTH_STEP
    return bucket(n)


def pad_rows(array, length, value=0):
    """``array`` with ``value`` rows appended up to ``length`` rows."""
    if array.shape[0] == length:
        return array
    padding = np.full((length - array.shape[0],) + array.shape[1:], value, array.dtype)
    return np.concatenate([array, padding])


class Chunk:
    """Consecutive epochs that train on the same arrays, in the program's shapes.

    ``orders`` holds the epochs' row indices one after the other, flat: epoch
    ``e``'s batch ``b`` is the ``batch_slots`` entries from ``(e * n_batches +
    b) * batch_slots``; a partial last batch is padded with row 0, and
    ``slots`` is 1 for a real row and 0 for padding. ``batch_slots`` is the
    batch size (``batch_size`` may exceed an epoch's rows: one batch, padded),
    or, for one batch and a batch size over ``_SHARED_BATCH``, the epoch's row
    count rounded up to a power of two. The
    resident arrays are padded to a power of two rows, at least ``MIN_ROWS``
    (small data). ``previous``: the chunk before in the same fit, whose
    padded arrays are reused when the source hands over the same arrays.
    """

    def __init__(self, source, first, n_epochs, batch_size, padded_epochs, previous=None):
        epochs = [source(first)]
        X, y, w, _, augment_rows = epochs[0]
        n_order = len(epochs[0].order)
        n_batches = -(-n_order // batch_size)
        self.batch_slots = (
            batch_size if n_batches > 1 or batch_size <= _SHARED_BATCH else bucket(max(n_order, 1))
        )
        slots_per_epoch = max(1, n_batches * self.batch_slots)
        size = max(_ORDER_SLOTS, bucket(slots_per_epoch))
        self.padded_epochs = max(
            1, min(padded_epochs, MAX_EPOCHS_PER_CALL, size // slots_per_epoch)
        )
        count = min(n_epochs, self.padded_epochs)
        if hasattr(source, "epochs"):  # the same arrays every epoch, drawn at once
            epochs = source.epochs(first, count)
        for epoch in range(first + 1, first + count) if len(epochs) == 1 else ():
            nxt = source(epoch)
            if any(a is not b for a, b in zip(nxt[:3], epochs[0][:3])) or len(nxt.order) != n_order:
                break  # new arrays: they start the next chunk
            epochs.append(nxt)
        self.n_epochs = len(epochs)
        self.n_batches = n_batches
        self.arrays = (X, y, w, augment_rows)
        if previous is not None and all(a is b for a, b in zip(previous.arrays, self.arrays)):
            self.X, self.y, self.w, self.augment_rows = (
                previous.X,
                previous.y,
                previous.w,
                previous.augment_rows,
            )
        else:
            n_rows = X.shape[0]
            n_pad = max(MIN_ROWS, bucket(n_rows)) if n_rows <= 1 << 16 else n_rows
            self.X, self.y, self.w = (pad_rows(a, n_pad) for a in (X, y, w))
            mask = np.zeros(n_rows, bool) if augment_rows is None else augment_rows
            self.augment_rows = pad_rows(mask, n_pad, False)
        # An order of shape (n, k) feeds k rows per slot (networks side by side).
        trailing = epochs[0].order.shape[1:]
        self.orders = np.zeros((size,) + trailing, np.int32)
        self.slots = np.zeros(size, np.float32)
        used = self.n_epochs * slots_per_epoch
        by_epoch = self.orders[:used].reshape((self.n_epochs, slots_per_epoch) + trailing)
        by_epoch[:, :n_order] = np.stack([e.order for e in epochs])
        self.slots[:used].reshape(self.n_epochs, slots_per_epoch)[:, :n_order] = 1.0
        self.batch_size = batch_size


def with_width(X, width):
    """``X`` with zero columns appended up to ``width`` features."""
    if X.ndim != 2 or X.shape[1] == width:
        return X
    return np.pad(X, ((0, 0), (0, width - X.shape[1])))


def padded_validation(validation):
    """The hold-out ``(X, y, w)`` padded to a power of two or a whole number of
    evaluation chunks, with the mask of its real rows."""
    X, y, w = validation
    n = X.shape[0]
    n_pad = bucket(n) if n <= EVAL_ROWS else -(-n // EVAL_ROWS) * EVAL_ROWS
    slots = np.ones(n, np.float32)
    return tuple(pad_rows(a, n_pad) for a in (X, y, w, slots))
