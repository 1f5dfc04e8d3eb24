"""Later input widths in fresh processes: is their program read from the disk cache?

An architecture met at a second input-width bucket on small data trains on its 64-input
program, and the bucket's own program compiles in the background after that fit
(``imbnet.engine._program_cache``). The script below does what a user's loop does: a fit
at 10 features, one at 20 (the second bucket), then six more fits at 10 features while
the background compiles. Each run is a fresh process; all runs of a tree share one new
compile-cache directory, so every run after the first should read every program and the
cache should stop growing.

Rows, per tree: the script with the cache off (``IMBNET_COMPILE_CACHE=0``, the anchor),
then ``--runs`` runs on one new cache. Columns: wall time of the process, its ratio to
the anchor, and the cache entries after the run. From the project root:

    PYTHONPATH=. python benchmarks/later_widths.py                 # ~1 min
    python benchmarks/later_widths.py --trees /path/to/old,.       # before / after
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

_SCRIPT = """
import warnings
warnings.simplefilter("ignore")
from sklearn.datasets import make_classification
from imbnet import CostSensitiveMLPClassifier
from imbnet.engine._program_cache import wait_for_background_compiles

def data(width, seed=0):
    return make_classification(n_samples=400, n_features=width, n_informative=2,
                               n_redundant=0, weights=[0.85], random_state=seed)

params = dict(hidden_layer_sizes=(24,), max_iter=30)
for width in (10, 20):
    CostSensitiveMLPClassifier(**params, random_state=0).fit(*data(width))
for seed in range(6):  # beside the background compile of the 20-feature bucket's program
    CostSensitiveMLPClassifier(**params, random_state=seed).fit(*data(10, seed))
wait_for_background_compiles()
"""


def _entries(directory):
    return sum(len(files) for _, _, files in os.walk(directory))


def _run(tree, cache):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree), IMBNET_COMPILE_CACHE=cache)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    start = time.perf_counter()
    # Run elsewhere: "python -c" puts the working directory first on the path.
    subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env=env,
        check=True,
        capture_output=True,
        cwd=tempfile.gettempdir(),
    )
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="runs on one new cache")
    parser.add_argument(
        "--trees", default=".", help="comma-separated source trees (default: this one)"
    )
    args = parser.parse_args()
    print(f"{'tree':<28} {'run':<16} {'wall s':>7} {'/ cache off':>11} {'entries':>8}")
    for tree in args.trees.split(","):
        anchor = _run(tree, "0")
        print(f"{tree:<28} {'cache off':<16} {anchor:7.2f} {1.0:10.2f}x {'-':>8}")
        with tempfile.TemporaryDirectory() as cache:
            for run in range(1, args.runs + 1):
                wall = _run(tree, cache)
                label = "empty cache" if run == 1 else f"run {run}"
                print(
                    f"{tree:<28} {label:<16} {wall:7.2f} {wall / anchor:10.2f}x "
                    f"{_entries(cache):8d}"
                )


if __name__ == "__main__":
    main()
