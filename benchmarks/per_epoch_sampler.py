"""A sampler redrawn every epoch against the same sampler applied once in a pipeline (#25 item 3).

On the small-data suite of ``benchmarks/ensemble_suite.py`` (the ``bench_small.py`` shapes of
180-4,000 rows, binary and 3-class, a stratified held-out 30%, several split seeds), interleaved in
one process, the same network (32 relu units, adam 1e-3, batch 200, at most 200 epochs):

- ``per-epoch RUS, early stopping``: ``ResampledKerasClassifier(build, sampler=RandomUnderSampler(),
  early_stopping=True)``: a fresh under-sample every epoch, stopping on the hold-out's loss with
  its classes weighted to the draws' mix (balanced);
- ``per-epoch RUS, 200 epochs``: the same without a stopping rule (as ``imbnet compare``'s
  ``undersample`` strategy trains);
- ``ensemble 10, sampler=RUS``: ``BalancedEnsembleClassifier(CostSensitiveMLPClassifier(
  hidden_layer_sizes=(32,), max_iter=200), n_estimators=10, sampler=RandomUnderSampler())``: ten
  networks side by side, each its own fresh under-sample every epoch (``--skip`` it to leave it out);
- ``pipeline RUS once`` (the anchor): imbalanced-learn's ``make_pipeline(RandomUnderSampler(),
  CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=200))``: one under-sample per
  fit, scikit-learn's ``tol`` rule.

Each method is fitted once per shape first (untimed: compilation, and the programs those fits
start compiling in the background, waited for before the timed fits). Columns: mean ROC AUC and
average precision (macro one-vs-rest for 3 classes), mean epochs, warm fit time and its ratio
to the anchor's. Target: the per-epoch sampler's mean AUC >= the pipeline's.

    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/per_epoch_sampler.py [--seeds 2]
"""

import argparse
import warnings

import keras
import numpy as np
from bench_small import make_data, shape_name, split, wait_for_background_compiles
from ensemble_suite import SUITE, fit_and_score, print_run_header
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler

from imbnet import BalancedEnsembleClassifier, CostSensitiveMLPClassifier, ResampledKerasClassifier

EPOCHS = 200


def build(meta):
    binary = meta["n_classes_"] == 2
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(
                1 if binary else meta["n_classes_"], activation="sigmoid" if binary else "softmax"
            ),
        ]
    )


def per_epoch(seed, **params):
    return ResampledKerasClassifier(
        build,
        sampler=RandomUnderSampler(),
        epochs=EPOCHS,
        batch_size=200,
        optimizer__learning_rate=1e-3,
        random_state=seed,
        **params,
    )


METHODS = {
    "per-epoch RUS, early stopping": lambda seed: per_epoch(seed, early_stopping=True),
    "per-epoch RUS, 200 epochs": per_epoch,
    "ensemble 10, sampler=RUS": lambda seed: BalancedEnsembleClassifier(
        CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=EPOCHS),
        n_estimators=10,
        sampler=RandomUnderSampler(),
        random_state=seed,
    ),
    "pipeline RUS once": lambda seed: make_pipeline(
        RandomUnderSampler(random_state=seed),
        CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=EPOCHS, random_state=seed),
    ),
}
ANCHOR = "pipeline RUS once"


def epochs(clf):
    """Epochs run (an ensemble's: its members' mean)."""
    n_iter = getattr(clf, "n_iter_", None)
    return float(np.mean(n_iter if n_iter is not None else clf[-1].n_iter_))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--per-shape", action="store_true", help="a row per shape too")
    parser.add_argument("--skip", action="append", default=[], help="leave out this method")
    args = parser.parse_args()
    for method in args.skip:
        del METHODS[method]
    warnings.simplefilter("ignore")
    print_run_header(args.seeds)
    results = {m: {"auc": [], "ap": [], "time": [], "epochs": []} for m in METHODS}
    rows = []
    for shape in SUITE:
        X, y = make_data(*shape)
        X_train, _, y_train, _ = split(X, y, 0)
        for make in METHODS.values():  # the first fit of the shape: compilation, untimed
            make(0).fit(X_train, y_train)
        wait_for_background_compiles()  # the compilations those fits started, untimed too
        row = {m: [] for m in METHODS}
        for seed in range(args.seeds):
            X_train, X_test, y_train, y_test = split(X, y, seed)
            for method, make in METHODS.items():  # interleaved
                clf = make(seed)
                auc, ap, elapsed = fit_and_score(clf, X_train, y_train, X_test, y_test)
                r = results[method]
                r["auc"].append(auc)
                r["ap"].append(ap)
                r["time"].append(elapsed)
                r["epochs"].append(epochs(clf))
                row[method].append(auc)
        rows.append((shape, row))
    if args.per_shape:
        print("| shape | " + " | ".join(f"{m} AUC" for m in METHODS) + " |")
        print("|---|" + "---|" * len(METHODS))
        for shape, row in rows:
            cells = [f"{np.mean(v):.3f}" for v in row.values()]
            print(f"| {shape_name(shape)} {len(shape[2])}-class | " + " | ".join(cells) + " |")
        print()
    anchor = results[ANCHOR]
    print(
        "| method | mean ROC AUC | mean AP | mean epochs | warm fits s (total) | time / anchor's |"
    )
    print("|---|---|---|---|---|---|")
    for method, r in results.items():
        print(
            f"| {method} | {np.mean(r['auc']):.4f} | {np.mean(r['ap']):.4f} | "
            f"{np.mean(r['epochs']):.0f} | {sum(r['time']):.1f} | "
            f"{sum(r['time']) / sum(anchor['time']):.2f} |"
        )
    print()
    for method in METHODS:
        if method != ANCHOR:
            ok = np.mean(results[method]["auc"]) >= np.mean(anchor["auc"])
            print(f"- {method}: mean AUC >= the pipeline's: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
