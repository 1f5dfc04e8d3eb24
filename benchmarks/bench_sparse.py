"""Sparse one-hot X: CostSensitiveMLPClassifier on sparse vs dense X, and MLPClassifier.

Issue #15: ``OneHotEncoder`` in a ``ColumnTransformer`` hands the classifier a sparse
matrix. imbnet trains on it batch by batch (each mini-batch densified as it is gathered,
through Keras's ``model.fit``); the anchor is the same data densified up front (imbnet's
compiled program). Per row: the bytes X takes as the estimator holds it, the warm fit time
(median of 3 fits after one warm-up), ms per epoch, ROC AUC on a held-out 30%, and the
largest difference of ``predict_proba`` from the dense fit. Fixed epochs
(``n_iter_no_change`` larger than ``max_iter``). From the project root:

    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/bench_sparse.py            # ~4 min
    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/bench_sparse.py --quick    # ~1 min
"""

import argparse
import statistics
import time
import warnings

import numpy as np
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import OneHotEncoder

from imbnet import CostSensitiveMLPClassifier


def one_hot_data(n_rows, n_columns, levels, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, levels, size=(n_rows, n_columns))
    effect = rng.normal(size=(n_columns, levels))
    score = effect[np.arange(n_columns), codes].sum(axis=1)
    y = (score > np.quantile(score, 0.9)).astype(int)  # 10% positive
    X = OneHotEncoder().fit_transform(codes).tocsr().astype(np.float32)
    return X, y


def nbytes(X):
    if scipy.sparse.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def timed_fits(make, X, y, repeats):
    times = []
    for _ in range(repeats + 1):  # the first is the warm-up
        clf = make()
        start = time.perf_counter()
        clf.fit(X, y)
        times.append(time.perf_counter() - start)
    return clf, statistics.median(times[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_rows, n_columns, levels, epochs, repeats = (
        (4000, 3, 200, 5, 1) if args.quick else (20000, 4, 500, 10, 2)
    )
    X, y = one_hot_data(n_rows, n_columns, levels)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    dense_train, dense_test = X_train.toarray(), X_test.toarray()
    settings = dict(
        hidden_layer_sizes=(32,), max_iter=epochs, n_iter_no_change=epochs + 1, random_state=0
    )
    runs = [
        (
            "imbnet, dense X (anchor)",
            lambda: CostSensitiveMLPClassifier(**settings),
            dense_train,
            dense_test,
        ),
        ("imbnet, sparse X", lambda: CostSensitiveMLPClassifier(**settings), X_train, X_test),
        ("MLPClassifier, sparse X", lambda: MLPClassifier(**settings), X_train, X_test),
    ]
    rows, anchor, anchor_proba = [], None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, make, train, test in runs:
            clf, seconds = timed_fits(make, train, y_train, repeats)
            proba = clf.predict_proba(test)
            anchor = seconds if anchor is None else anchor
            if anchor_proba is None:
                anchor_proba = proba
            same = np.abs(proba - anchor_proba).max() if name.startswith("imbnet") else float("nan")
            rows.append(
                (
                    name,
                    nbytes(train) / 2**20,
                    seconds,
                    1000 * seconds / clf.n_iter_,
                    seconds / anchor,
                    roc_auc_score(y_test, proba[:, 1]),
                    same,
                )
            )
    print(
        f"{n_rows} rows, {n_columns} categorical columns x {levels} levels one-hot "
        f"({X.shape[1]} columns, {X.nnz / np.prod(X.shape):.2%} non-zero), hidden (32,), "
        f"adam, {epochs} epochs, median of {repeats} warm fits\n"
    )
    print(
        "| fit | X held (MB) | fit (s) | ms / epoch | time / anchor | ROC AUC | max |Δ proba| vs dense |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, mb, seconds, per_epoch, ratio, auc, same in rows:
        print(
            f"| {name} | {mb:.1f} | {seconds:.2f} | {per_epoch:.1f} | {ratio:.2f}× | {auc:.3f} | "
            f"{'—' if np.isnan(same) else f'{same:.1e}'} |"
        )


if __name__ == "__main__":
    main()
