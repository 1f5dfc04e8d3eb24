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
  (Keras ``validation_data``).

This module knows nothing of estimators.
"""

import math

import keras
import numpy as np
import scipy.sparse

__all__ = ["DenseBatches", "DenseRows", "dense_row_source", "issparse"]


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
