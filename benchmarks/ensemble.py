"""Ensembles of networks on balanced draws: BalancedEnsembleClassifier vs one member vs bagging.

Issue #12, part 2. On each data set, 5 seeds (3 with --quick), interleaved in one process:

- ``one member``: ``BalancedEnsembleClassifier(mlp, n_estimators=1)``: one network trained on a
  fresh random under-sample every epoch (the member the ensemble is made of);
- ``ensemble 10``: ``BalancedEnsembleClassifier(mlp, n_estimators=10)``: ten such networks, side by
  side in one compiled model (stacked weights), probabilities averaged;
- ``bagging 10``: imbalanced-learn ``BalancedBaggingClassifier(estimator=mlp, n_estimators=10)``: ten
  separate fits, each on one random under-sample (sequentially, n_jobs=1);
- ``plain``: the same network on every row, no re-balancing (a reference);
- the first two again with ``tol=0, n_iter_no_change=10**6``: exactly 200 epochs each, so the
  time ratio compares 10 members with one at equal epochs (with ``tol`` stopping, the members'
  mean loss is smoother than one member's, and the ensemble trains for more epochs).

``mlp`` is ``CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=200)`` with its defaults
(adam, tol stopping). Columns: median warm fit time (each configuration is fitted once first, so
compilation is excluded), time relative to one member (target: ensemble 10 <= 3x), epochs run
(median; the members of an ensemble stop together, on their mean loss) and time per epoch, ROC AUC and
average precision on a stratified held-out 30% (mean and standard deviation across seeds), and the
mean over test rows of the standard deviation of the predicted probability across seeds (how much
a prediction depends on the seed: the variance an ensemble should reduce).

    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/ensemble.py [--quick]
"""

import argparse
import datetime
import os
import platform
import statistics
import time
import warnings

import numpy as np
from imblearn.ensemble import BalancedBaggingClassifier
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from imbnet import BalancedEnsembleClassifier, CostSensitiveMLPClassifier, make_tutorial_data


def data_sets(quick):
    sets = {"tutorial 5,000x2 1%": make_tutorial_data(5000)}
    shapes = [(730, 10, 0.06), (1500, 8, 0.03)] + ([] if quick else [(4000, 20, 0.02)])
    for rows, features, share in shapes:
        X, y = make_classification(
            n_samples=rows,
            n_features=features,
            n_informative=max(2, features // 2),
            weights=[1 - share],
            flip_y=0.01,
            class_sep=0.8,
            random_state=rows,
        )
        sets[f"{rows:,}x{features} {share:.0%}"] = (X, y)
    return sets


def mlp(seed, **params):
    return CostSensitiveMLPClassifier(
        hidden_layer_sizes=(32,), max_iter=200, random_state=seed, **params
    )


# The same 200 epochs for everyone: the time of 10 members against one at equal work.
FIXED = dict(tol=0.0, n_iter_no_change=10**6)

METHODS = {
    "one member": lambda seed: BalancedEnsembleClassifier(mlp(seed), 1, random_state=seed),
    "ensemble 10": lambda seed: BalancedEnsembleClassifier(mlp(seed), 10, random_state=seed),
    "one member, 200 epochs": lambda seed: BalancedEnsembleClassifier(
        mlp(seed, **FIXED), 1, random_state=seed
    ),
    "ensemble 10, 200 epochs": lambda seed: BalancedEnsembleClassifier(
        mlp(seed, **FIXED), 10, random_state=seed
    ),
    "bagging 10": lambda seed: BalancedBaggingClassifier(
        estimator=mlp(seed), n_estimators=10, random_state=seed
    ),
    "plain": mlp,
}


def epochs_run(clf):
    """Epochs trained: of the ensemble's members (together), or summed over bagged fits."""
    if hasattr(clf, "estimators_"):
        return sum(
            e.steps[-1][1].n_iter_ if hasattr(e, "steps") else e.n_iter_ for e in clf.estimators_
        )
    return clf.estimator_.n_iter_ if hasattr(clf, "estimator_") else clf.n_iter_


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seeds = range(3 if args.quick else 5)
    warnings.simplefilter("ignore")
    print(f"# {datetime.date.today()} {platform.node()} {os.cpu_count()} cores; seeds {len(seeds)}")
    header = (
        "| data | method | fit s | × one member | epochs | ms per epoch | ROC AUC | avg precision "
        "| sd of p across seeds |"
    )
    print(header)
    print("|" + "---|" * 9)
    for name, (X, y) in data_sets(args.quick).items():
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=0
        )
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        for make in METHODS.values():  # compile every architecture once
            make(0).fit(X_train, y_train)
        times = {m: [] for m in METHODS}
        epochs = {m: [] for m in METHODS}
        probas = {m: [] for m in METHODS}
        for seed in seeds:
            for method, make in METHODS.items():  # interleaved
                clf = make(seed)
                start = time.perf_counter()
                clf.fit(X_train, y_train)
                times[method].append(time.perf_counter() - start)
                epochs[method].append(epochs_run(clf))
                probas[method].append(clf.predict_proba(X_test)[:, 1])
        for method in METHODS:
            one = statistics.median(
                times["one member, 200 epochs" if "200" in method else "one member"]
            )
            p = np.array(probas[method])
            auc = [roc_auc_score(y_test, q) for q in p]
            ap = [average_precision_score(y_test, q) for q in p]
            fit = statistics.median(times[method])
            n_epochs = statistics.median(epochs[method])
            per_epoch = 1000 * statistics.median(
                t / e for t, e in zip(times[method], epochs[method])
            )
            print(
                f"| {name} | {method} | {fit:.3f} | {fit / one:.1f}× | {n_epochs:g} | {per_epoch:.2f} | "
                f"{np.mean(auc):.3f} ± {np.std(auc):.3f} | {np.mean(ap):.3f} ± {np.std(ap):.3f} | "
                f"{p.std(axis=0).mean():.3f} |"
            )


if __name__ == "__main__":
    main()
