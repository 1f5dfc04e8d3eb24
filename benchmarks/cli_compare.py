"""``imbnet compare`` on the built-in data: run time and per-strategy scores.

Two timings of the same nested cross-validation (5 outer folds; per fold the
F1 threshold tuned by a 2-fold inner CV of the training rows, then a refit):

- **anchor**: what ``compare`` did before, and what a user writes with plain
  scikit-learn: ``cross_validate(TunedThresholdClassifierCV(pipeline), cv=outer)``
  per strategy, every fit on its own (11 strategies x 5 x (2 + 1) = 165 fits);
- **imbnet compare**: the command itself (``python -m imbnet compare --out DIR``,
  end to end, TensorFlow start-up and the report included).

Per strategy it prints the seconds and the F1 / average precision of both, and
the differences (the same folds, so the differences are the change of method
plus the networks' run-to-run noise). With ``--budget SECONDS`` it also runs
``compare --time-budget SECONDS`` and prints its wall time and what it skipped
or shortened.

Run from the repository root::

    python benchmarks/cli_compare.py            # the default run (several minutes)
    python benchmarks/cli_compare.py --budget 60
    python benchmarks/cli_compare.py --quick    # 10 epochs, 3 folds: a smoke run
    python benchmarks/cli_compare.py --end-to-end-only   # the command, cold and warm

``--end-to-end-only`` runs the command twice, first with an empty compile cache
(its own ``XDG_CACHE_HOME``), then with the cache that run filled, and the anchor
(every tabular strategy's nested cross-validation fit by fit, in this process)
in between; it prints their wall and CPU seconds (the command's CPU includes
its second process), the 1-minute load before each, the ratio to the 30 s
target and to the anchor, and the cold run's ranking.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np


def run_cli(args, out, env=None):
    argv = [sys.executable, "-m", "imbnet", "compare", "--out", out, *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {**os.environ, **(env or {})}
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        sys.exit(f"compare failed:\n{done.stderr}")
    with open(os.path.join(out, "results.json")) as file:
        return seconds, cpu, json.load(file), done.stderr


def clock():
    """(wall seconds, CPU seconds of this process: every thread, user + system)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), used.ru_utime + used.ru_stime


def run_both(epochs, cv, warm=False):
    """Per strategy, back to back in this process (so that both see the same load):
    compare's cross-validation (``cross_validate_strategies``) and the anchor,
    scikit-learn's nested cross-validation fit by fit."""

    from imbnet.cli._compare import Setup
    from imbnet.cli._data import default_dataset
    from imbnet.cli._objectives import Objective
    from imbnet.cli._strategies import STRATEGIES, Context

    frame = default_dataset()
    y = frame.pop("y").to_numpy()
    setup = Setup(Objective("f1"), (0, 1), 1, None, cv, 0)
    ctx = Context(epochs, 0, tuple(frame.columns), ())
    found = {}
    if warm:  # compile both methods' programs first: then neither pays it in the table
        for name in [name for name in STRATEGIES if STRATEGIES[name].reads == "tabular"]:
            _ours(frame, y, name, setup, 2, ctx)
            _anchor(frame, y, name, setup, Context(2, 0, ctx.numeric, ()))
    # the built-in data has no text column: the tabular strategies (compare's default here)
    tabular = [name for name in STRATEGIES if STRATEGIES[name].reads == "tabular"]
    for position, name in enumerate(tabular):
        row = {}
        anchor_first = position % 2 == 1  # alternate which runs first
        if anchor_first:
            t0, c0 = clock()
            scores = _anchor(frame, y, name, setup, ctx)
            t1, c1 = clock()
            row["anchor"] = (t1 - t0, c1 - c0, scores["test_f1"])
            row["anchor_ap"] = scores["test_ap"].mean()
        t0, c0 = clock()
        result = _ours(frame, y, name, setup, epochs, ctx)
        t1, c1 = clock()
        row["ours"] = (t1 - t0, c1 - c0, result["scores"]["objective"]["folds"])
        row["ours_ap"] = result["scores"]["average_precision"]["mean"]
        if not anchor_first:
            scores = _anchor(frame, y, name, setup, ctx)
            t2, c2 = clock()
            row["anchor"] = (t2 - t1, c2 - c1, scores["test_f1"])
            row["anchor_ap"] = scores["test_ap"].mean()
        found[name] = row
        print(f"  {name}: {row['ours'][:2]} {row['anchor'][:2]}", file=sys.stderr, flush=True)
    return found


