"""A grid search over a GANOverSampler pipeline in a fresh process, beside SMOTE's.

What a user runs to choose the sampling ratio: ``GridSearchCV`` over
``Pipeline([sampler, StandardScaler(), CostSensitiveMLPClassifier((32,),
max_iter=100)])``, ``{"<sampler>__sampling_strategy": [0.5, 1.0]}``,
``StratifiedKFold(3)``, ``roc_auc``, on the overlapping 2,000-row set of
``generative_oversampling.py`` (1:20). The folds (1,333 rows) and the refit (2,000
rows) differ in size, so a program compiled per data size compiles again for the
refit. Each run is a fresh process with the compile cache off
(``IMBNET_COMPILE_CACHE=0``): it includes every compilation, not TensorFlow's import.

Rows: the sampler (``SMOTE``, the anchor, or ``GANOverSampler``), per source tree;
columns: the search's wall time (median and range of ``--repeats`` runs), its ratio
to SMOTE's search in the same tree, and the best score (the same in every tree). A
second table: the default sampler's first fit in a fresh process (tracing and
compiling its training) and a second fit, with a checksum of the synthetic rows.
From the project root:

    PYTHONPATH=. python benchmarks/gan_search.py                    # ~3 min
    python benchmarks/gan_search.py --trees /path/to/old,.          # before / after
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

_SCRIPT = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from imbnet import CostSensitiveMLPClassifier, GANOverSampler

X, y = make_classification(n_samples=2000, n_features=6, n_informative=4, n_redundant=1,
                           n_clusters_per_class=2, class_sep=0.5, weights=[0.95], flip_y=0,
                           random_state=4)
sampler = {"SMOTE": SMOTE, "GANOverSampler": GANOverSampler}[sys.argv[1]](random_state=0)
pipe = Pipeline([("sampler", sampler), ("scale", StandardScaler()),
                 ("clf", CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=100,
                                                    random_state=0))])
start = time.perf_counter()
search = GridSearchCV(pipe, {"sampler__sampling_strategy": [0.5, 1.0]},
                      cv=StratifiedKFold(3), scoring="roc_auc").fit(X, y)
print(json.dumps({"seconds": time.perf_counter() - start, "best": search.best_score_}))
"""

# The first and second fit of the default sampler on the same rows, in a fresh process.
_FIRST_FIT = """
import json, time, warnings
warnings.simplefilter("ignore")
from sklearn.datasets import make_classification
from imbnet import GANOverSampler

X, y = make_classification(n_samples=2000, n_features=6, n_informative=4, n_redundant=1,
                           n_clusters_per_class=2, class_sep=0.5, weights=[0.95], flip_y=0,
                           random_state=4)
seconds = []
for _ in range(2):
    start = time.perf_counter()
    X_res, _ = GANOverSampler(random_state=0).fit_resample(X, y)
    seconds.append(time.perf_counter() - start)
print(json.dumps({"first": seconds[0], "second": seconds[1],
                  "checksum": float(X_res[-50:].sum())}))
"""

SAMPLERS = ("SMOTE", "GANOverSampler")


def run(tree, sampler, script=_SCRIPT):
    env = dict(
        os.environ,
        PYTHONPATH=os.path.abspath(tree),
        IMBNET_COMPILE_CACHE="0",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    out = subprocess.run(
        [sys.executable, "-c", script, sampler],
        env=env,
        cwd=tree,  # "python -c" looks in the working directory first
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trees", default=".", help="comma-separated source trees (default: this one)"
    )
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    trees = args.trees.split(",")
    times = {(tree, s): [] for tree in trees for s in SAMPLERS}
    best = {}
    for _ in range(args.repeats):  # the trees and samplers alternate
        for tree in trees:
            for sampler in SAMPLERS:
                result = run(tree, sampler)
                times[tree, sampler].append(result["seconds"])
                best[tree, sampler] = result["best"]
    print(
        f"GridSearchCV, 2 sampling ratios x 3 folds + refit, 2,000 x 6 at 1:20, fresh "
        f"process, compile cache off; median (range) of {args.repeats} runs"
    )
    print("| tree | sampler | search s | / SMOTE's search | best ROC AUC |")
    print("|---|---|---|---|---|")
    for tree in trees:
        anchor = statistics.median(times[tree, "SMOTE"])
        for sampler in SAMPLERS:
            t = times[tree, sampler]
            median = statistics.median(t)
            print(
                f"| {tree} | {sampler} | {median:.1f} ({min(t):.1f}-{max(t):.1f}) | "
                f"{median / anchor:.2f}x | {best[tree, sampler]:.4f} |"
            )
    print()
    print("GANOverSampler(random_state=0).fit_resample on the same 2,000 rows, fresh process,")
    print("compile cache off: the first fit (tracing and compiling) and a second one")
    print("| tree | first fit s | second fit s | checksum of the last 50 synthetic rows |")
    print("|---|---|---|---|")
    for tree in trees:
        fits = [run(tree, "GANOverSampler", _FIRST_FIT) for _ in range(args.repeats)]
        first = [f["first"] for f in fits]
        print(
            f"| {tree} | {statistics.median(first):.2f} ({min(first):.2f}-{max(first):.2f}) | "
            f"{statistics.median(f['second'] for f in fits):.2f} | {fits[0]['checksum']:.6f} |"
        )


if __name__ == "__main__":
    main()
