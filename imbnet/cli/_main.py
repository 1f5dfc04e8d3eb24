"""``imbnet``: argument parsing and the three commands, compare, fit and predict.

Only the standard library is imported to parse the arguments; pandas when a file
is read; Keras (quietly, see ``_tf_logging``) only when a command trains or
loads a model. So ``--help`` and mistakes in the arguments or the data file are
answered at once.
"""

import argparse
import gc
import os
import sys

from ._data import DEFAULT_DATASET, DEFAULT_TARGET
from ._errors import CommandError
from ._objectives import OBJECTIVES, parse_cost, parse_objective
from ._strategies import STRATEGIES

INNER_CV = 2  # as _compare.INNER_CV (not imported: it would import NumPy)

__all__ = ["main"]


class _UsageError(Exception):
    def __init__(self, prog, message):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """Argument mistakes as one line (no usage block), exit status 2."""

    def error(self, message):
        raise _UsageError(self.prog, f"{message} (see '{self.prog} --help')")


def _at_least(minimum, kind=int):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value >= minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(
            f"must be a positive number of processes, or -1 for every core; got {text}"
        )
    return value


def _probability(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a probability in [0, 1], got {text}")
    return value


def _parser():
    parser = _Parser(
        prog="imbnet",
        description="Neural networks for imbalanced tables: compare strategies, fit, predict.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def data_options(command, default_note):
        command.add_argument("--data", help=f"CSV or Parquet file ({default_note})")
        command.add_argument(
            "--target", help=f"target column (default {DEFAULT_TARGET!r} for the built-in data)"
        )
        command.add_argument(
            "--text-columns",
            metavar="A,B",
            help="free-text columns, read by the text strategies (default: detected; "
            "'none': no text columns)",
        )

    def training_options(command):
        command.add_argument(
            "--epochs", type=_at_least(1), default=50, help="epochs per network (default 50)"
        )
        command.add_argument("--random-state", type=int, default=0, help="seed (default 0)")

    compare = commands.add_parser(
        "compare", help="cross-validate imbalance strategies and recommend one"
    )
    data_options(compare, f"default: built-in {DEFAULT_DATASET}")
    training_options(compare)
    compare.add_argument(
        "--strategies",
        default=",".join(STRATEGIES),
        help=f"comma-separated subset of: {', '.join(STRATEGIES)}",
    )
    compare.add_argument(
        "--optimize",
        type=parse_objective,
        default=None,
        metavar="OBJECTIVE",
        help=f"{OBJECTIVES}: the decision threshold of each strategy is tuned for it inside "
        "each training fold (default f1, or cost with --cost)",
    )
    compare.add_argument(
        "--cost",
        type=parse_cost,
        metavar="FP,FN",
        help="cost of a false positive and of a false negative (e.g. 1,20): expected cost "
        "per 1,000 cases beside flagging nothing or everything",
    )
    compare.add_argument("--cv", type=_at_least(2), default=5, help="stratified folds (default 5)")
    compare.add_argument(
        "--time-budget",
        type=_at_least(1, float),
        metavar="SECONDS",
        help="skip or shorten (fewer epochs) strategies that would not finish in time",
    )
    compare.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=1,
        help="parallel fits (default 1; -1: every core). With several strategies the "
        "command already runs two processes; their fits share these cores",
    )
    compare.add_argument(
        "--out", help="directory for results.json, results.csv, figures, report.html"
    )

    fit = commands.add_parser("fit", help="train one strategy (with its preprocessing) and save it")
    data_options(fit, "default: the built-in data")
    training_options(fit)
    fit.add_argument("--strategy", default="balanced", choices=list(STRATEGIES))
    decision = fit.add_mutually_exclusive_group()
    decision.add_argument(
        "--optimize",
        type=parse_objective,
        default=None,
        metavar="OBJECTIVE",
        help=f"{OBJECTIVES}: the decision threshold is tuned for it by a {INNER_CV}-fold "
        "cross-validation inside the training rows and saved with the model "
        "(default f1, or cost with --cost)",
    )
    decision.add_argument(
        "--threshold",
        type=_probability,
        metavar="T",
        help="label the minority class when its probability is at least T (saved with "
        "the model; no tuning)",
    )
    fit.add_argument(
        "--cost",
        type=parse_cost,
        metavar="FP,FN",
        help="cost of a false positive and of a false negative: the threshold minimises "
        "the expected cost",
    )
    fit.add_argument("--save", required=True, help="file to write (e.g. model.imbnet)")

    predict = commands.add_parser("predict", help="predict with a model saved by 'imbnet fit'")
    predict.add_argument("--model", required=True, help="file written by 'imbnet fit'")
    predict.add_argument("--data", required=True, help="CSV or Parquet file of rows to predict")
    predict.add_argument("--proba", action="store_true", help="write class probabilities")
    predict.add_argument("--output", help="CSV file to write (default: standard output)")
    predict.add_argument(
        "--trusted",
        action="append",
        default=[],
        metavar="NAME",
        help="a further Python name (module.name, e.g. your model builder) the file may "
        "hold; repeat for several; as imbnet.load(path, trusted=[...])",
    )
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    try:
        args, extra = _parser().parse_known_args(argv)
        if extra:
            prog = f"imbnet {args.command}"
            raise _UsageError(
                prog, f"unrecognized arguments: {' '.join(extra)} (see '{prog} --help')"
            )
    except _UsageError as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return 2
    command = {"compare": _compare, "fit": _fit, "predict": _predict}[args.command]
    try:
        command(args)
    except CommandError as exc:
        print(f"imbnet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of standard output went away (``imbnet predict ... | head``).
        _silence_stdout()
        print(
            f"imbnet {args.command}: error: standard output was closed before all "
            "rows were written",
            file=sys.stderr,
        )
        return 2
    return 0


def command():
    """The program ``imbnet`` (its console script and ``python -m imbnet``): runs
    :func:`main` on the process's arguments and returns its exit status.

    Then the objects left are frozen out of the garbage collector: the interpreter's
    last collection walks every object TensorFlow's modules made, about 0.8 s on a
    2-core machine, before a process that has written all it had to ends (the memory
    goes back to the system at exit all the same; the exit handlers still run).
    """
    try:
        return main()
    finally:
        gc.freeze()


def _silence_stdout():
    """Point standard output at /dev/null so that Python's exit flush cannot fail again."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def _load_data(args, min_per_class=2):
    from ._data import (
        column_kinds,
        default_dataset,
        precheck,
        read_table,
        split_target,
        split_text_columns,
    )

    target = args.target or (DEFAULT_TARGET if args.data is None else None)
    if args.data is None:
        frame, label = default_dataset(), DEFAULT_DATASET
    else:
        precheck(args.data, target)
        if target is None:
            raise CommandError("--target is required with --data")
        frame, label = read_table(args.data), args.data
    X, y, notes = split_target(frame, target, min_per_class)
    for note in notes:
        print(f"imbnet {args.command}: {note}", file=sys.stderr)
    numeric, categorical = column_kinds(X)
    categorical, text = split_text_columns(X, numeric, categorical, args.text_columns)
    return X, y, tuple(numeric), tuple(categorical), label, target, tuple(text)


def _check_encoding(X, numeric, categorical):
    from ._data import check_features, make_preprocessor

    if not numeric and not categorical:  # free text only: the text strategies read it
        return
    check_features(make_preprocessor(numeric, categorical), X)


def _compare(args):
    import time

    started = time.perf_counter()  # the time budget counts from here
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        raise CommandError(f"unknown strategy {unknown}; choose from {', '.join(STRATEGIES)}")
    objective = args.optimize or parse_objective("cost" if args.cost else "f1")
    X, y, numeric, categorical, label, target, text = _load_data(args, min_per_class=args.cv)
    from ._text import runnable_strategies

    explicit = args.strategies != ",".join(STRATEGIES)
    strategies, column_notes = runnable_strategies(
        strategies,
        STRATEGIES,
        numeric=numeric,
        categorical=categorical,
        text=text,
        explicit=explicit,
    )
    import numpy as np

    problem = objective.check(len(np.unique(y)), args.cost)
    if problem:
        raise CommandError(problem)
    _check_encoding(X, numeric, categorical)

    from ._aside import second_process
    from ._compare import compare

    # Without a time budget compare runs some strategies in a second process: started
    # now, its TensorFlow import overlaps this one's (stopped when compare returns).
    with second_process(args.time_budget is None and len(strategies) > 1) as pool:
        from ._tf_logging import import_keras_quietly

        import_keras_quietly()
        results = compare(
            X,
            y,
            strategies,
            numeric=numeric,
            categorical=categorical,
            text=text,
            objective=objective,
            cost=args.cost,
            cv=args.cv,
            epochs=args.epochs,
            random_state=args.random_state,
            n_jobs=args.n_jobs,
            time_budget=args.time_budget,
            started=started,
            aside_pool=pool,
        )
    import imbnet

    from ._recommend import recommend
    from ._report import format_summary, write_outputs

    results["settings"] = {
        "data": label,
        "data_path": os.path.abspath(args.data) if args.data else None,
        "target": target,
        "cv": args.cv,
        "epochs": args.epochs,
        "random_state": args.random_state,
        "strategies": strategies,
        "optimize": results["objective"]["label"],
        "cost": list(args.cost) if args.cost else None,
        "time_budget": args.time_budget,
        "imbnet": imbnet.__version__,
    }
    if text:
        results["settings"]["text_columns"] = list(text)
    if args.text_columns is not None:  # for the fit command compare prints
        results["settings"]["text_columns_given"] = args.text_columns
    results["notes"] = column_notes + results["notes"]
    results["recommendation"] = recommend(
        results,
        numeric=numeric,
        categorical=categorical,
        text=text,
        epochs=args.epochs,
        random_state=args.random_state,
        data_path=args.data,
        target=target,
    )
    if results["recommendation"] is not None:
        from ._deploy import fit_command

        rec = results["recommendation"]
        rec["fit_command"] = fit_command(rec["strategy"], results, results["settings"])
    if results["recommendation"] is None:
        print(format_summary(results))
        raise CommandError("no strategy ran to the end (see above)")
    if args.out:
        write_outputs(args.out, results, y)
    print(format_summary(results, out_dir=args.out))


def _fit(args):
    from ._strategies import Context

    objective = args.optimize or parse_objective("cost" if args.cost else "f1")
    tuned = args.threshold is None
    X, y, numeric, categorical, _, _, text = _load_data(
        args, min_per_class=INNER_CV if tuned else 2
    )
    from ._text import runnable_strategies

    runnable_strategies(
        [args.strategy],
        STRATEGIES,
        numeric=numeric,
        categorical=categorical,
        text=text,
        explicit=True,
    )
    import numpy as np

    classes, counts = np.unique(y, return_counts=True)
    problem = objective.check(len(classes), args.cost)
    if problem is None and args.threshold is not None and len(classes) > 2:
        problem = f"--threshold is defined for two classes; the target has {len(classes)}"
    if problem:
        raise CommandError(problem)
    _check_encoding(X, numeric, categorical)
    from ._tf_logging import import_keras_quietly

    import_keras_quietly()
    import imbnet

    from ._compare import Setup
    from ._deploy import (
        convergence_line,
        counting_convergence,
        decision_text,
        deployed_model,
        replay,
        split_warnings,
    )

    minority = classes[np.argmin(counts)].item()
    setup = Setup(
        objective, tuple(c.item() for c in classes), minority, args.cost, 5, args.random_state
    )
    ctx = Context(args.epochs, args.random_state, numeric, categorical, text)
    model = deployed_model(args.strategy, ctx, setup, args.threshold)
    with counting_convergence() as caught:
        model.fit(X, y)
    limit, others = split_warnings(caught)
    replay(others)
    line = convergence_line(limit, args.epochs)
    if line:
        print(f"imbnet fit: {line}", file=sys.stderr)
    try:
        imbnet.save(model, args.save)
    except (OSError, TypeError, ValueError) as exc:
        raise CommandError(f"cannot save to {args.save} ({exc})") from None
    print(
        f"saved strategy {args.strategy!r} trained on {len(y)} rows to {args.save}; "
        f"decision: {decision_text(model)}"
    )


def _predict(args):
    from ._data import input_notes, numeric_text, precheck, read_table

    if not os.path.isfile(args.model):
        raise CommandError(f"{args.model}: no such file")
    precheck(args.data, None)
    frame = read_table(args.data)
    from ._tf_logging import import_keras_quietly

    import_keras_quietly()
    import pandas as pd

    import imbnet

    try:
        model = imbnet.load(args.model, trusted=args.trusted)
    except (ValueError, OSError, ImportError) as exc:
        message = str(exc).replace("imbnet.load(path, trusted=[...])", _TRUSTED_HINT)
        raise CommandError(message) from None
    from ._deploy import decision_text, inner_pipeline

    pipeline = inner_pipeline(model)
    expected = list(pipeline.feature_names_in_)
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise CommandError(f"{args.data}: columns the model needs are missing: {missing}")
    X = frame[expected]
    text = numeric_text(X, _numeric_columns(pipeline))
    if text:
        column, value, row = text
        raise CommandError(
            f"{args.data}: column {column!r} was numeric when the model was trained but "
            f"holds text ({value!r} in data row {row + 1}); fix or blank those values"
        )
    for note in input_notes(pipeline, X):
        print(f"imbnet predict: {note}", file=sys.stderr)
    try:
        if args.proba:
            proba = model.predict_proba(X)
            out = pd.DataFrame(proba, columns=[f"proba_{c}" for c in model.classes_])
        else:
            out = pd.DataFrame({"prediction": model.predict(X)})
    except (ValueError, TypeError) as exc:
        raise CommandError(f"{args.data}: cannot predict these rows ({exc})") from None
    out.to_csv(args.output if args.output else sys.stdout, index=False)
    if not args.proba:  # said once every row is written (an error stays one line)
        sys.stdout.flush()
        print(f"imbnet predict: decision: {decision_text(model)}", file=sys.stderr)
        _say_flagged(model, out["prediction"])


def _say_flagged(model, labels):
    from ._deploy import positive_class

    positive = positive_class(model)
    if positive is None:
        return
    flagged = int((labels == positive).sum())
    print(
        f"imbnet predict: {flagged} of {len(labels)} rows ({flagged / len(labels):.1%}) "
        f"labelled {positive!r}",
        file=sys.stderr,
    )


_TRUSTED_HINT = "imbnet predict --trusted NAME (once per name)"


def _numeric_columns(pipeline):
    """The columns the saved pipeline's first step treats as numbers."""
    first = pipeline.steps[0][1]
    for name, _, columns in getattr(first, "transformers_", []):
        if name == "numeric":
            return list(columns)
    return []
