"""BalancedEnsembleClassifier on the small-data suite: against one net and a bag of MLPs (#25 item 1).

The shapes of ``benchmarks/bench_small.py`` with 180-4,000 rows (binary and 3-class, standardised
``make_classification`` data, a stratified held-out 30%), several split seeds, fitted interleaved in
one process:

- ``ensemble 10``: ``BalancedEnsembleClassifier(CostSensitiveMLPClassifier(hidden_layer_sizes=(32,),
  max_iter=300), n_estimators=10)``, otherwise defaults (``member_training="auto"``: the members
  train in batches of 32 rows at three times the learning rate with half the patience;
  ``--variant 'previous default={"ensemble__member_training": "estimator"}'`` gives the members
  the estimator's own settings);
- ``one net``: that ``CostSensitiveMLPClassifier`` alone, on every row (defaults);
- ``bag 10`` (the anchor): imbalanced-learn's ``BalancedBaggingClassifier(MLPClassifier(
  hidden_layer_sizes=(32,), max_iter=300), n_estimators=10)``, ``n_jobs=1``.

Each method is fitted once on every shape first (seed 0's split): that first fit's time is a column
of its own (it may compile a program for a new width bucket or class count), and includes the
programs it started compiling in the background (waited for before the next method); the timed
fits are the warm ones. Columns: mean ROC AUC and average precision over shapes and seeds (macro
one-vs-rest for 3 classes), total warm fit time, the time relative to the bag, and the first
fits' total. ``--variant NAME=JSON`` adds an ensemble whose member gets the JSON's parameters (keys
``ensemble__x``: the ensemble's own). Targets: the ensemble's mean AUC
>= the bag's and >= one net's, its mean AP >= one net's, its time <= 1/5 of the bag's.

``--single-fold`` runs issue #25's single-fold case instead: ``make_classification(2922, 10,
weights=[40/41], random_state=0)`` (its default 1 % of flipped labels: a noisy minority class),
a stratified 80/20 split per seed (2,338 training rows), StandardScaler; target: the ensemble's
ROC AUC >= 0.94.

    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/ensemble_suite.py [--seeds 3] [--per-shape]
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import time
import warnings

import numpy as np
from bench_small import SHAPES, make_data, scores, shape_name, split, wait_for_background_compiles
from imblearn.ensemble import BalancedBaggingClassifier
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from imbnet import BalancedEnsembleClassifier, CostSensitiveMLPClassifier

SUITE = [s for s in SHAPES if 180 <= s[0] <= 4000]
HIDDEN, MAX_ITER = (32,), 300


def net(seed, **params):
    params = {"hidden_layer_sizes": HIDDEN, "max_iter": MAX_ITER, **params}
    return CostSensitiveMLPClassifier(random_state=seed, **params)


METHODS = {
    "ensemble 10": lambda seed: BalancedEnsembleClassifier(net(seed), 10, random_state=seed),
    "one net": net,
    "bag 10": lambda seed: BalancedBaggingClassifier(
        estimator=MLPClassifier(hidden_layer_sizes=HIDDEN, max_iter=MAX_ITER, random_state=seed),
        n_estimators=10,
        random_state=seed,
    ),
}
ANCHOR = "bag 10"


def epochs(clf):
    n_iter = getattr(clf, "n_iter_", None)
    if n_iter is None:  # the bag: its members' epochs
        return float(np.mean([e.steps[-1][1].n_iter_ for e in clf.estimators_]))
    return float(np.mean(n_iter))


def fit_and_score(clf, X_train, y_train, X_test, y_test):
    """``(ROC AUC, average precision, fit seconds)`` of ``clf`` on one split."""
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    auc, ap = scores(clf, X_test, y_test)
    return auc, ap, elapsed


def print_run_header(seeds):
    """The run's first line: when, where, how loaded, which commit, how many shapes."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, imbnet at git {sha}; "
        f"{len(SUITE)} shapes x {seeds} seeds"
    )


