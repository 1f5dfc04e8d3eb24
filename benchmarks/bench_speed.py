"""Speed and memory of imbnet's training engine against scikeras, Keras and scikit-learn.

Prints four markdown tables, each followed by its targets (PASS/FAIL):
1. the seed task (cost-sensitive Keras tutorial, 5000 rows, Dense(10), 100 epochs), a fresh
   estimator per fit, imbnet / scikeras KerasClassifier / sklearn MLPClassifier interleaved:
   first fit of the process (imbnet compiles there), median of later fits, time ratios, AUC;
2. imbnet's fixed cost per fit (max_iter=1 + predict_proba), first and later, fresh process;
3. GridSearchCV(cv=5, roc_auc) over class_weight, imbnet vs scikeras, each in a fresh process;
4. 2,000,000 x 50 float32 rows, 2x256 MLP, batch 1024: steady-epoch samples/s and peak-RSS
   increase over the RSS after creating X (as a multiple of X.nbytes, beside the same run on
   20,000 rows), imbnet's two classifiers vs Keras model.fit, each run in its own process.
Parts 2-4 run in child processes (--child). From the project root (full run ~1 h on 2 cores):

    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/bench_speed.py
    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/bench_speed.py --quick --parts 1,2
"""

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import keras
import numpy as np
import scikeras
import sklearn
import tensorflow as tf
from scikeras.wrappers import KerasClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.utils import ClassifierTags

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier, make_tutorial_data

WEIGHTS = {0: 1, 1: 100}
GRID = {"class_weight": [None, {0: 1, 1: 10}, {0: 1, 1: 100}, "balanced"]}


def seed_data():
    X, y = make_tutorial_data()
    return X[:5000], y[:5000], X[5000:], y[5000:]


def tutorial_network(meta):
    """The tutorial's Keras model, as a scikeras model builder."""
    model = keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(10, activation="relu", kernel_initializer="he_uniform"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.01))
    return model


