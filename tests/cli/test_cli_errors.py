"""Mistakes in arguments and data files: one line on stderr, exit status 2, no traceback."""

import contextlib
import io
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from imbnet.cli import main

GOOD = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 5, "y": [0, 1] * 10})
THREE = pd.DataFrame({"a": np.arange(30.0), "y": [0, 1, 2] * 10})

# case -> (file content or None, argv after "compare --data FILE --target y", message)
COMPARE_CASES = {
    "--cv 1": (GOOD, ["--cv", "1"], "argument --cv: must be at least 2, got 1"),
    "--epochs 0": (GOOD, ["--epochs", "0"], "argument --epochs: must be at least 1"),
    "--cv text": (GOOD, ["--cv", "five"], "argument --cv: 'five' is not a number"),
    "--cost one number": (GOOD, ["--cost", "5"], "argument --cost: '5' is not FP,FN"),
    "--cost negative": (GOOD, ["--cost=-1,5"], "costs must be finite, >= 0"),
    "--optimize unknown": (GOOD, ["--optimize", "auc"], "'auc' is not one of f1|"),
    "--optimize bad bound": (
        GOOD,
        ["--optimize", "recall@precision=2"],
        "precision in 'recall@precision=2' must be",
    ),
    "--optimize cost without --cost": (GOOD, ["--optimize", "cost"], "needs --cost FP,FN"),
    "--time-budget 0": (GOOD, ["--time-budget", "0"], "argument --time-budget: must be at least"),
    "--n-jobs text": (GOOD, ["--n-jobs", "two"], "argument --n-jobs: 'two' is not a whole number"),
    "unknown strategy": (GOOD, ["--strategies", "balanced,magic"], "unknown strategy ['magic']"),
    "unknown option": (GOOD, ["--folds", "3"], "unrecognized arguments: --folds 3"),
    "--n-jobs 0": (GOOD, ["--n-jobs", "0"], "argument --n-jobs: must be a positive number"),
    "--n-jobs -2": (GOOD, ["--n-jobs", "-2"], "argument --n-jobs: must be a positive number"),
    "--time-budget text": (GOOD, ["--time-budget", "soon"], "'soon' is not a number"),
    "--cost both zero": (GOOD, ["--cost", "0,0"], "not both 0"),
    "--cost infinite": (GOOD, ["--cost", "1,inf"], "costs must be finite"),
    "--optimize empty bound": (GOOD, ["--optimize", "recall@precision="], "must be a number"),
    "empty --strategies": (GOOD, ["--strategies", ","], "unknown strategy []"),
    "bad target column name": (GOOD, ["--target", "label"], "target column 'label' not found"),
    "missing target column": (GOOD.drop(columns="y"), [], "target column 'y' not found"),
    "one class": (GOOD.assign(y=1), [], "has only '1'"),
    "empty file": ("", [], "cannot read it as a table (the file is empty)"),
    "only a header": ("a,y\n", [], "the table has no rows"),
    "no usable feature": (GOOD.assign(a=np.nan), [], "every feature column is empty"),
    "too few of a class": (GOOD.assign(y=[0] * 19 + [1]), ["--cv", "2"], "has 1 row(s)"),
    "multiclass with --cost": (THREE, ["--cost", "1,5", "--cv", "2"], "defined for two classes"),
    "multiclass recall@precision": (
        THREE,
        ["--optimize", "recall@precision=0.5", "--cv", "2"],
        "use --optimize f1 (macro)",
    ),
}


def _write(tmp_path, content):
    path = tmp_path / "data.csv"
    if isinstance(content, str):
        path.write_text(content)
    else:
        content.to_csv(path, index=False)
    return path


