"""Sparse X in the compiled program: each row's (column, value) pairs, never dense."""

import numpy as np
import pytest
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning

from imbnet import CostSensitiveMLPClassifier
from imbnet.data._sparse import pairs_per_row, sparse_rows


@pytest.fixture(scope="module")
def wide():
    rng = np.random.default_rng(0)
    X = scipy.sparse.random(240, 300, density=0.02, format="csr", random_state=1, dtype=np.float32)
    score = X @ rng.normal(size=300)
    y = (score > np.quantile(score, 0.85)).astype(int)
    return X, y


def test_sparse_rows_hold_every_non_zero_and_pad_with_zeros(wide):
    X, _ = wide
    pairs = pairs_per_row(X)
    most = np.diff(X.indptr).max()
    assert pairs >= most and pairs & (pairs - 1) == 0  # a power of two
    rows = sparse_rows(X, pairs)
    assert rows.shape == (X.shape[0], pairs, 2) and rows.dtype == np.float32
    rebuilt = np.zeros(X.shape, np.float32)
    for i in range(X.shape[0]):
        np.add.at(rebuilt[i], rows[i, :, 0].astype(int), rows[i, :, 1])
    np.testing.assert_array_equal(rebuilt, X.toarray())
    with pytest.raises(ValueError, match="non-zeros"):
        sparse_rows(X, 1)


def test_pairs_only_where_they_take_less_memory_than_dense_rows():
    dense_like = scipy.sparse.csr_matrix(np.ones((5, 6), np.float32))
    assert pairs_per_row(dense_like) is None  # 8 pairs of 2 floats > 6 columns
    assert pairs_per_row(dense_like, compact=False) == 8


def _fit(X, y, **options):
    clf = CostSensitiveMLPClassifier(
        hidden_layer_sizes=(8,), max_iter=6, n_iter_no_change=99, random_state=0, **options
    )
    with pytest.warns(ConvergenceWarning):
        return clf.fit(X, y)


@pytest.mark.parametrize(
    "options", [{}, {"class_weight": "balanced"}, {"early_stopping": True, "batch_size": 50}]
)
def test_wide_sparse_trains_as_dense_without_densifying(wide, options, monkeypatch):
    X, y = wide
    densified = []
    real_toarray = scipy.sparse.csr_matrix.toarray

    def recording_toarray(matrix, *args, **kwargs):
        densified.append(matrix.shape)
        return real_toarray(matrix, *args, **kwargs)

    monkeypatch.setattr(scipy.sparse.csr_matrix, "toarray", recording_toarray)
    sparse = _fit(X, y, **options)
    monkeypatch.undo()
    assert densified == []  # not a row densified in training
    dense = _fit(X.toarray(), y, **options)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-5)
    if options.get("early_stopping"):
        np.testing.assert_allclose(sparse.validation_scores_, dense.validation_scores_, rtol=1e-5)
    np.testing.assert_allclose(sparse.predict_proba(X), dense.predict_proba(X.toarray()), atol=1e-5)
    np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], atol=1e-5)


def test_sparse_with_dense_rows_trains_through_dense_batches():
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(120, 6)).astype(np.float32)
    y = (dense[:, 0] > 0.8).astype(int)
    sparse = _fit(scipy.sparse.csr_matrix(dense), y)
    np.testing.assert_allclose(sparse.loss_curve_, _fit(dense, y).loss_curve_, rtol=1e-5)
