"""``imbnet``: argument parsing and the three commands, compare, fit and predict."""

import argparse
import os
import sys

import pandas as pd
from imblearn.pipeline import Pipeline

import imbnet

from ._data import (
    DEFAULT_DATASET,
    DEFAULT_TARGET,
    check_features,
    default_dataset,
    make_preprocessor,
    read_table,
    split_target,
)
from ._errors import CommandError
from ._strategies import STRATEGIES, make_steps

__all__ = ["main"]


def _parser():
    parser = argparse.ArgumentParser(
        prog="imbnet",
        description="Neural networks for imbalanced tables: compare strategies, fit, predict.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def data_options(command, default_note):
        command.add_argument("--data", help=f"CSV or Parquet file ({default_note})")
        command.add_argument(
            "--target", help=f"target column (default {DEFAULT_TARGET!r} for the built-in data)"
        )

    def training_options(command):
        command.add_argument(
            "--epochs", type=_positive_int, default=50, help="epochs per network (default 50)"
        )
        command.add_argument("--random-state", type=int, default=0, help="seed (default 0)")

    compare = commands.add_parser(
        "compare", help="cross-validate imbalance strategies and rank them"
    )
    data_options(compare, f"default: built-in {DEFAULT_DATASET}")
    training_options(compare)
    compare.add_argument(
        "--strategies",
        default=",".join(STRATEGIES),
        help=f"comma-separated subset of: {', '.join(STRATEGIES)}",
    )
    compare.add_argument("--cv", type=_positive_int, default=5, help="stratified folds (default 5)")
    compare.add_argument("--n-jobs", type=int, default=1, help="parallel fits (default 1)")
    compare.add_argument(
        "--out", help="directory for results.json, results.csv, figures, report.html"
    )

    fit = commands.add_parser("fit", help="train one strategy (with its preprocessing) and save it")
    data_options(fit, "default: the built-in data")
    training_options(fit)
    fit.add_argument("--strategy", default="balanced", choices=list(STRATEGIES))
    fit.add_argument("--save", required=True, help="file to write (e.g. model.imbnet)")

    predict = commands.add_parser("predict", help="predict with a model saved by 'imbnet fit'")
    predict.add_argument("--model", required=True, help="file written by 'imbnet fit'")
    predict.add_argument("--data", required=True, help="CSV or Parquet file of rows to predict")
    predict.add_argument("--proba", action="store_true", help="write class probabilities")
    predict.add_argument("--output", help="CSV file to write (default: standard output)")
    return parser


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    command = {"compare": _compare, "fit": _fit, "predict": _predict}[args.command]
    try:
        command(args)
    except CommandError as exc:
        print(f"imbnet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _load_data(args, min_per_class=2):
    if args.data is None:
        frame, label = default_dataset(), DEFAULT_DATASET
    else:
        frame, label = read_table(args.data), args.data
    target = args.target or (DEFAULT_TARGET if args.data is None else None)
    if target is None:
        raise CommandError("--target is required with --data")
    X, y, notes = split_target(frame, target, min_per_class)
    for note in notes:
        print(f"imbnet {args.command}: {note}", file=sys.stderr)
    preprocessor = make_preprocessor(X)
    check_features(preprocessor, X)
    return X, y, preprocessor, label


def _compare(args):
    from ._compare import compare
    from ._report import format_table, write_outputs

    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        raise CommandError(f"unknown strategy {unknown}; choose from {', '.join(STRATEGIES)}")
    X, y, preprocessor, label = _load_data(args, min_per_class=args.cv)
    results = compare(
        X,
        y,
        preprocessor,
        strategies,
        cv=args.cv,
        epochs=args.epochs,
        random_state=args.random_state,
        n_jobs=args.n_jobs,
    )
    results["settings"] = {
        "data": label,
        "target": args.target or DEFAULT_TARGET,
        "cv": args.cv,
        "epochs": args.epochs,
        "random_state": args.random_state,
        "strategies": strategies,
        "imbnet": imbnet.__version__,
    }
    print(format_table(results))
    if all(r["error"] for r in results["strategies"]):
        raise CommandError("every strategy failed (see above)")
    if args.out:
        write_outputs(args.out, results, y)
        print(f"wrote results.json, results.csv, figures and report.html to {args.out}")


def _fit(args):
    X, y, preprocessor, _ = _load_data(args)
    pipeline = Pipeline(
        [("preprocess", preprocessor), *make_steps(args.strategy, args.epochs, args.random_state)]
    )
    pipeline.fit(X, y)
    imbnet.save(pipeline, args.save)
    print(f"saved strategy {args.strategy!r} trained on {len(y)} rows to {args.save}")


def _predict(args):
    if not os.path.isfile(args.model):
        raise CommandError(f"{args.model}: no such file")
    try:
        pipeline = imbnet.load(args.model)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    frame = read_table(args.data)
    expected = list(pipeline.feature_names_in_)
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise CommandError(f"{args.data}: columns the model needs are missing: {missing}")
    X = frame[expected]
    if args.proba:
        proba = pipeline.predict_proba(X)
        out = pd.DataFrame(proba, columns=[f"proba_{c}" for c in pipeline.classes_])
    else:
        out = pd.DataFrame({"prediction": pipeline.predict(X)})
    out.to_csv(args.output if args.output else sys.stdout, index=False)
