"""Sparse X: CostSensitiveMLPClassifier on sparse vs dense X, and MLPClassifier.

Issue #15: ``OneHotEncoder`` in a ``ColumnTransformer`` hands the classifier a sparse
matrix. Issue #25 (item 4): wide sparse input (TF-IDF) must train at least as fast as
scikit-learn's ``MLPClassifier`` at the same average precision. imbnet trains sparse X in
its compiled program on each row's non-zeros (the first layer a sum of kernel rows, never
a dense row). Three data sets, each with the same data densified up front (imbnet's
compiled program on dense rows) and ``MLPClassifier`` on the sparse matrix, in the same
run:

1. one-hot codes (``OneHotEncoder`` of categorical columns), hidden (32,);
2. a random CSR matrix, 3,000 x 500 at 2 % density, hidden (32,), 30 epochs;
3. TF-IDF of 3,000 short synthetic documents (``benchmarks/text.py``'s generator,
   unigrams), hidden (32,), 50 epochs;
4. narrow one-hot codes: two categorical columns of 4 levels, 3,000 rows x 8 columns,
   whose rows are denser than their (column, value) pairs: densified once per fit
   (``data._sparse.fits_dense``), 30 epochs.

Per row: the bytes X takes as the estimator holds it, the warm fit time (median of 3 fits
after one warm-up), ms per epoch, time against ``MLPClassifier`` on the same data (> 1:
imbnet faster), ROC AUC and average precision on a held-out 30%, and the largest
difference of ``predict_proba`` from imbnet's dense fit. Fixed epochs
(``n_iter_no_change`` larger than ``max_iter``). From the project root:

    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/bench_sparse.py            # ~4 min
    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/bench_sparse.py --quick    # ~1 min
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import OneHotEncoder

from imbnet import CostSensitiveMLPClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from text import synthetic  # noqa: E402


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


def random_csr(n_rows=3000, n_columns=500, density=0.02, seed=0):
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(
        n_rows, n_columns, density=density, format="csr", random_state=seed, dtype=np.float32
    )
    score = X @ rng.normal(size=n_columns) + 0.3 * rng.normal(size=n_rows)
    y = (score > np.quantile(score, 0.9)).astype(int)  # 10% positive
    return X, y


def tfidf_documents(n_rows=3000, seed=1):
    docs, y = synthetic(seed, n=n_rows)
    X = TfidfVectorizer().fit_transform(docs).astype(np.float32).tocsr()
    return X, y


def compare(title, X, y, settings, repeats):
    """Rows of the table for one data set: imbnet dense, imbnet sparse, MLPClassifier sparse."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    dense_train, dense_test = X_train.toarray(), X_test.toarray()
    runs = [
        ("imbnet, dense X", CostSensitiveMLPClassifier, dense_train, dense_test),
        ("imbnet, sparse X", CostSensitiveMLPClassifier, X_train, X_test),
        ("MLPClassifier, sparse X", MLPClassifier, X_train, X_test),
    ]
    measured = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, cls, train, test in runs:
            clf, seconds = timed_fits(lambda cls=cls: cls(**settings), train, y_train, repeats)
            measured.append((name, clf, seconds, clf.predict_proba(test), train))
    anchor = measured[-1][2]
    dense_proba = measured[0][3]
    rows = []
    for name, clf, seconds, proba, train in measured:
        same = np.abs(proba - dense_proba).max() if name.startswith("imbnet") else float("nan")
        rows.append(
            (
                title,
                name,
                nbytes(train) / 2**20,
                seconds,
                1000 * seconds / clf.n_iter_,
                anchor / seconds,
                roc_auc_score(y_test, proba[:, 1]),
                average_precision_score(y_test, proba[:, 1]),
                same,
            )
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_rows, n_columns, levels, epochs, repeats = (
        (4000, 3, 200, 5, 1) if args.quick else (20000, 4, 500, 10, 2)
    )
    sets = []
    X, y = one_hot_data(n_rows, n_columns, levels)
    sets.append(
        (
            f"one-hot {n_rows}x{X.shape[1]} ({X.nnz / np.prod(X.shape):.2%} non-zero), "
            f"{epochs} epochs",
            X,
            y,
            epochs,
        )
    )
    X, y = random_csr()
    sets.append((f"CSR {X.shape[0]}x{X.shape[1]} at 2%, 30 epochs", X, y, 30))
    X, y = tfidf_documents()
    sets.append(
        (
            f"TF-IDF {X.shape[0]} documents x {X.shape[1]} columns "
            f"({X.nnz / np.prod(X.shape):.2%} non-zero), 50 epochs",
            X,
            y,
            50,
        )
    )
    X, y = one_hot_data(3000, 2, 4)
    sets.append((f"narrow one-hot {X.shape[0]}x{X.shape[1]}, 30 epochs", X, y, 30))
    rows = []
    for title, X, y, n_epochs in sets:
        settings = dict(
            hidden_layer_sizes=(32,),
            max_iter=n_epochs,
            n_iter_no_change=n_epochs + 1,
            random_state=0,
        )
        rows += compare(title, X, y, settings, repeats)
    print(f"hidden (32,), adam, fixed epochs, median of {repeats} warm fits (after one warm-up)\n")
    print(
        "| data | fit | X held (MB) | fit (s) | ms / epoch | speed vs MLPClassifier "
        "| ROC AUC | AP | max |Δ proba| vs imbnet dense |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for title, name, mb, seconds, per_epoch, ratio, auc, ap, same in rows:
        print(
            f"| {title} | {name} | {mb:.1f} | {seconds:.2f} | {per_epoch:.1f} | {ratio:.2f}× "
            f"| {auc:.3f} | {ap:.3f} | {'—' if np.isnan(same) else f'{same:.1e}'} |"
        )


if __name__ == "__main__":
    main()
