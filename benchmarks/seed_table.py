"""Seed table: imbnet against the cost-sensitive neural network tutorial.

Reproduces the table of Jason Brownlee's tutorial on cost-sensitive neural
networks for imbalanced classification (Keras class weights), which reports a
test ROC AUC of 0.949 unweighted and 0.973 with class_weight {0: 1, 1: 100}.

Data: ``make_classification(n_samples=10000, n_features=2, n_redundant=0,
n_clusters_per_class=2, weights=[0.99], flip_y=0, random_state=4)``; the first
5000 rows train, the last 5000 test. Model: Dense(10, relu, he_uniform) and a
sigmoid output, plain SGD (learning rate 0.01, no momentum), batch 32, a fixed
number of epochs (no early stopping), no L2 penalty. (imbnet's
kernel_initializer also initialises its output layer with he_uniform; the
tutorial's network keeps Keras's default glorot_uniform there.)

Rows: imbnet's ``CostSensitiveMLPClassifier`` unweighted, with the tutorial's
class weights, "balanced", "log" and focal loss; as anchors in the same run,
scikeras's ``KerasClassifier`` on the tutorial's Keras network and
scikit-learn's ``MLPClassifier``, each unweighted and with weight 100 on the
minority class. Every row is fitted once per seed, seeds interleaved (for each
seed, every row) so that machine load affects all rows alike.

Printed per row: mean +- sd (over seeds) of test ROC AUC and average
precision, the median fit time in seconds, and the median over seeds of the
row's fit time divided by the fit time of imbnet's weighted row on the same
seed. The output is a markdown table.

Run from the project root (15-25 minutes on 2 cores with the defaults):

    python benchmarks/seed_table.py
    python benchmarks/seed_table.py --seeds 2 --epochs 5   # quick check
"""

import argparse
import datetime
import os
import platform
import subprocess
import time
import warnings

import keras
import numpy as np
import scikeras
import sklearn
import tensorflow as tf
from scikeras.wrappers import KerasClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neural_network import MLPClassifier

import imbnet
from imbnet import CostSensitiveMLPClassifier, make_tutorial_data

TUTORIAL_WEIGHTS = {0: 1, 1: 100}
REFERENCE = "imbnet class_weight={0: 1, 1: 100}"


def load_data():
    X, y = make_tutorial_data()
    return X[:5000], y[:5000], X[5000:], y[5000:]


def tutorial_network(meta):
    """The tutorial's Keras model, as a scikeras model builder."""
    model = keras.Sequential(
        [
            keras.Input(shape=(meta["n_features_in_"],)),
            keras.layers.Dense(10, activation="relu", kernel_initializer="he_uniform"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.01))
    return model


def make_rows(epochs):
    """Row name -> fit(seed, X, y) returning the fitted estimator."""

    def imbnet(**extra):
        def fit(seed, X, y):
            return CostSensitiveMLPClassifier(
                hidden_layer_sizes=(10,),
                kernel_initializer="he_uniform",
                solver="sgd",
                learning_rate_init=0.01,
                momentum=0.0,
                batch_size=32,
                max_iter=epochs,
                n_iter_no_change=epochs,
                alpha=0.0,
                random_state=seed,
                **extra,
            ).fit(X, y)

        return fit

    def scikeras(class_weight=None):
        def fit(seed, X, y):
            return KerasClassifier(
                model=tutorial_network,
                epochs=epochs,
                batch_size=32,
                verbose=0,
                random_state=seed,
                class_weight=class_weight,
            ).fit(X, y)

        return fit

    def mlp(minority_weight=None):
        def fit(seed, X, y):
            model = MLPClassifier(
                hidden_layer_sizes=(10,),
                solver="sgd",
                learning_rate_init=0.01,
                momentum=0,
                batch_size=32,
                max_iter=epochs,
                n_iter_no_change=epochs,
                alpha=0,
                random_state=seed,
            )
            weight = None if minority_weight is None else np.where(y == 1, minority_weight, 1.0)
            return model.fit(X, y, sample_weight=weight)

        return fit

    return {
        "imbnet unweighted": imbnet(),
        REFERENCE: imbnet(class_weight=TUTORIAL_WEIGHTS),
        'imbnet class_weight="balanced"': imbnet(class_weight="balanced"),
        'imbnet class_weight="log"': imbnet(class_weight="log"),
        'imbnet loss="focal"': imbnet(loss="focal"),
        "scikeras unweighted": scikeras(),
        "scikeras class_weight={0: 1, 1: 100}": scikeras(TUTORIAL_WEIGHTS),
        "sklearn MLPClassifier unweighted": mlp(),
        "sklearn MLPClassifier sample_weight=100 on minority": mlp(100.0),
    }


def imbnet_commit():
    """The git commit of the imbnet being measured, "+dirty" if imbnet/ has edits."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(imbnet.__file__)))
    try:
        git = ["git", "-C", root]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "imbnet"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def mean_sd(values, digits=3):
    """``mean ± sd`` of ``values`` (sample sd; 0 for a single value)."""
    values = np.asarray(values)
    sd = values.std(ddof=1 if len(values) > 1 else 0)
    return f"{values.mean():.{digits}f} ± {sd:.{digits}f}"


def header():
    return "\n".join(
        [
            f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
            f"- imbnet {imbnet.__version__} (git {imbnet_commit()}), scikeras {scikeras.__version__}",
            f"- python {platform.python_version()}, keras {keras.__version__}, "
            f"tensorflow {tf.__version__}, scikit-learn {sklearn.__version__}",
            f"- os.cpu_count(): {os.cpu_count()}, GPUs: {len(tf.config.list_physical_devices('GPU'))}",
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds, 0..N-1")
    parser.add_argument("--epochs", type=int, default=100, help="training epochs of every row")
    args = parser.parse_args()
    # MLPClassifier warns that it "hasn't converged" whenever it runs all
    # max_iter epochs, which is what every row here is asked to do.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    print(header())
    print(
        f"- command: python benchmarks/seed_table.py --seeds {args.seeds} --epochs {args.epochs}\n",
        flush=True,
    )

    X_train, y_train, X_test, y_test = load_data()
    rows = make_rows(args.epochs)
    # Untimed warm-up: the first fit of a process pays for TensorFlow's start-up.
    for fit in make_rows(1).values():
        fit(0, X_train, y_train)

    results = {name: {"auc": [], "ap": [], "time": []} for name in rows}
    for seed in range(args.seeds):
        for name, fit in rows.items():
            start = time.perf_counter()
            model = fit(seed, X_train, y_train)
            seconds = time.perf_counter() - start
            score = model.predict_proba(X_test)[:, 1]
            results[name]["auc"].append(roc_auc_score(y_test, score))
            results[name]["ap"].append(average_precision_score(y_test, score))
            results[name]["time"].append(seconds)
        print(f"seed {seed} done", flush=True)

    reference = np.array(results[REFERENCE]["time"])
    print("\n| model | ROC AUC | average precision | median fit (s) | fit time / imbnet weighted |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        seconds = np.array(r["time"])
        print(
            f"| {name} | {mean_sd(r['auc'])} | {mean_sd(r['ap'])} "
            f"| {np.median(seconds):.1f} | {np.median(seconds / reference):.2f} |"
        )
    print(
        f"\n{args.seeds} seeds (0..{args.seeds - 1}), {args.epochs} epochs, "
        f"{len(y_train)} train rows ({y_train.sum()} positive), "
        f"{len(y_test)} test rows ({y_test.sum()} positive)."
    )


if __name__ == "__main__":
    main()
