"""Sparse ``X`` (SciPy sparse matrices) fed to a network batch by batch.

A network takes dense rows; a sparse matrix (``OneHotEncoder``'s output in a
``ColumnTransformer``) is densified only a batch of rows at a time, as the
rows are gathered, never as a whole:

- :class:`DenseRows`: a view of a CSR matrix whose row indexing (an index
  array or a slice) returns dense float32 rows; the epoch datasets of Keras's
  ``model.fit`` path (:mod:`imbnet.engine._keras_fit`) and the batched prediction
  read it like an array;
- :func:`dense_row_source`: an epoch source whose epochs hold such views;
- :class:`DenseBatches`: a hold-out ``(X, y, w)`` served in dense batches
  (Keras ``validation_data``);
- :func:`sparse_rows` / :func:`sparse_row_source`: the compiled program's
  form, never dense: each row's (column, value) pairs, padded to the same
  count (:func:`imbnet.engine._model_inputs.takes_sparse_rows`), when that takes
  less memory than the dense rows;
- :func:`fits_dense` / :func:`dense_source`: otherwise, a matrix whose dense
  rows take no more memory than its pairs would and at most ``_DENSE_BYTES``
  (a few one-hot columns) is densified whole, once per fit, for the compiled
  program: its batches densified one by one would run through Keras's
  ``model.fit``, a compilation of every fit's own.

This module knows nothing of estimators.
"""

import math

import keras
import numpy as np
import scipy.sparse

__all__ = [
    "DenseBatches",
    "DenseRows",
    "dense",
    "dense_row_source",
    "dense_source",
    "fits_dense",
    "issparse",
    "pairs_per_row",
    "sparse_row_source",
    "sparse_rows",
]

# Column indices travel as float32: exact up to 2**24.
_MAX_COLUMNS = 1 << 24
_MIN_PAIRS = 4
# A sparse matrix is densified whole for the compiled program up to this size.
_DENSE_BYTES = 1 << 28


def issparse(X):
    """Whether ``X`` is a SciPy sparse matrix or array."""
    return scipy.sparse.issparse(X)


class DenseRows:
    """Row indexing of a sparse matrix that returns dense float32 rows."""

    def __init__(self, X):
        self.matrix = X.tocsr()
        self.shape = X.shape
        self.dtype = np.dtype(np.float32)
        self.ndim = 2

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        return np.asarray(self.matrix[rows].toarray(), dtype=np.float32)


class _DenseRowSource:
    """``source`` whose epochs hold :class:`DenseRows` views of their sparse ``X``."""

    def __init__(self, source):
        self.source = source
        self.redraws = getattr(source, "redraws", False)
        self.tally = source.tally
        self._views = {}

    def __call__(self, epoch):
        arrays = self.source(epoch)
        key = id(arrays.X)
        if key not in self._views or self._views[key].matrix is not arrays.X:
            self._views = {key: DenseRows(arrays.X)}
        return arrays._replace(X=self._views[key])


def dense_row_source(source):
    """An epoch source like ``source`` whose sparse ``X`` is read in dense rows."""
    return _DenseRowSource(source)


class DenseBatches(keras.utils.PyDataset):
    """A hold-out ``(X, y, w)`` with sparse ``X``, served in dense batches."""

    def __init__(self, X, y, w, batch_size=4096):
        super().__init__()
        self._X, self._y, self._w = DenseRows(X), y, w
        self._batch_size = batch_size

    def __len__(self):
        return math.ceil(self._X.shape[0] / self._batch_size)

    def __getitem__(self, batch):
        rows = slice(batch * self._batch_size, (batch + 1) * self._batch_size)
        return self._X[rows], self._y[rows], self._w[rows]


def pairs_per_row(X, compact=True):
    """The (column, value) pairs per row of :func:`sparse_rows` for ``X``: its
    largest row's non-zeros rounded up to a power of two (at least 4). With
    ``compact``, None when they would take as much memory as dense rows, or
    the columns are too many to index in float32."""
    counts = np.diff(X.tocsr().indptr)
    most = int(counts.max()) if counts.size else 0
    pairs = max(_MIN_PAIRS, 1 << max(0, most - 1).bit_length())
    if compact and (X.shape[1] > _MAX_COLUMNS or 2 * pairs >= X.shape[1]):
        return None
    return pairs


def sparse_rows(X, pairs=None):
    """``X``'s rows as ``pairs`` (column, value) pairs each (default: as many as
    its largest row needs), padded with (0, 0): a float32 array of shape
    ``(n_rows, pairs, 2)``."""
    X = X.tocsr()
    counts = np.diff(X.indptr)
    if pairs is None:
        pairs = pairs_per_row(X, compact=False)
    if counts.size and counts.max() > pairs:
        raise ValueError(f"a row has {counts.max()} non-zeros, more than {pairs} pairs")
    rows = np.repeat(np.arange(X.shape[0]), counts)
    positions = np.arange(X.nnz) - np.repeat(X.indptr[:-1], counts)
    out = np.zeros((X.shape[0], pairs, 2), np.float32)
    out[rows, positions, 0] = X.indices
    out[rows, positions, 1] = X.data
    return out


class _ConvertedSource:
    """``source`` whose epochs hold ``convert(X)`` of their sparse ``X`` (one
    conversion per matrix: the program keeps arrays resident by identity)."""

    def __init__(self, source, convert):
        self.source = source
        self.convert = convert
        self.redraws = getattr(source, "redraws", False)
        self.tally = source.tally
        self._converted = (None, None)

    def __call__(self, epoch):
        arrays = self.source(epoch)
        matrix, rows = self._converted
        if matrix is not arrays.X:
            rows = self.convert(arrays.X)
            self._converted = (arrays.X, rows)
        return arrays._replace(X=rows)


def sparse_row_source(source, pairs):
    """An epoch source like ``source`` whose sparse ``X`` is :func:`sparse_rows`."""
    return _ConvertedSource(source, lambda X: sparse_rows(X, pairs))


def fits_dense(X):
    """Whether sparse ``X`` is densified whole for the compiled program: its dense
    float32 rows take at most ``_DENSE_BYTES`` and no more than twice its
    (column, value) pairs would (:func:`pairs_per_row` without ``compact``).

    >>> import scipy.sparse
    >>> fits_dense(scipy.sparse.eye(100, 8, format="csr"))
    True
    >>> fits_dense(scipy.sparse.eye(100, 5000, format="csr"))
    False
    """
    n_rows, n_columns = X.shape
    return n_rows * n_columns * 4 <= _DENSE_BYTES and n_columns <= 4 * pairs_per_row(
        X, compact=False
    )


def dense(X):
    """Sparse ``X`` as a dense float32 array."""
    return np.asarray(X.toarray(), dtype=np.float32)


def dense_source(source):
    """An epoch source like ``source`` whose sparse ``X`` is densified (:func:`dense`)."""
    return _ConvertedSource(source, dense)