def single_fold(seeds):
    """Issue #25's single-fold case: a row per method, AUC / AP / epochs per seed."""
    X, y = make_classification(2922, 10, weights=[40 / 41], random_state=0)
    print("| method | " + " | ".join(f"seed {s} AUC / AP / epochs" for s in range(seeds)) + " |")
    print("|---|" + "---|" * seeds)
    for method, make in METHODS.items():
        cells = []
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.2, stratify=y, random_state=seed
            )
            scaler = StandardScaler().fit(X_train)
            clf = make(seed)
            auc, ap, _ = fit_and_score(
                clf, scaler.transform(X_train), y_train, scaler.transform(X_test), y_test
            )
            cells.append(f"{auc:.3f} / {ap:.3f} / {epochs(clf):.0f}")
        print(f"| {method} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--per-shape", action="store_true", help="a row per shape too")
    parser.add_argument("--variant", action="append", default=[], help="NAME=JSON member params")
    parser.add_argument("--skip", action="append", default=[], help="leave out this method")
    parser.add_argument("--single-fold", action="store_true", help="issue #25's single fold")
    args = parser.parse_args()
    for method in args.skip:
        del METHODS[method]
    for variant in args.variant:
        name, params = variant.split("=", 1)
        params = json.loads(params)
        own = {k[len("ensemble__") :]: v for k, v in params.items() if k.startswith("ensemble__")}
        params = {k: v for k, v in params.items() if not k.startswith("ensemble__")}
        METHODS[name] = lambda seed, p=params, o=own: BalancedEnsembleClassifier(
            net(seed, **p), 10, random_state=seed, **o
        )
    warnings.simplefilter("ignore")
    print_run_header(args.seeds)
    if args.single_fold:
        single_fold(args.seeds)
        return
    X, y = make_data(300, 11, (0.9, 0.1))
    X3, y3 = make_data(300, 11, (0.80, 0.12, 0.08))
    for make in METHODS.values():  # warm: compile the binary and 3-class programs once
        make(0).fit(X, y)
        make(0).fit(X3, y3)
    results = {m: {"auc": [], "ap": [], "time": [], "epochs": [], "first": []} for m in METHODS}
    per_shape = []
    for shape in SUITE:
        X, y = make_data(*shape)
        row = {m: {"auc": [], "ap": [], "time": []} for m in METHODS}
        X_train, _, y_train, _ = split(X, y, 0)
        for method, make in METHODS.items():
            start = time.perf_counter()
            make(0).fit(X_train, y_train)
            # The programs this fit started compiling in the background belong to the
            # first fit's cost, not to the warm fits they would otherwise slow down.
            wait_for_background_compiles()
            results[method]["first"].append(time.perf_counter() - start)
        for seed in range(args.seeds):
            X_train, X_test, y_train, y_test = split(X, y, seed)
            for method, make in METHODS.items():  # interleaved
                clf = make(seed)
                auc, ap, elapsed = fit_and_score(clf, X_train, y_train, X_test, y_test)
                for store in (results[method], row[method]):
                    store["auc"].append(auc)
                    store["ap"].append(ap)
                    store["time"].append(elapsed)
                results[method]["epochs"].append(epochs(clf))
        per_shape.append((shape, row))
    if args.per_shape:
        print("| shape | " + " | ".join(f"{m} AUC / AP / s" for m in METHODS) + " |")
        print("|---|" + "---|" * len(METHODS))
        for shape, row in per_shape:
            cells = [
                f"{np.mean(r['auc']):.3f} / {np.mean(r['ap']):.3f} / {sum(r['time']):.2f}"
                for r in row.values()
            ]
            print(f"| {shape_name(shape)} {len(shape[2])}-class | " + " | ".join(cells) + " |")
        print()
    if ANCHOR not in results:
        results[ANCHOR] = {"time": [1.0], "first": [1.0]}  # ratios against 1 s
    anchor = sum(results[ANCHOR]["time"])
    first_anchor = sum(results[ANCHOR]["first"])
    print(
        "| method | mean ROC AUC | mean AP | mean epochs | warm fits s (total) | time / bag's "
        "| first fits s (total) | first / bag's |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for method, r in results.items():
        if "auc" not in r:
            continue
        total, first = sum(r["time"]), sum(r["first"])
        print(
            f"| {method} | {np.mean(r['auc']):.4f} | {np.mean(r['ap']):.4f} | "
            f"{np.mean(r['epochs']):.0f} | {total:.1f} | {total / anchor:.2f} | {first:.1f} | "
            f"{first / first_anchor:.2f} |"
        )
    if not all(m in METHODS for m in ("ensemble 10", "one net", "bag 10")):
        return
    ens, one, bag = (results[m] for m in ("ensemble 10", "one net", "bag 10"))
    checks = {
        "ensemble AUC >= bag's": np.mean(ens["auc"]) >= np.mean(bag["auc"]),
        "ensemble AUC >= one net's": np.mean(ens["auc"]) >= np.mean(one["auc"]),
        "ensemble AP >= one net's": np.mean(ens["ap"]) >= np.mean(one["ap"]),
        "ensemble time <= 1/5 bag's": sum(ens["time"]) <= sum(bag["time"]) / 5,
    }
    print()
    for check, ok in checks.items():
        print(f"- {check}: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