class TaggedKerasClassifier(KerasClassifier):
    """scikeras's KerasClassifier with the classifier tags scikit-learn >= 1.6 needs."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        return tags


def imbnet_seed(seed, epochs, class_weight=WEIGHTS):
    return CostSensitiveMLPClassifier(
        hidden_layer_sizes=(10,),
        kernel_initializer="he_uniform",
        solver="sgd",
        learning_rate_init=0.01,
        momentum=0.0,
        batch_size=32,
        max_iter=epochs,
        n_iter_no_change=max(100, epochs),
        alpha=0.0,
        class_weight=class_weight,
        random_state=seed,
    )


def timed(fn):
    start = time.perf_counter()
    return fn(), time.perf_counter() - start  # (result, seconds)


def verdict(ok):
    return "PASS" if ok else "FAIL"


def part_seed(args):
    X, y, X_test, y_test = seed_data()
    weight = np.where(y == 1, 100.0, 1.0)
    fits = {
        "imbnet CostSensitiveMLPClassifier": lambda s: imbnet_seed(s, args.epochs).fit(X, y),
        "scikeras KerasClassifier": lambda s: KerasClassifier(
            model=tutorial_network,
            epochs=args.epochs,
            batch_size=32,
            verbose=0,
            random_state=s,
        ).fit(X, y, sample_weight=weight),
        "sklearn MLPClassifier": lambda s: MLPClassifier(
            hidden_layer_sizes=(10,),
            solver="sgd",
            learning_rate_init=0.01,
            momentum=0,
            batch_size=32,
            max_iter=args.epochs,
            n_iter_no_change=max(100, args.epochs),
            alpha=0,
            random_state=s,
        ).fit(X, y, sample_weight=weight),
    }
    times, aucs = ({name: [] for name in fits} for _ in range(2))
    for seed in range(args.repeats):
        for name, fit in fits.items():
            model, seconds = timed(lambda: fit(seed))
            times[name].append(seconds)
            aucs[name].append(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))
        print(f"  repeat {seed + 1}/{args.repeats} done", file=sys.stderr, flush=True)
    ref = np.array(times["imbnet CostSensitiveMLPClassifier"][1:])
    print(
        f"\n### 1. Seed task, {args.epochs} epochs, fresh estimator per fit, "
        f"{args.repeats} interleaved repeats\n"
    )
    print(
        "| model | first fit (s) | median later fits (s) | fit time / imbnet | ROC AUC (mean ± sd) |\n"
        "|---|---|---|---|---|"
    )
    ratio = {name: np.median(np.array(times[name][1:]) / ref) for name in fits}
    for name in fits:
        t, a = np.array(times[name]), np.array(aucs[name])
        print(
            f"| {name} | {t[0]:.2f} | {np.median(t[1:]):.3f} | {ratio[name]:.1f} "
            f"| {a.mean():.4f} ± {a.std():.4f} |"
        )
    gap = abs(
        np.mean(aucs["imbnet CostSensitiveMLPClassifier"])
        - np.mean(aucs["scikeras KerasClassifier"])
    )
    print(
        f"\nTargets: scikeras/imbnet ≥ 30: {ratio['scikeras KerasClassifier']:.1f} "
        f"{verdict(ratio['scikeras KerasClassifier'] >= 30)}; MLPClassifier/imbnet ≥ 6: "
        f"{ratio['sklearn MLPClassifier']:.1f} {verdict(ratio['sklearn MLPClassifier'] >= 6)}; "
        f"|AUC imbnet − AUC scikeras| ≤ 0.005: {gap:.4f} {verdict(gap <= 0.005)}. "
        "Ratios: median over repeats 2..n of fit time / imbnet's fit time in the same repeat."
    )


def child_fixed(later):
    X, y, X_test, _ = seed_data()
    times = [
        timed(lambda: imbnet_seed(i, 1).fit(X, y).predict_proba(X_test))[1]
        for i in range(later + 1)
    ]
    return {"first": times[0], "later": times[1:]}


def part_fixed(args):
    r = run_child("fixed", later=args.later)
    median = float(np.median(r["later"]))
    print("\n### 2. imbnet fixed cost per fit (fresh process)\n")
    print(
        "| fit(max_iter=1) + predict_proba(5000 rows) | first in process (s) | "
        f"median of {args.later} later (s) |\n|---|---|---|"
    )
    print(f"| seed task, CostSensitiveMLPClassifier | {r['first']:.2f} | {median:.3f} |")
    print(f"\nTarget: later fits ≤ 0.3 s: {median:.3f} s {verdict(median <= 0.3)}.")


def child_search(which, epochs):
    X, y, _, _ = seed_data()
    estimator = (
        imbnet_seed(0, epochs, class_weight=None)
        if which == "imbnet"
        else TaggedKerasClassifier(
            model=tutorial_network,
            epochs=epochs,
            batch_size=32,
            verbose=0,
            random_state=0,
            class_weight=None,
        )
    )
    search, seconds = timed(
        lambda: GridSearchCV(estimator, GRID, cv=5, scoring="roc_auc").fit(X, y)
    )
    scores = search.cv_results_["mean_test_score"]
    return {
        "seconds": seconds,
        "best": repr(search.best_params_["class_weight"]),
        "score": float(search.best_score_),
        "n_nan": int(np.isnan(scores).sum()),
    }


def part_search(args):
    epochs = 5 if args.quick else 100
    runs = [("imbnet (run 1)", "imbnet"), ("scikeras", "scikeras"), ("imbnet (run 2)", "imbnet")]
    results = {label: run_child("search", which=which, epochs=epochs) for label, which in runs}
    print(
        f"\n### 3. GridSearchCV(cv=5, roc_auc) over 4 class_weight values, {epochs} epochs, 21 fits, "
        "fresh process each\n\n| search | wall time (s) | best class_weight | best mean ROC AUC "
        "| NaN scores |\n|---|---|---|---|---|"
    )
    for label, r in results.items():
        print(f"| {label} | {r['seconds']:.1f} | {r['best']} | {r['score']:.4f} | {r['n_nan']} |")
    imbnet = np.mean([results[k]["seconds"] for k in ("imbnet (run 1)", "imbnet (run 2)")])
    ratio = results["scikeras"]["seconds"] / imbnet
    print(
        f"\nTarget: scikeras / imbnet (mean of both runs) ≥ 20: {ratio:.1f} {verdict(ratio >= 20)}."
    )


def make_large(n, d=50, seed=0):
    """X float32 filled in place (no float64 temporary), y by a noisy linear rule, 1% positive."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, d), dtype=np.float32)
    rng.standard_normal(dtype=np.float32, out=X)
    score = X @ rng.standard_normal(d).astype(np.float32) + rng.standard_normal(n, dtype=np.float32)
    return X, (score > np.quantile(score, 0.99)).astype(np.int64)


def large_network(meta=None, jit_compile=None):
    """The 2x256 MLP: compiled (adam) for plain Keras, uncompiled for imbnet (which uses adam)."""
    hidden = [keras.layers.Dense(256, activation="relu") for _ in range(2)]
    model = keras.Sequential(
        [keras.Input((50,)), *hidden, keras.layers.Dense(1, activation="sigmoid")]
    )
    if jit_compile is not None:
        model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", jit_compile=jit_compile)
    return model


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        float(logs["loss"])  # wait for the epoch's work to finish
        self.times.append(time.perf_counter() - self._start)


def maxrss_bytes():  # peak resident set size of this process; Linux reports KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_large(config, n):
    X, y = make_large(n)
    baseline = maxrss_bytes()
    timer = EpochTimer()
    if config == "imbnet MLP":
        mlp = lambda epochs: CostSensitiveMLPClassifier(  # noqa: E731
            hidden_layer_sizes=(256, 256),
            batch_size=1024,
            max_iter=epochs,
            n_iter_no_change=100,
            alpha=0.0,
            random_state=0,
        ).fit(X, y)
        _, first = timed(lambda: mlp(1))  # compiles
        _, one = timed(lambda: mlp(1))  # cached loop
        _, three = timed(lambda: mlp(3))  # cached loop
        epoch = (three - one) / 2  # steady epoch, fixed costs cancel
    elif config == "imbnet batch_ratio=1":
        ResampledKerasClassifier(
            model=large_network,
            batch_ratio=1,
            batch_size=1024,
            epochs=2,
            callbacks=[timer],
            random_state=0,
        ).fit(X, y)
        first, epoch = timer.times
    else:
        model = large_network(jit_compile=config.endswith("jit_compile=True"))
        model.fit(X, y.astype(np.float32), batch_size=1024, epochs=3, verbose=0, callbacks=[timer])
        first, epoch = timer.times[0], float(np.mean(timer.times[1:]))
    return {
        "first": first,
        "epoch": epoch,
        "rate": n / epoch,
        "increase": maxrss_bytes() - baseline,
        "nbytes": X.nbytes,
    }


