"""Where a BalancedEnsembleClassifier fit spends its time: 10 members against one (issue #12 part 2).

The shapes of ``benchmarks/ensemble.py`` (stratified 70% training split, standardised), the MLP
``hidden_layer_sizes=(32,)`` for exactly 200 epochs (``tol=0``). Each step of the fit is timed by
wrapping the function that does it (warm fits, median fit time; the parts are means per fit, so
they add up to about the mean fit time):

- ``build members``: ``CostSensitiveMLPClassifier._build_model`` (one Keras model per call);
- ``reseeded kernels``: starting kernels of members that are not built (``_stacking.reseeded_kernels``);
- ``stack model``: ``_stacking.stack_models`` (the side-by-side model, compiled);
- ``draws + chunks``: ``_chunks.Chunk`` (the members' under-samples and the row orders handed over);
- ``compiled program``: ``Program.run`` (the XLA call: all the epochs' mini-batch steps);
- ``other``: the rest (validation, program start/finish, bookkeeping).

    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 TF_CPP_MIN_LOG_LEVEL=3 \\
        PYTHONPATH=. python benchmarks/ensemble_parts.py [--quick]
"""

import argparse
import collections
import functools
import os
import platform
import statistics
import time
import warnings

from ensemble import data_sets  # benchmarks/ensemble.py: the same data sets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import imbnet.classifiers._ensemble as ensemble_module
import imbnet.classifiers._mlp as mlp_module
import imbnet.engine._loop as engine
import imbnet.engine._program as program_module
from imbnet import BalancedEnsembleClassifier, CostSensitiveMLPClassifier

PARTS = collections.defaultdict(float)  # label -> seconds accumulated


def timed(owner, name, label):
    """Wrap ``owner.name`` so that its time adds to ``PARTS[label]`` (if it exists)."""
    function = getattr(owner, name, None)
    if function is None:
        return

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            PARTS[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


LABELS = ["build members", "reseeded kernels", "stack model", "draws + chunks", "compiled program"]
timed(mlp_module.CostSensitiveMLPClassifier, "_build_model", "build members")
timed(ensemble_module, "reseeded_kernels", "reseeded kernels")
timed(ensemble_module, "stack_models", "stack model")
timed(engine, "Chunk", "draws + chunks")
timed(program_module.Program, "run", "compiled program")


def make(n_members, seed):
    return BalancedEnsembleClassifier(
        CostSensitiveMLPClassifier(
            hidden_layer_sizes=(32,),
            max_iter=200,
            tol=0.0,
            n_iter_no_change=10**6,
            random_state=seed,
        ),
        n_members,
        random_state=seed,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    n_fits = 5 if args.quick else 9
    print(
        f"# {platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {n_fits} warm fits each"
    )
    print(
        "| data | members | fit ms (median) | × one member | " + " | ".join(LABELS) + " | other |"
    )
    print("|" + "---|" * (len(LABELS) + 5))
    for name, (X, y) in data_sets(args.quick).items():
        X_train, _, y_train, _ = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
        X_train = StandardScaler().fit_transform(X_train)
        for n_members in (1, 10):
            make(n_members, 0).fit(X_train, y_train)  # compile once
        anchor = None
        for n_members in (1, 10):
            PARTS.clear()
            PARTS.update(dict.fromkeys(LABELS, 0.0))
            times = []
            for seed in range(n_fits):
                start = time.perf_counter()
                make(n_members, seed).fit(X_train, y_train)
                times.append(time.perf_counter() - start)
            fit = statistics.median(times)
            anchor = fit if anchor is None else anchor
            parts = [1000 * PARTS[label] / n_fits for label in LABELS]
            other = 1000 * statistics.mean(times) - sum(parts)
            print(
                f"| {name} | {n_members} | {1000 * fit:.1f} | {fit / anchor:.2f}× | "
                + " | ".join(f"{p:.1f}" for p in parts)
                + f" | {other:.1f} |"
            )


if __name__ == "__main__":
    main()