def load():
    """The 1-minute load average (other processes sharing the machine)."""
    return os.getloadavg()[0]


def anchor_total(epochs, cv):
    """Wall and CPU seconds of the anchor (scikit-learn's nested cross-validation,
    every fit on its own) over every tabular strategy, in this process."""
    from imbnet.cli._compare import Setup
    from imbnet.cli._data import default_dataset
    from imbnet.cli._objectives import Objective
    from imbnet.cli._strategies import STRATEGIES, Context

    frame = default_dataset()
    y = frame.pop("y").to_numpy()
    setup = Setup(Objective("f1"), (0, 1), 1, None, cv, 0)
    ctx = Context(epochs, 0, tuple(frame.columns), ())
    t0, c0 = clock()
    for name in [name for name in STRATEGIES if STRATEGIES[name].reads == "tabular"]:
        _anchor(frame, y, name, setup, ctx)
    t1, c1 = clock()
    return t1 - t0, c1 - c0


def end_to_end(epochs, cv, target=30.0):
    """``imbnet compare --out DIR`` end to end with an empty compile cache, then again
    with the cache it filled, beside the anchor measured in between; a table."""
    cli_args = ["--epochs", str(epochs), "--cv", str(cv)]
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for label in ("cold cache", "warm cache"):
            before = load()
            with tempfile.TemporaryDirectory() as out:
                seconds, cpu, found, _ = run_cli(cli_args, out, {"XDG_CACHE_HOME": cache})
            rows.append((f"imbnet compare, {label}", seconds, cpu, before, found))
            if label == "cold cache":
                before = load()
                a_wall, a_cpu = anchor_total(epochs, cv)
                rows.append(("anchor: scikit-learn, fit by fit", a_wall, a_cpu, before, None))
    print(f"\nend to end, built-in data, {epochs} epochs, {cv} folds (target: {target:g} s wall)")
    print("| run | wall s | CPU s | load (1 min) | wall vs target | anchor wall / wall |")
    print("|---|---|---|---|---|---|")
    for label, wall, cpu, before, _ in rows:
        print(
            f"| {label} | {wall:.1f} | {cpu:.1f} | {before:.1f} | {wall / target:.2f}x "
            f"| {a_wall / wall:.2f}x (CPU {a_cpu / cpu:.2f}x) |"
        )
    found = rows[0][4]
    print("\n| rank | strategy | F1 | ROC AUC | AP | fit s |")
    print("|---|---|---|---|---|---|")
    for rank, strategy in enumerate(found["strategies"], 1):
        scores = strategy["scores"]
        print(
            f"| {rank} | {strategy['name']} | {scores['objective']['mean']:.3f} "
            f"± {scores['objective']['sd']:.3f} | {scores['roc_auc']['mean']:.3f} "
            f"| {scores['average_precision']['mean']:.3f} | {strategy['fit_time']['mean']:.1f} |"
        )


def _ours(frame, y, name, setup, epochs, ctx):
    from imbnet.cli._compare import cross_validate_strategies

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (result,), _ = cross_validate_strategies(
            frame, y, [name], setup, numeric=ctx.numeric, categorical=(), epochs=epochs
        )
    return result


