"""Sparse X in the compiled program: each row's (column, value) pairs, never dense."""

import numpy as np
import pytest
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning

from imbnet import CostSensitiveMLPClassifier
from imbnet.classifiers import _mlp
from imbnet.data import _sparse
from imbnet.data._sparse import fits_dense, pairs_per_row, sparse_rows


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


@pytest.mark.parametrize("options", [{}, {"early_stopping": True, "batch_size": 50}])
def test_narrow_sparse_trains_in_the_compiled_program_on_rows_densified_once(options, monkeypatch):
    """Rows denser than their pairs (a few one-hot columns): densified once per fit
    and trained as the same dense data, in the compiled program, not Keras's
    model.fit (a compilation of every fit's own: seconds for a tiny fit)."""
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(120, 6)).astype(np.float32)
    dense[rng.random(dense.shape) < 0.5] = 0.0
    y = (dense[:, 0] > 0.5).astype(int)
    X = scipy.sparse.csr_matrix(dense)
    assert pairs_per_row(X) is None and fits_dense(X)

    def refused(*args, **kwargs):
        raise AssertionError("trained through Keras's model.fit")

    with monkeypatch.context() as patch:
        patch.setattr(_mlp, "train_with_model_fit", refused)
        sparse = _fit(X, y, **options)
    alone = _fit(dense, y, **options)
    np.testing.assert_array_equal(sparse.loss_curve_, alone.loss_curve_)
    np.testing.assert_array_equal(sparse.predict_proba(X), alone.predict_proba(dense))


def test_sparse_too_large_to_densify_trains_through_dense_batches(monkeypatch):
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(120, 6)).astype(np.float32)
    y = (dense[:, 0] > 0.8).astype(int)
    X = scipy.sparse.csr_matrix(dense)
    monkeypatch.setattr(_sparse, "_DENSE_BYTES", X.shape[0] * X.shape[1] * 4 - 1)
    assert not fits_dense(X)
    sparse = _fit(X, y)
    np.testing.assert_allclose(sparse.loss_curve_, _fit(dense, y).loss_curve_, rtol=1e-5)
