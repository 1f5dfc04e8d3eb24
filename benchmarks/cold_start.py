"""Cold start: a fresh Python process that imports imbnet and fits one 500-row network.

Issue #25 (item 5): a script that imports imbnet and fits one small network paid
TensorFlow's import, Keras's, and an XLA compilation of the training program. With
XLA's compilations kept on disk (``imbnet.engine._persistent_cache``), a process fitting
an architecture the machine has compiled before reads the compiled program instead. The
cache is on by default only with ``TF_CPP_MIN_LOG_LEVEL=3`` on TensorFlow >= 2.18 (else
TensorFlow logs an error line per program read), so every row below names its setting
(``IMBNET_COMPILE_CACHE``).

Every row is a fresh process (median of ``--repeats``), in the same run:

- ``import tensorflow``: the floor, TensorFlow's bare import;
- scikit-learn: import ``MLPClassifier`` and fit it (the anchor script);
- imbnet, cache off: ``IMBNET_COMPILE_CACHE=0``;
- imbnet, empty cache: a new cache directory every run (compiles and writes);
- imbnet, warm cache: a directory an earlier run filled (the same script before).

Columns: the imports (TensorFlow, then the rest of the script's imports; the anchor
script does not import TensorFlow), the first
fit, the script's wall time (process start to exit, as the parent sees it), peak
resident memory, and the script time above the floor's median. Same network and data
in every imbnet row: ``CostSensitiveMLPClassifier(random_state=0)`` (the default
(100,) network, ``max_iter=200``) on ``make_classification(500, 10, weights=[0.9])``;
``MLPClassifier`` with the same settings. Targets: warm first fit <= 0.3 s; the warm
script <= 1.5 s above the floor. From the project root:

    PYTHONPATH=. python benchmarks/cold_start.py              # ~3 min
    PYTHONPATH=. python benchmarks/cold_start.py --repeats 1
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

_SCRIPT = """
import json, resource, time, warnings
t0 = time.perf_counter()
{tensorflow}
t1 = time.perf_counter()
from sklearn.datasets import make_classification
{imports}
t2 = time.perf_counter()
X, y = make_classification(500, 10, weights=[0.9], random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    clf = {estimator}(random_state=0).fit(X, y)
t3 = time.perf_counter()
clf.predict_proba(X)
print(json.dumps({{
    "tf": t1 - t0, "imports": t2 - t1, "fit": t3 - t2,
    "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "n_iter": int(clf.n_iter_),
}}))
"""

_FLOOR = """
import json, resource, time
t0 = time.perf_counter()
import tensorflow
print(json.dumps({"tf": time.perf_counter() - t0, "imports": 0.0, "fit": 0.0,
    "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "n_iter": 0}))
"""


def _run(code, env):
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    measured["wall"] = wall
    return measured


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    base = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    base.pop("TF_XLA_FLAGS", None)
    imbnet = _SCRIPT.format(
        tensorflow="import tensorflow",
        imports="from imbnet import CostSensitiveMLPClassifier",
        estimator="CostSensitiveMLPClassifier",
    )
    sklearn = _SCRIPT.format(
        tensorflow="",  # the anchor script does not load TensorFlow
        imports="from sklearn.neural_network import MLPClassifier",
        estimator="MLPClassifier",
    )
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        warm = os.path.join(tmp, "warm")
        _run(imbnet, {**base, "IMBNET_COMPILE_CACHE": warm})  # fills the warm cache
        for repeat in range(args.repeats):  # interleaved: the machine's load shifts
            cases = {
                "import tensorflow (floor)": (_FLOOR, base),
                "scikit-learn MLPClassifier (anchor)": (sklearn, base),
                "imbnet, cache off": (imbnet, {**base, "IMBNET_COMPILE_CACHE": "0"}),
                "imbnet, empty cache": (
                    imbnet,
                    {**base, "IMBNET_COMPILE_CACHE": os.path.join(tmp, f"empty{repeat}")},
                ),
                "imbnet, warm cache": (imbnet, {**base, "IMBNET_COMPILE_CACHE": warm}),
            }
            for name, (code, env) in cases.items():
                rows.setdefault(name, []).append(_run(code, env))
    floor = statistics.median(r["wall"] for r in rows["import tensorflow (floor)"])
    anchor = statistics.median(r["wall"] for r in rows["scikit-learn MLPClassifier (anchor)"])
    print(
        f"fresh processes, median of {args.repeats}; 500 x 10 rows, default network "
        f"(100,), max_iter=200\n"
    )
    print(
        "| script | import tensorflow (s) | other imports (s) | first fit (s) | script wall (s) "
        "| × anchor | above the floor (s) | peak RSS (MB) | epochs |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, runs in rows.items():
        median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(
            f"| {name} | {median['tf']:.2f} | {median['imports']:.2f} | {median['fit']:.2f} "
            f"| {median['wall']:.2f} | {median['wall'] / anchor:.2f}× "
            f"| {median['wall'] - floor:+.2f} | {median['rss']:.0f} | {median['n_iter']:.0f} |"
        )


if __name__ == "__main__":
    main()
