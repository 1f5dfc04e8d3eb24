"""``imbnet compare`` on the built-in data: run time and per-strategy scores.

Two timings of the same nested cross-validation (5 outer folds; per fold the
F1 threshold tuned by a 3-fold inner CV of the training rows, then a refit):

- **anchor**: what ``compare`` did before, and what a user writes with plain
  scikit-learn: ``cross_validate(TunedThresholdClassifierCV(pipeline), cv=outer)``
  per strategy, every fit on its own (11 strategies x 5 x (3 + 1) = 220 fits);
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
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings


def run_cli(args, out):
    argv = [sys.executable, "-m", "imbnet", "compare", "--out", out, *args]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=os.environ.copy())
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"compare failed:\n{done.stderr}")
    with open(os.path.join(out, "results.json")) as file:
        return seconds, json.load(file), done.stderr


def run_anchor(epochs, cv):
    """scikit-learn's nested cross-validation of every strategy, fit by fit."""
    from sklearn.model_selection import cross_validate
    from threadpoolctl import threadpool_limits

    from imbnet.cli._compare import INNER_CV, Setup, build_model, outer_cv
    from imbnet.cli._data import default_dataset
    from imbnet.cli._objectives import Objective
    from imbnet.cli._strategies import STRATEGIES, Context

    frame = default_dataset()
    y = frame.pop("y").to_numpy()
    setup = Setup(Objective("f1"), (0, 1), 1, None, cv, 0)
    ctx = Context(epochs, 0, tuple(frame.columns), ())
    found = {}
    for name in STRATEGIES:
        scoring = {"f1": setup.scorer(), "ap": "average_precision"}
        start = time.perf_counter()
        # HistGradientBoosting on one OpenMP thread, as compare now fits it (on a busy
        # machine its default threads spin: 40 s per fit instead of 1-2 s).
        with threadpool_limits(1, user_api="openmp"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = cross_validate(
                build_model(name, ctx, setup, setup.scorer()),
                frame,
                y,
                cv=outer_cv(setup),
                scoring=scoring,
            )
        found[name] = {
            "seconds": time.perf_counter() - start,
            "f1": scores["test_f1"],
            "ap": scores["test_ap"],
        }
        print(f"  anchor {name}: {found[name]['seconds']:.1f} s", file=sys.stderr, flush=True)
    assert INNER_CV == 3
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 epochs, 3 folds")
    parser.add_argument("--budget", type=float, help="also run --time-budget SECONDS")
    parser.add_argument("--no-anchor", action="store_true", help="only the command")
    args = parser.parse_args()
    epochs, cv = (10, 3) if args.quick else (50, 5)
    cli_args = ["--epochs", str(epochs), "--cv", str(cv)]
    with tempfile.TemporaryDirectory() as out:
        seconds, results, stderr = run_cli(cli_args, out)
    ours = {s["name"]: s for s in results["strategies"]}
    print(f"imbnet compare, built-in data, {epochs} epochs, {cv} folds (F1 objective)")
    anchor = None if args.no_anchor else run_anchor(epochs, cv)
    header = f"{'strategy':<17}{'s':>7}{'F1':>8}{'AP':>8}"
    if anchor:
        header += f"{'anchor s':>10}{'F1':>8}{'AP':>8}{'ΔF1':>8}{'ΔAP':>8}"
    print(header)
    total = 0.0
    for name, strategy in ours.items():
        s = strategy["scores"]
        spent = strategy["fit_time"]["mean"] * cv
        line = (
            f"{name:<17}{spent:>7.1f}{s['objective']['mean']:>8.3f}"
            f"{s['average_precision']['mean']:>8.3f}"
        )
        if anchor:
            a = anchor[name]
            total += a["seconds"]
            line += (
                f"{a['seconds']:>10.1f}{a['f1'].mean():>8.3f}{a['ap'].mean():>8.3f}"
                f"{s['objective']['mean'] - a['f1'].mean():>+8.3f}"
                f"{s['average_precision']['mean'] - a['ap'].mean():>+8.3f}"
            )
        print(line)
    print(f"imbnet compare end to end (process start to report written): {seconds:.1f} s")
    if anchor:
        fits = sum(a["seconds"] for a in anchor.values())
        print(f"anchor (fits only, process warm): {fits:.1f} s; ratio {fits / seconds:.2f}x")
        ranked = [r["name"] for r in results["strategies"]]
        by_anchor = sorted(anchor, key=lambda n: -anchor[n]["f1"].mean())
        print("ranking, imbnet compare:", ", ".join(ranked))
        print("ranking, anchor:        ", ", ".join(by_anchor))
    warnings_lines = [line for line in stderr.splitlines() if "Warning" in line]
    print(
        f"warning lines on stderr: {len(warnings_lines)}; all stderr lines: "
        f"{len(stderr.splitlines())}"
    )
    if args.budget:
        with tempfile.TemporaryDirectory() as out:
            spent, budgeted, _ = run_cli([*cli_args, "--time-budget", str(args.budget)], out)
        print(
            f"--time-budget {args.budget:g}: {spent:.1f} s end to end "
            f"({spent / args.budget:.0%} of the budget)"
        )
        for strategy in budgeted["strategies"]:
            said = strategy["skipped"] or strategy.get("note") or "ran"
            print(f"  {strategy['name']}: {said}")


if __name__ == "__main__":
    main()
