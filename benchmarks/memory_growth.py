"""Resident memory over many consecutive fits in one process, as GridSearchCV makes them.

Each row runs in a fresh child process: ``--warmup`` fits (the first fit compiles),
then ``--fits`` more, each a new estimator and a new small model (300 x 8 rows, one
hidden layer of 8 units, 3 epochs, predict_proba on the training rows). RSS is read
from /proc/self/status (VmRSS) after ``gc.collect()`` and glibc's ``malloc_trim``:

- RSS after warm-up, at the end, and the largest value seen after warm-up;
- growth = end - after warm-up; peak growth = largest - after warm-up;
- the last column compares growth per fit with the anchor's growth per fit.

Rows: imbnet's two classifiers (ResampledKerasClassifier plain and with SMOTE), a
GridSearchCV(cv=5) over 20 candidates (100 fits and a refit) run twice, imbnet with Keras's
process-wide layer names (how it ran before imbnet._naming, to show what that
fixed), and two anchors without any cleanup between fits: plain Keras (a new model
and ``model.fit`` each time) and scikeras's KerasClassifier. From the project root:

    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/memory_growth.py
    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/memory_growth.py --fits 30 --rows imbnet-mlp

Target: growth <= 50 MB over 100 fits after warm-up, for every imbnet row but two: the
row with Keras's global layer names (the state before the fix) and the search over 20
architectures, whose first pass compiles 20 networks: TensorFlow keeps every XLA
compilation for the life of the process, so that row measures the cost per architecture
(its growth / 20), and its second pass shows that nothing more is kept.
"""

import argparse
import contextlib
import ctypes
import datetime
import gc
import json
import os
import subprocess
import sys
import time

try:
    _libc = ctypes.CDLL("libc.so.6")
except OSError:  # not glibc
    _libc = None

TARGET_MB = 50.0
ANCHOR = "keras-model.fit"
ROWS = {
    "imbnet-mlp": "imbnet CostSensitiveMLPClassifier",
    "imbnet-resampled": "imbnet ResampledKerasClassifier",
    "imbnet-resampled-smote": "imbnet ResampledKerasClassifier + SMOTE (re-drawn every epoch)",
    "imbnet-gridsearch": "imbnet GridSearchCV(cv=5) over 20 candidates of CostSensitiveMLPClassifier, twice",
    "imbnet-gridsearch-architectures": "imbnet GridSearchCV(cv=5) over 20 hidden_layer_sizes, twice",
    "imbnet-global-names": "imbnet CostSensitiveMLPClassifier, Keras's global layer names (before the fix)",
    ANCHOR: "anchor: Keras, new model + model.fit each time, no cleanup",
    "scikeras": "anchor: scikeras KerasClassifier, no cleanup",
}


