"""Where the time of a small grid search goes with ``n_jobs=1`` and ``n_jobs=2``.

``GridSearchCV`` over :class:`imbnet.CostSensitiveMLPClassifier`: 4 values of
``alpha`` x 2 folds = 8 fits of 750 rows (1,500 rows in all), then the refit.
Every variant runs in a fresh interpreter (nothing imported, nothing
compiled, no worker running), several times in a row there: ``cold`` is the
first search (worker start, ``import tensorflow`` in every worker, XLA
compilation in every worker), ``warm`` the later ones (loky reuses its
workers, which keep their imports and compiled programs).

Variants:

- ``n_jobs=1``: the anchor;
- ``n_jobs=2, TF threads 2+2``: each worker's TensorFlow with the pools it
  takes by default on 2 cores (2 intra-op + 2 inter-op threads per worker);
- ``n_jobs=2, TF threads 1+2``: 1 intra-op thread per worker;
- ``n_jobs=2, imbnet default``: what imbnet sets in a joblib worker
  (imbnet/_worker_threads.py) from joblib's per-worker thread budget
  (``cpu_count // n_jobs``).

A second table splits a worker's start into phases, measured inside the
workers of a fresh pool: process start, ``import imbnet`` + TensorFlow, the
first fit (XLA compilation) and a second fit of the same shape (compiled
program reused).

Timings on a shared machine are noisy: the variants run interleaved,
``--repeats`` times, and the table shows the median with the range.

``--grid issue`` runs issue 25's grid instead: an imbalanced-learn pipeline
``StandardScaler -> RandomUnderSampler -> CostSensitiveMLPClassifier(
hidden_layer_sizes=(32,), max_iter=200)``, ``sampling_strategy`` in
[0.1, 0.3, 1.0] x ``class_weight`` in [None, "balanced", "log", {0: 1, 1: 5}],
``StratifiedKFold(5)``, ``roc_auc``, 2,000 x 10 rows at 1:19 (60 fits and
the refit), then ``cross_val_score`` of the pipeline (5 fits), in a fresh
interpreter per variant: the first search (cold), a second one (warm), and
the cross-validation after them. Variants: ``n_jobs=1``; ``n_jobs=2`` with
joblib's default (loky) backend; ``n_jobs=2`` inside
``joblib.parallel_config(backend="threading")``; and
``imbnet.model_selection.GridSearchCV(n_jobs=2)`` (which trains the fits of
one architecture side by side). The best score of every variant is printed:
they must agree.

    python benchmarks/n_jobs.py [--quick] [--repeats N]
    python benchmarks/n_jobs.py --grid issue [--repeats N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SEARCH = r"""
import json, sys, time
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from imbnet import CostSensitiveMLPClassifier

n_jobs, max_iter, warm_runs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
X, y = make_classification(n_samples=1500, n_features=10, weights=[0.9], random_state=0)
times = []
for run in range(1 + warm_runs):
    t = time.perf_counter()
    GridSearchCV(
        CostSensitiveMLPClassifier(hidden_layer_sizes=(16,), max_iter=max_iter, random_state=0),
        {"alpha": [1e-4, 1e-3, 1e-2, 1e-1]}, cv=2, n_jobs=n_jobs, scoring="roc_auc",
    ).fit(X, y)
    times.append(time.perf_counter() - t)
print(json.dumps({"cold": [times[0]], "warm": times[1:]}))
"""

PHASES = r"""
import json, sys, time
from joblib import Parallel, delayed

def probe(max_iter):
    t0 = time.perf_counter()
    from sklearn.datasets import make_classification
    from imbnet import CostSensitiveMLPClassifier
    import imbnet.classifiers._mlp  # noqa: F401  (imbnet, Keras, TensorFlow)
    t1 = time.perf_counter()
    X, y = make_classification(n_samples=750, n_features=10, weights=[0.9], random_state=0)
    make = lambda: CostSensitiveMLPClassifier(hidden_layer_sizes=(16,), max_iter=max_iter, random_state=0)
    make().fit(X, y)
    t2 = time.perf_counter()
    make().fit(X, y)
    t3 = time.perf_counter()
    return {"import": t1 - t0, "first_fit": t2 - t1, "second_fit": t3 - t2, "started": t0}

n_jobs, max_iter = int(sys.argv[1]), int(sys.argv[2])
start = time.perf_counter()  # CLOCK_MONOTONIC: one clock for every process
if n_jobs == 1:
    results = [probe(max_iter)]
    spawn = 0.0
else:
    results = Parallel(n_jobs=n_jobs)(delayed(probe)(max_iter) for _ in range(n_jobs))
    spawn = min(r["started"] for r in results) - start
print(json.dumps({"spawn": spawn, **{k: max(r[k] for r in results)
                                      for k in ("import", "first_fit", "second_fit")}}))
"""

ISSUE_GRID = r"""
import json, sys, time
from joblib import parallel_config
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from imbnet import CostSensitiveMLPClassifier
import imbnet.classifiers._mlp  # noqa: F401  (imbnet, Keras, TensorFlow: before the clock)