def _anchor(frame, y, name, setup, ctx):
    from sklearn.model_selection import cross_validate
    from threadpoolctl import threadpool_limits

    from imbnet.cli._compare import build_model, outer_cv

    # HistGradientBoosting on one OpenMP thread, as compare now fits it (on a busy
    # machine its default threads spin: 40 s per fit instead of 1-2 s).
    with threadpool_limits(1, user_api="openmp"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cross_validate(
            build_model(name, ctx, setup, setup.scorer()),
            frame,
            y,
            cv=outer_cv(setup),
            scoring={"f1": setup.scorer(), "ap": "average_precision"},
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 epochs, 3 folds")
    parser.add_argument("--budget", type=float, help="also run --time-budget SECONDS")
    parser.add_argument("--warm", action="store_true", help="compile both methods first")
    parser.add_argument("--end-to-end", action="store_true", help="also time the command")
    parser.add_argument(
        "--end-to-end-only",
        action="store_true",
        help="only the command end to end (cold and warm compile cache) beside the anchor",
    )
    args = parser.parse_args()
    epochs, cv = (10, 3) if args.quick else (50, 5)
    if args.end_to_end_only:
        end_to_end(epochs, cv)
        return
    print(f"imbnet compare's cross-validation, built-in data, {epochs} epochs, {cv} folds, F1")
    both = run_both(epochs, cv, args.warm)
    print(
        "| strategy | wall s | CPU s | F1 | AP | anchor wall s | anchor CPU s | anchor F1 "
        "| anchor AP | CPU ratio | ΔF1 | ΔAP |"
    )
    print("|---" * 12 + "|")
    totals = np.zeros(4)
    for name, row in sorted(both.items(), key=lambda item: -np.mean(item[1]["ours"][2])):
        (wall, cpu, f1), (a_wall, a_cpu, a_f1) = row["ours"], row["anchor"]
        totals += (wall, cpu, a_wall, a_cpu)
        print(
            f"| {name} | {wall:.1f} | {cpu:.1f} | {np.mean(f1):.3f} | {row['ours_ap']:.3f} "
            f"| {a_wall:.1f} | {a_cpu:.1f} | {np.mean(a_f1):.3f} | {row['anchor_ap']:.3f} "
            f"| {a_cpu / cpu:.2f}x | {np.mean(f1) - np.mean(a_f1):+.3f} "
            f"| {row['ours_ap'] - row['anchor_ap']:+.3f} |"
        )
    wall, cpu, a_wall, a_cpu = totals
    print(
        f"| **total** | {wall:.1f} | {cpu:.1f} | | | {a_wall:.1f} | {a_cpu:.1f} | | "
        f"| {a_cpu / cpu:.2f}x (wall {a_wall / wall:.2f}x) | | |"
    )
    ours = sorted(both, key=lambda n: -np.mean(both[n]["ours"][2]))
    anchor = sorted(both, key=lambda n: -np.mean(both[n]["anchor"][2]))
    print("ranking, compare:", ", ".join(ours))
    print("ranking, anchor: ", ", ".join(anchor))
    cli_args = ["--epochs", str(epochs), "--cv", str(cv)]
    if args.end_to_end:
        with tempfile.TemporaryDirectory() as out:
            seconds, cpu, _, stderr = run_cli(cli_args, out)
        print(f"imbnet compare end to end: {seconds:.1f} s wall, {cpu:.1f} s CPU")
        print(f"stderr lines: {len(stderr.splitlines())}")
    if args.budget:
        with tempfile.TemporaryDirectory() as out:
            spent, cpu, budgeted, _ = run_cli([*cli_args, "--time-budget", str(args.budget)], out)
        print(
            f"--time-budget {args.budget:g}: {spent:.1f} s end to end "
            f"({spent / args.budget:.0%} of the budget), {cpu:.1f} s CPU"
        )
        for strategy in budgeted["strategies"]:
            said = strategy["skipped"] or strategy.get("note") or "ran"
            print(f"  {strategy['name']}: {said}")


if __name__ == "__main__":
    main()