LARGE_CONFIGS = [
    "imbnet MLP",
    "imbnet batch_ratio=1",
    "Keras model.fit",
    "Keras model.fit jit_compile=True",
]


def part_large(args):
    n = 200_000 if args.quick else 2_000_000
    small = {c: run_child("large", config=c, n=20_000) for c in LARGE_CONFIGS}
    big = {c: [] for c in LARGE_CONFIGS}
    for round_ in range(args.rounds):
        for c in LARGE_CONFIGS:
            big[c].append(run_child("large", config=c, n=n))
            print(f"  round {round_ + 1}: {c} done", file=sys.stderr, flush=True)
    rate = {c: float(np.median([r["rate"] for r in rs])) for c, rs in big.items()}
    peak = {c: max(r["increase"] for r in rs) for c, rs in big.items()}
    nbytes = big[LARGE_CONFIGS[0]][0]["nbytes"]
    print(
        f"\n### 4. Large data: {n:,} × 50 float32 (X = {nbytes / 2**20:.0f} MiB), 2×256 relu MLP, "
        f"batch 1024, adam; each run in its own process, {args.rounds} interleaved round(s)\n"
    )
    print(
        "| configuration | first epoch incl. compile (s) | steady epoch (s) | samples/s | vs model.fit "
        "| vs model.fit jit | peak RSS increase (MiB) | increase / X.nbytes | same on 20k rows (MiB) "
        "| (increase − 20k-row increase) / X.nbytes |\n" + "|---" * 10 + "|"
    )
    for c, rs in big.items():
        first, epoch = (np.median([r[key] for r in rs]) for key in ("first", "epoch"))
        print(
            f"| {c} | {first:.1f} | {epoch:.1f} "
            f"| {rate[c]:,.0f} | {rate[c] / rate['Keras model.fit']:.2f} "
            f"| {rate[c] / rate['Keras model.fit jit_compile=True']:.2f} | {peak[c] / 2**20:.0f} "
            f"| {peak[c] / nbytes:.2f} | {small[c]['increase'] / 2**20:.0f} "
            f"| {(peak[c] - small[c]['increase']) / nbytes:.2f} |"
        )
    print(
        "\nSteady epoch: imbnet MLP (fit(max_iter=3) − fit(max_iter=1)) / 2 on a cached loop; "
        "imbnet batch_ratio=1 its 2nd epoch; Keras mean of epochs 2-3. Peak RSS: max over rounds."
    )
    for c in LARGE_CONFIGS[:2]:
        inc, fast = peak[c] / nbytes, rate[c] / rate["Keras model.fit"]
        print(
            f"Targets, {c}: peak increase ≤ 1.5 × X: {inc:.2f} {verdict(inc <= 1.5)}; "
            f"samples/s ≥ 0.9 × Keras model.fit: {fast:.2f} {verdict(fast >= 0.9)}."
        )


CHILDREN = {"fixed": child_fixed, "search": child_search, "large": child_large}


def run_child(task, **kwargs):
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        json.dumps({"task": task, **kwargs}),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"child {task} {kwargs} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def header():
    commit = (
        subprocess.run(
            [
                "git",
                "-C",
                os.path.dirname(os.path.abspath(__file__)),
                "rev-parse",
                "--short",
                "HEAD",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        or "unknown"
    )
    return "\n".join(
        [
            f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}, "
            f"os.cpu_count(): {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}",
            f"- python {sys.version.split()[0]}, keras {keras.__version__}, tensorflow {tf.__version__}, "
            f"scikit-learn {sklearn.__version__}, scikeras {scikeras.__version__}, numpy {np.__version__}, "
            f"imbnet git {commit}",
            f"- command: {' '.join(['python', *sys.argv])}",
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: fewer repeats, epochs, rows"
    )
    parser.add_argument("--parts", default="1,2,3,4", help="comma-separated parts to run, e.g. 1,4")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # MLP runs all max_iter epochs
    if args.child:
        spec = json.loads(args.child)
        return print(json.dumps(CHILDREN[spec.pop("task")](**spec)), flush=True)
    args.repeats, args.epochs, args.later, args.rounds = (
        (2, 5, 3, 1) if args.quick else (5, 100, 10, 3)
    )
    print(header(), flush=True)
    for part in args.parts.split(","):
        {"1": part_seed, "2": part_fixed, "3": part_search, "4": part_large}[part.strip()](args)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