n_jobs, backend, search_class = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if search_class == "imbnet":
    from imbnet.model_selection import GridSearchCV
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
cv = StratifiedKFold(5, shuffle=True, random_state=0)
out = {}
with parallel_config() if backend == "default" else parallel_config(backend=backend):
    for run in ("cold", "warm"):
        t = time.perf_counter()
        search = GridSearchCV(pipe, grid, cv=cv, scoring="roc_auc", n_jobs=n_jobs).fit(X, y)
        out[run] = [time.perf_counter() - t]
    t = time.perf_counter()
    cross_val_score(pipe, X, y, cv=cv, scoring="roc_auc", n_jobs=n_jobs)
    out["cross_val_score"] = [time.perf_counter() - t]
out["best"] = [round(float(search.best_score_), 4)]
print(json.dumps(out))
"""

ISSUE_VARIANTS = {
    "n_jobs=1": (1, "default", "sklearn"),
    "n_jobs=2 (loky)": (2, "default", "sklearn"),
    "n_jobs=2, threading backend": (2, "threading", "sklearn"),
    "imbnet GridSearchCV n_jobs=2": (2, "default", "imbnet"),
}

VARIANTS = {
    "n_jobs=1": (1, {}),
    "n_jobs=2, TF threads 2+2": (2, {"TF_NUM_INTRAOP_THREADS": "2", "TF_NUM_INTEROP_THREADS": "2"}),
    "n_jobs=2, TF threads 1+2": (2, {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "2"}),
    "n_jobs=2, imbnet default": (2, {}),
}


def _run(code, extra_env, *args):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TF_NUM_", "OMP_NUM_THREADS"))
    }
    env.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **extra_env,
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cell(values):
    return f"{statistics.median(values):6.2f} ({min(values):.2f}-{max(values):.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat, 10 epochs per fit")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--grid", choices=["small", "issue"], default="small")
    args = parser.parse_args()
    if args.grid == "issue":
        return _issue_grid(args.repeats)
    repeats = 1 if args.quick else args.repeats
    max_iter = 10 if args.quick else 30
    warm_runs = 2 if args.quick else 3

    searches = {name: {"cold": [], "warm": []} for name in VARIANTS}
    phases = {name: {} for name in VARIANTS}
    for _ in range(repeats):  # interleaved: the machine's load hits every variant alike
        for name, (n_jobs, env) in VARIANTS.items():
            for key, values in _run(SEARCH, env, n_jobs, max_iter, warm_runs).items():
                searches[name][key].extend(values)
            for key, value in _run(PHASES, env, n_jobs, max_iter).items():
                phases[name].setdefault(key, []).append(value)

    anchor = statistics.median(searches["n_jobs=1"]["warm"])
    print(
        f"GridSearchCV, 8 fits of 750 rows + refit, {max_iter} epochs each; seconds, "
        f"median (range): cold of {repeats} fresh processes, warm of {repeats * warm_runs} "
        "searches after the first"
    )
    print(f"{'variant':26s} {'cold':>20s} {'warm':>20s} {'warm / n_jobs=1 warm':>21s}")
    for name, times in searches.items():
        ratio = statistics.median(times["warm"]) / anchor
        print(f"{name:26s} {_cell(times['cold']):>20s} {_cell(times['warm']):>20s} {ratio:21.2f}")
    print()
    print("Phases of a fresh worker (slowest worker; n_jobs=1: the main process), seconds")
    keys = ("spawn", "import", "first_fit", "second_fit")
    print(f"{'variant':26s}" + "".join(f"{key:>20s}" for key in keys))
    for name, values in phases.items():
        print(f"{name:26s}" + "".join(f"{_cell(values[key]):>20s}" for key in keys))


def _issue_grid(repeats):
    times = {name: {} for name in ISSUE_VARIANTS}
    for _ in range(repeats):  # interleaved
        for name, args in ISSUE_VARIANTS.items():
            for key, values in _run(ISSUE_GRID, {}, *args).items():
                times[name].setdefault(key, []).extend(values)
    anchor = {
        key: statistics.median(times["n_jobs=1"][key])
        for key in ("cold", "warm", "cross_val_score")
    }
    print(
        "Issue 25's grid: 60 fits of an imblearn pipeline + refit, 2,000 x 10 at 1:19, "
        f"200 epochs; seconds, median (range) of {repeats} fresh processes; "
        "ratio = time / n_jobs=1's"
    )
    print(
        f"{'variant':30s} {'cold search':>19s} {'ratio':>6s} {'warm search':>19s} "
        f"{'ratio':>6s} {'cross_val_score':>19s} {'ratio':>6s} {'best':>7s}"
    )
    for name, row in times.items():
        cells = "".join(
            f" {_cell(row[key]):>19s} {statistics.median(row[key]) / anchor[key]:6.2f}"
            for key in ("cold", "warm", "cross_val_score")
        )
        print(f"{name:30s}{cells} {row['best'][0]:7.4f}")


if __name__ == "__main__":
    main()