def _run(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(argv)
    return status, stderr.getvalue()


def _assert_one_line(status, err, command, message):
    assert status == 2
    assert err.startswith(f"imbnet {command}: error: "), err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("case", list(COMPARE_CASES))
def test_bad_compare_argument_or_file_is_one_line(case, tmp_path):
    content, extra, message = COMPARE_CASES[case]
    path = _write(tmp_path, content)
    argv = ["compare", "--data", str(path), "--target", "y", "--epochs", "1", *extra]
    if "--target" in extra:
        argv[3:5] = []
    _assert_one_line(*_run(argv), "compare", message)


# case -> (argv after "fit --data FILE --target y --save MODEL", message)
FIT_CASES = {
    "--threshold above 1": (["--threshold", "1.5"], "must be a probability in [0, 1], got 1.5"),
    "--threshold text": (["--threshold", "half"], "argument --threshold: 'half' is not a number"),
    "--threshold and --optimize": (
        ["--threshold", "0.5", "--optimize", "f1"],
        "not allowed with argument --threshold",
    ),
    "--optimize unknown": (["--optimize", "auc"], "'auc' is not one of f1|"),
    "--cost one number": (["--cost", "7"], "argument --cost: '7' is not FP,FN"),
    "--optimize cost without --cost": (["--optimize", "cost"], "needs --cost FP,FN"),
    "--epochs 0": (["--epochs", "0"], "argument --epochs: must be at least 1"),
    "unknown strategy": (["--strategy", "magic"], "argument --strategy: invalid choice"),
    "bad target column name": (["--target", "label"], "target column 'label' not found"),
    "--threshold with three classes": (["--threshold", "0.5", "--three"], "defined for two"),
    "--cost with three classes": (["--cost", "1,5", "--three"], "defined for two classes"),
}


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_bad_fit_argument_is_one_line(case, tmp_path):
    extra, message = FIT_CASES[case]
    data = THREE if "--three" in extra else GOOD
    extra = [a for a in extra if a != "--three"]
    path = _write(tmp_path, data)
    argv = ["fit", "--data", str(path), "--target", "y", "--save", str(tmp_path / "m.imbnet")]
    if "--target" in extra:
        argv[3:5] = []
    _assert_one_line(*_run([*argv, *extra]), "fit", message)
    assert not (tmp_path / "m.imbnet").exists()


def test_other_commands_errors_are_one_line(tmp_path):
    missing = str(tmp_path / "nope.csv")
    fake = tmp_path / "model.imbnet"
    fake.write_text("a,b\n1,2\n")
    cases = [
        (["compare", "--data", missing, "--target", "y"], "compare", "no such file"),
        (["compare", "--data", str(fake)], "compare", "--target is required with --data"),
        (["predict", "--model", missing, "--data", missing], "predict", "no such file"),
        (
            ["predict", "--model", str(fake), "--data", str(fake)],
            "predict",
            "not an imbnet model file",
        ),
        (["predict", "--data", str(fake)], "predict", "the following arguments are required"),
        (["fit", "--data", missing, "--save", missing], "fit", "no such file"),
        (["fit", "--strategy", "magic", "--save", missing], "fit", "argument --strategy"),
    ]
    for argv, command, message in cases:
        _assert_one_line(*_run(argv), command, message)
    status, err = _run(["launch"])
    assert status == 2 and err.startswith("imbnet: error: ") and len(err.splitlines()) == 1


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory):
    """A saved logistic-regression pipeline and a 20,000-row table it predicts."""
    tmp = tmp_path_factory.mktemp("model")
    rng = np.random.default_rng(0)
    n = 20000
    frame = pd.DataFrame({"amount": rng.normal(size=n), "channel": rng.choice(["web", "shop"], n)})
    frame["label"] = np.where(frame["amount"] + rng.normal(size=n) > 1.5, "fraud", "ok")
    data = tmp / "rows.csv"
    frame.to_csv(data, index=False)
    model = tmp / "model.imbnet"
    assert (
        _run(
            [
                "fit",
                "--data",
                str(data),
                "--target",
                "label",
                "--strategy",
                "logreg",
                "--save",
                str(model),
            ]
        )[0]
        == 0
    )
    return model, data, frame


def test_predict_text_in_a_numeric_column_is_one_line(model_and_data, tmp_path):
    model, _, frame = model_and_data
    bad = frame.head(10).astype({"amount": object})
    bad.loc[3, "amount"] = "12,50 EUR"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    status, err = _run(["predict", "--model", str(model), "--data", str(path)])
    _assert_one_line(
        status,
        err,
        "predict",
        "column 'amount' was numeric when the model was trained but holds text "
        "('12,50 EUR' in data row 4)",
    )


@pytest.mark.slow
def test_predict_into_a_closed_pipe_is_one_line(model_and_data):
    """``imbnet predict ... | head -1``: the reader leaves early; no BrokenPipeError traceback."""
    model, data, _ = model_and_data
    process = subprocess.Popen(
        [sys.executable, "-m", "imbnet", "predict", "--model", str(model), "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert process.stdout.readline() == b"prediction\n"
    process.stdout.close()  # as head does after its line
    err = process.stderr.read().decode()
    assert process.wait(timeout=300) == 2
    _assert_one_line(2, err, "predict", "standard output was closed before all rows")