def rss_mb():
    """Resident set size after a garbage collection and, on glibc, ``malloc_trim``.

    glibc keeps freed memory mapped until it can give it back (tens of MB here
    after the first compilations), so without trimming, RSS stays flat while new
    allocations fill that slack and then drops by the slack at an unpredictable fit.
    """
    gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def child(row, fits, warmup):
    import keras
    from sklearn.datasets import make_classification

    import imbnet.classifiers._base
    from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier

    X, y = make_classification(n_samples=300, n_features=8, weights=[0.9], random_state=0)

    def network(meta=None, units=8):
        model = keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(units, activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        return model

    def compiled_network(meta=None):
        model = network()
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    def mlp(i):
        return CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=i)

    def fit_keras(i):
        model = compiled_network()
        model.fit(X, y, epochs=3, batch_size=32, verbose=0)
        model.predict(X, verbose=0)

    def fit_scikeras(i):
        from scikeras.wrappers import KerasClassifier

        KerasClassifier(compiled_network, epochs=3, batch_size=32, verbose=0, random_state=i).fit(
            X, y
        ).predict_proba(X)

    def fit_resampled(i, **params):
        ResampledKerasClassifier(network, epochs=3, random_state=i, **params).fit(
            X, y
        ).predict_proba(X)

    fit_one = {
        "imbnet-mlp": lambda i: mlp(i).fit(X, y).predict_proba(X),
        "imbnet-resampled": fit_resampled,
        "imbnet-resampled-smote": lambda i: fit_resampled(i, sampler=_smote()),
        "imbnet-global-names": lambda i: mlp(i).fit(X, y).predict_proba(X),
        ANCHOR: fit_keras,
        "scikeras": fit_scikeras,
    }
    if row == "imbnet-global-names":
        imbnet.classifiers._base.private_layer_names = contextlib.nullcontext

    def run_search():
        from sklearn.model_selection import GridSearchCV

        if row == "imbnet-gridsearch-architectures":
            grid = {"hidden_layer_sizes": [(units,) for units in range(4, 24)]}
        else:
            grid = {
                "class_weight": [None, "balanced", "log", {0: 1, 1: 10}],
                "alpha": [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
            }
        GridSearchCV(mlp(0), grid, cv=5, scoring="roc_auc").fit(X, y)

    start = time.perf_counter()
    for i in range(warmup):
        (fit_one.get(row) or fit_one["imbnet-mlp"])(i)
    after_warmup = peak = rss_mb()
    n_fits = fits
    extra = {}
    if row.startswith("imbnet-gridsearch"):
        run_search()
        n_fits = 20 * 5 + 1
        peak = max(peak, rss_mb())
        extra["first_search_end"] = rss_mb()
        run_search()  # the same search again: what the first one kept is reused
        n_fits *= 2
    else:
        for i in range(fits):
            fit_one[row](warmup + i)
            peak = max(peak, rss_mb())
    end = rss_mb()
    return {
        "fits": n_fits,
        "after_warmup": after_warmup,
        "end": end,
        "peak": max(peak, end),
        "seconds": time.perf_counter() - start,
        **extra,
    }


def _smote():
    from imblearn.over_sampling import SMOTE

    return SMOTE(k_neighbors=3)


def run_child(row, fits, warmup):
    result = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            row,
            "--fits",
            str(fits),
            "--warmup",
            str(warmup),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def environment():
    import keras
    import numpy
    import scikeras
    import sklearn
    import tensorflow

    commit = subprocess.run(
        ["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return (
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}, os.cpu_count(): "
        f"{os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}\n"
        f"- python {sys.version.split()[0]}, keras {keras.__version__}, tensorflow "
        f"{tensorflow.__version__}, scikit-learn {sklearn.__version__}, scikeras "
        f"{scikeras.__version__}, numpy {numpy.__version__}, imbnet git {commit}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--rows", default=",".join(ROWS), help="comma-separated: " + ", ".join(ROWS)
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.fits, args.warmup)))
        return
    rows = args.rows.split(",")
    results = {}
    for row in rows:
        results[row] = run_child(row, args.fits, args.warmup)
        print(f"  {row} done ({results[row]['seconds']:.0f} s)", file=sys.stderr, flush=True)
    print(environment())
    print(
        f"\n| run | fits after {args.warmup} warm-up | RSS after warm-up (MB) | RSS at end (MB) "
        "| growth (MB) | peak growth (MB) | growth per fit / anchor's |\n|---|---|---|---|---|---|---|"
    )
    anchor = results.get(ANCHOR)
    anchor_rate = (anchor["end"] - anchor["after_warmup"]) / anchor["fits"] if anchor else None
    for row, r in results.items():
        growth = r["end"] - r["after_warmup"]
        ratio = f"{growth / r['fits'] / anchor_rate:.2f}" if anchor_rate else "n/a"
        print(
            f"| {ROWS[row]} | {r['fits']} | {r['after_warmup']:.1f} | {r['end']:.1f} | "
            f"{growth:+.1f} | {r['peak'] - r['after_warmup']:+.1f} | {ratio} |"
        )
        if "first_search_end" in r:
            first = r["first_search_end"] - r["after_warmup"]
            print(
                f"| ... of which the first search | {r['fits'] // 2} | {r['after_warmup']:.1f} | "
                f"{r['first_search_end']:.1f} | {first:+.1f} | | |"
            )
    not_checked = ("imbnet-global-names", "imbnet-gridsearch-architectures")
    checked = [row for row in results if row.startswith("imbnet") and row not in not_checked]
    worst = max(
        (results[row]["peak"] - results[row]["after_warmup"] for row in checked), default=0.0
    )
    if "imbnet-gridsearch-architectures" in results:
        r = results["imbnet-gridsearch-architectures"]
        print(
            f"\nSearch over 20 architectures: {(r['first_search_end'] - r['after_warmup']) / 20:.1f} "
            f"MB per compiled architecture in the first pass, {r['end'] - r['first_search_end']:+.1f} "
            "MB in the second."
        )
    print(
        f"\nTarget: growth <= {TARGET_MB:.0f} MB after warm-up for every imbnet row (peak growth "
        f"counted): worst {worst:+.1f} MB {'PASS' if worst <= TARGET_MB else 'FAIL'}."
    )


if __name__ == "__main__":
    main()
