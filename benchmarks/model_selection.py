"""imbnet.model_selection's searches against scikit-learn's, same pipelines, same process.

Each grid runs once untimed for both (compilations, imports), then timed:
imbnet's ``GridSearchCV`` (fits side by side) and scikit-learn's (the anchor:
what a user would pick), the ratio, the largest difference of a candidate's
mean score and whether the best candidate is the same.

    python benchmarks/model_selection.py [--quick]
"""

import argparse
import time
import warnings

import numpy as np
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn import model_selection as sk
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

import imbnet
from imbnet import CostSensitiveMLPClassifier
from imbnet.model_selection import GridSearchCV


def issue_grid(quick):
    X, y = make_classification(n_samples=2000, n_features=10, weights=[0.95], random_state=0)
    pipe = make_pipeline(
        StandardScaler(),
        RandomUnderSampler(random_state=0),
        CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0),
    )
    grid = {
        "randomundersampler__sampling_strategy": [0.1, 0.3, 1.0],
        "costsensitivemlpclassifier__class_weight": [None, "balanced", "log", {0: 1, 1: 5}],
    }
    return "(a) pipeline 12 cand x 5 folds, 2000x10", pipe, grid, X, y


def weight_alpha_grid(quick):
    X, y = make_classification(n_samples=1500, n_features=10, weights=[0.9], random_state=1)
    network = CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0)
    grid = {
        "class_weight": [None, "balanced", "log", "effective", {0: 1, 1: 5}],
        "alpha": [1e-4, 1e-3, 1e-2, 1e-1],
    }
    return "(b) MLP 20 cand x 5 folds, 1500x10", network, grid, X, y


def tutorial_grid(quick):
    X, y = _tutorial()
    pipe = make_pipeline(
        StandardScaler(),
        RandomUnderSampler(random_state=0),
        CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0),
    )
    grid = {
        "randomundersampler__sampling_strategy": [0.3, 1.0],
        "costsensitivemlpclassifier__class_weight": [None, "balanced"],
    }
    return f"(c) tutorial 4 cand x 5 folds, {X.shape[0]}x{X.shape[1]}", pipe, grid, X, y


def _tutorial():
    data = imbnet.make_tutorial_data()
    if isinstance(data, tuple):
        X, y = data[0], data[1]
    else:
        X, y = data.data, data.target
    X = np.asarray(X.select_dtypes("number") if hasattr(X, "select_dtypes") else X, float)
    return X, np.asarray(y)


def run(case, quick, n_jobs):
    name, estimator, grid, X, y = case(quick)
    cv = StratifiedKFold(5)

    def ours():
        return GridSearchCV(estimator, grid, cv=cv, scoring="roc_auc", n_jobs=n_jobs).fit(X, y)

    def theirs():
        return sk.GridSearchCV(estimator, grid, cv=cv, scoring="roc_auc").fit(X, y)

    ours(), theirs()  # warm: compilations and imports
    start = time.perf_counter()
    a = ours()
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    b = theirs()
    t_theirs = time.perf_counter() - start
    diff = np.max(np.abs(a.cv_results_["mean_test_score"] - b.cv_results_["mean_test_score"]))
    same = a.best_index_ == b.best_index_ or (
        a.cv_results_["mean_test_score"][b.best_index_] >= a.best_score_ - 0.005
    )
    return name, n_jobs, t_ours, t_theirs, t_theirs / t_ours, diff, same


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="(a) and (b) only")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    cases = [issue_grid, weight_alpha_grid] + ([] if args.quick else [tutorial_grid])
    rows = [run(case, args.quick, 1) for case in cases]
    rows.append(run(issue_grid, args.quick, 2))
    print("| grid | n_jobs | imbnet s | sklearn s | ratio | max score diff | same best |")
    print("|---|---|---|---|---|---|---|")
    for name, n_jobs, t_ours, t_theirs, ratio, diff, same in rows:
        print(
            f"| {name} | {n_jobs} | {t_ours:.2f} | {t_theirs:.2f} | {ratio:.2f}x | "
            f"{diff:.1e} | {same} |"
        )


if __name__ == "__main__":
    main()
