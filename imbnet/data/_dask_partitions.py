"""What a Dask worker runs on one partition: NumPy only.

The functions :mod:`imbnet.data._dask` sends to the workers, kept apart from it
so that a worker importing them imports neither Keras nor TensorFlow just to
count labels or draw a down-sample (only :func:`predict_block`, whose
estimator brings its Keras model, needs them).
"""

import numpy as np

__all__ = ["held_out", "partition_stats", "predict_block", "sample_partition"]


def _as_vector(part):
    values = np.asarray(part)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    return values


def held_out(n_rows, index, holdout):
    """The rows of partition ``index`` held out for validation: one seeded coin per row."""
    seed, fraction = holdout
    if not fraction:
        return np.zeros(n_rows, bool)
    return np.random.default_rng([seed, index]).random(n_rows) < fraction


def _weights(w, n_rows):
    if w is None:
        return None
    w = np.asarray(_as_vector(w), dtype=np.float64)
    if w.shape[0] != n_rows:
        raise ValueError(
            f"a partition of sample_weight has {w.shape[0]} rows and the matching one of y "
            f"{n_rows}: take both from one collection so that their partitions line up."
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            "sample_weight must be finite and >= 0; to ignore a sample give it weight 0."
        )
    return w


def partition_stats(y, w, index, holdout):
    """On a worker: the labels of one partition and, per label, the rows, the
    training rows and their total sample weight."""
    y = _as_vector(y)
    w = _weights(w, y.shape[0])
    train = ~held_out(y.shape[0], index, holdout)
    labels, codes = np.unique(y, return_inverse=True)
    n = labels.shape[0]
    weight = np.where(train, 1.0 if w is None else w, 0.0)
    return (
        labels,
        np.bincount(codes, minlength=n),
        np.bincount(codes[train], minlength=n),
        np.bincount(codes, weights=weight, minlength=n),
    )


def sample_partition(
    X, y, w, index, *, classes, keep_rates, class_weight, seed, holdout, validation
):
    """On a worker: the rows of one partition a down-sampling draw keeps.

    Each row is kept with its class's rate by a coin seeded by (``seed``,
    ``index``); ``validation`` draws from the held-out rows instead of the
    training rows, their weights divided by the rate (so that the sample's
    weighted loss estimates the whole hold-out's).
    """
    X = np.asarray(X, dtype=np.float32)
    y = _as_vector(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"partition {index}: X has {X.shape[0]} rows and y {y.shape[0]}: take both from "
            "one collection (X = ddf[features], y = ddf['label']) so that their partitions line up."
        )
    if not np.all(np.isfinite(X)):
        raise ValueError(
            f"X contains NaN or infinity (partition {index}): fill or drop those rows "
            "first, e.g. ddf.dropna() or ddf.fillna(0)."
        )
    w = _weights(w, y.shape[0])
    codes = np.searchsorted(classes, y)
    rows = held_out(y.shape[0], index, holdout)
    if not validation:
        rows = ~rows
    coins = np.random.default_rng([seed, index]).random(y.shape[0])
    kept = rows & (coins < keep_rates[codes])
    codes = codes[kept]
    weights = class_weight[codes].astype(np.float64)
    if w is not None:
        weights = weights * w[kept]
    if validation:
        weights = weights / keep_rates[codes]
    return X[kept], codes, weights.astype(np.float32)


def predict_block(estimator, part, method):
    """On a worker: the in-memory ``predict_proba`` / ``predict`` of one partition."""
    return getattr(estimator, method)(part)
