"""The command line on a table with a free-text column: detected or named, the text
strategies beside the tabular ones, fit and predict of a text strategy."""

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest

from imbnet.cli import main
from imbnet.cli._data import column_kinds, is_free_text, split_text_columns
from imbnet.cli._errors import CommandError
from imbnet.cli._strategies import STRATEGIES
from imbnet.cli._text import join_text, runnable_strategies


def run(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(argv)
    return status, stdout.getvalue(), stderr.getvalue()


def tickets(n, seed, rate=0.1):
    """A ticket's description (fraud says one of a few words 60 % of the time), an
    amount (higher for fraud, some missing), a channel, and the target."""
    rng = np.random.default_rng(seed)
    common = [f"w{i}" for i in range(80)]
    signal = ["refund", "stolen", "chargeback", "dispute"]
    y = (rng.random(n) < rate).astype(int)
    said = rng.random(n) < 0.6
    docs = []
    for label, s in zip(y, said):
        words = list(rng.choice(common, rng.integers(4, 12)))
        if (label and s) or rng.random() < 0.02:
            words.extend(rng.choice(signal, 2))
        rng.shuffle(words)
        docs.append(" ".join(words))
    frame = pd.DataFrame(
        {
            "description": docs,
            "amount": rng.normal(100, 20, n) + 60 * y,
            "channel": rng.choice(["web", "phone"], n),
            "fraud": y,
        }
    )
    frame.loc[rng.random(n) < 0.05, "amount"] = np.nan
    frame.loc[rng.random(n) < 0.03, "description"] = np.nan
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tickets")
    tickets(300, 0).to_csv(folder / "train.csv", index=False)
    new = tickets(200, 1)
    new.drop(columns="fraud").to_csv(folder / "new.csv", index=False)
    tickets(300, 2)[["description", "fraud"]].to_csv(folder / "text_only.csv", index=False)
    return folder, new["fraud"].to_numpy()


# ------------------------------------------------------------------ detection
def test_free_text_is_told_from_categories_by_the_documented_rule():
    rng = np.random.default_rng(0)
    n = 200
    message = pd.Series([f"hello {i} see you at {rng.integers(100)}" for i in range(n)])
    city = pd.Series(rng.choice(["New York", "San Francisco", "Le Mans"], n))  # few values
    code = pd.Series([f"A{i:04d}" for i in range(n)])  # many values, one word each
    assert is_free_text(message)
    assert not is_free_text(city) and not is_free_text(code)
    assert not is_free_text(pd.Series(np.arange(n, dtype=float)))
    # too few distinct values for text (at most MAX_CATEGORIES): one-hot encoded instead
    assert not is_free_text(message[:50])
    frame = pd.DataFrame({"message": message, "city": city, "code": code, "x": 1.0})
    numeric, categorical = column_kinds(frame)
    assert split_text_columns(frame, numeric, categorical) == (["city", "code"], ["message"])
    # named columns replace the detection
    named = split_text_columns(frame, numeric, categorical, "code")
    assert named == (["message", "city"], ["code"])
    assert split_text_columns(frame, numeric, categorical, "none")[1] == []
    with pytest.raises(CommandError, match="no column 'body'"):
        split_text_columns(frame, numeric, categorical, "body")
    with pytest.raises(CommandError, match="'x' is numeric"):
        split_text_columns(frame, numeric, categorical, "x")


def test_text_strategies_run_only_where_the_columns_allow():
    default = list(STRATEGIES)
    names, notes = runnable_strategies(
        default, STRATEGIES, numeric=("a",), categorical=(), text=(), explicit=False
    )
    assert "text" not in names and "balanced" in names and notes == []
    names, notes = runnable_strategies(
        default, STRATEGIES, numeric=(), categorical=(), text=("body",), explicit=False
    )
    assert names == ["text", "text_logreg"]  # no numeric column: no text_tabular either
    assert "tabular strategies use nothing" in notes[0]
    with pytest.raises(CommandError, match="needs a free-text column"):
        runnable_strategies(
            ["text"], STRATEGIES, numeric=("a",), categorical=(), text=(), explicit=True
        )


def test_join_text_reads_missing_text_as_empty_and_categories_as_words():
    frame = pd.DataFrame({"a": ["x y", None], "b": ["z", "w"], "kind": ["big one", np.nan]})
    np.testing.assert_array_equal(join_text(frame[["a", "b"]], flat=True), ["x y z", "w"])
    assert join_text(frame, categorical=1)[:, 0].tolist() == ["x y z kind_big_one", "w"]


# ------------------------------------------------------------------- compare
@pytest.fixture(scope="module")
def compared(files, tmp_path_factory):
    folder, _ = files
    out = tmp_path_factory.mktemp("report")
    argv = ["compare", "--data", str(folder / "train.csv"), "--target", "fraud"]
    argv += ["--epochs", "20", "--cv", "2", "--out", str(out), "--text-columns", "description"]
    argv += ["--strategies", "balanced,logreg,text,text_tabular,text_logreg"]
    return (*run(argv), out)


def _rows(stdout):
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) > 4 and parts[0].isdigit():
            rows[parts[1]] = float(parts[5])  # average precision
    return rows


@pytest.mark.slow
def test_compare_runs_the_text_strategies_beside_the_tabular_ones(compared):
    status, stdout, stderr, out = compared
    assert status == 0, stderr
    rows = _rows(stdout)
    assert set(rows) == {"balanced", "logreg", "text", "text_tabular", "text_logreg"}
    # The report says what became of the text column (its lines wrapped).
    said = " ".join(stdout.split())
    assert "free-text column(s) 'description'" in said
    assert "the tabular strategies use the other 2 column(s) only" in said
    # Text and numbers together beat either alone: the fraud shows in one or the other.
    assert rows["text_tabular"] > rows["balanced"] and rows["text_tabular"] > rows["text"], rows
    assert rows["text_logreg"] > rows["logreg"], rows
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["text_columns"] == ["description"]
    assert any("free-text" in note for note in results["notes"])
    # the fit command it prints names the text columns as they were given
    assert "--text-columns description" in said


@pytest.mark.slow
def test_the_recommended_script_rebuilds_a_text_strategy(compared):
    status, stdout, _, out = compared
    assert status == 0
    from imbnet.cli._recommend import snippet
    from imbnet.cli._strategies import Context

    results = json.loads((out / "results.json").read_text())
    source = (out / "recommended.py").read_text()
    compile(source, "recommended.py", "exec")
    # every text strategy's script, not only the winner's
    setup = _setup(results)
    ctx = Context(2, 0, ("amount",), ("channel",), ("description",))
    for name in ("text", "text_tabular", "text_logreg"):
        code = snippet(name, ctx, setup, "F1", "train.csv", "fraud")
        compile(code, f"{name}.py", "exec")
        assert "imbnet.cli import" in code and "description" in code


def _setup(results):
    from imbnet.cli._compare import Setup
    from imbnet.cli._objectives import parse_objective

    return Setup(parse_objective("f1"), (0, 1), 1)


def test_a_text_only_table_runs_the_text_strategies_and_refuses_tabular_ones(files):
    folder, _ = files
    argv = ["compare", "--data", str(folder / "text_only.csv"), "--target", "fraud"]
    argv += ["--epochs", "3", "--cv", "2"]
    status, stdout, stderr = run(argv)
    assert status == 0, stderr
    assert set(_rows(stdout)) == {"text", "text_logreg"}
    status, _, stderr = run([*argv, "--strategies", "balanced"])
    assert status == 2
    assert "strategy 'balanced' needs numeric or categorical columns" in stderr
    # detection off: the column is a category, and the text strategy has nothing to read
    status, _, stderr = run([*argv, "--text-columns", "none", "--strategies", "text"])
    assert status == 2 and "needs a free-text column" in stderr


# --------------------------------------------------------------- fit, predict
def test_fit_a_text_strategy_then_predict_new_rows_at_its_threshold(files):
    folder, truth = files
    model = str(folder / "text_tabular.imbnet")
    argv = ["fit", "--data", str(folder / "train.csv"), "--target", "fraud"]
    argv += ["--strategy", "text_tabular", "--epochs", "20", "--save", model]
    status, stdout, stderr = run(argv)
    assert status == 0, stderr
    assert "threshold tuned for F1 inside the training rows" in stdout
    output = folder / "labels.csv"
    status, _, stderr = run(
        ["predict", "--model", model, "--data", str(folder / "new.csv"), "--output", str(output)]
    )
    assert status == 0, stderr
    labels = pd.read_csv(output)["prediction"].to_numpy()
    assert len(labels) == len(truth)
    assert "labelled 1" in stderr
    # Better than chance: most flagged rows are fraud, most fraud is flagged.
    flagged = labels == 1
    assert (truth[flagged] == 1).mean() > 0.5 and flagged[truth == 1].mean() > 0.5
    # the text column missing at predict: named
    frame = pd.read_csv(folder / "new.csv").drop(columns="description")
    frame.to_csv(folder / "no_text.csv", index=False)
    status, _, stderr = run(["predict", "--model", model, "--data", str(folder / "no_text.csv")])
    assert status == 2 and "missing: ['description']" in stderr


def test_text_tabular_reads_a_row_without_words_as_no_text(tmp_path):
    """Without categorical columns (whose values become words) a missing description is
    a document of no words, which text_tabular's network averaged to NaN: its fit
    stopped as "diverged". It now reads as one word of its own, at fit and predict."""
    from imbnet.cli._text import EMPTY_DOCUMENT, named_frame

    frame = named_frame([["", 1.0], ["!! ?", 2.0], ["a b", 3.0]], ["t", "x"], mark_empty=True)
    assert frame["t"].tolist() == [EMPTY_DOCUMENT, EMPTY_DOCUMENT, "a b"]
    old = named_frame([["", 1.0]], ["t", "x"])  # models saved before: as they were
    assert old["t"].tolist() == [""]
    table = tickets(300, 0).drop(columns="channel")
    table.to_csv(tmp_path / "train.csv", index=False)
    new = tickets(60, 1).drop(columns=["channel", "fraud"])
    new.loc[:4, "description"] = np.nan
    new.to_csv(tmp_path / "new.csv", index=False)
    model = str(tmp_path / "m.imbnet")
    argv = ["fit", "--data", str(tmp_path / "train.csv"), "--target", "fraud"]
    status, _, stderr = run([*argv, "--strategy", "text_tabular", "--epochs", "5", "--save", model])
    assert status == 0, stderr
    output = tmp_path / "proba.csv"
    argv = ["predict", "--model", model, "--data", str(tmp_path / "new.csv"), "--proba"]
    status, _, stderr = run([*argv, "--output", str(output)])
    assert status == 0, stderr
    proba = pd.read_csv(output).to_numpy()
    assert proba.shape == (60, 2) and np.isfinite(proba).all()


def test_fit_refuses_a_text_strategy_without_text_and_a_named_column_that_is_not_there(files):
    folder, _ = files
    argv = ["fit", "--data", str(folder / "train.csv"), "--target", "fraud", "--epochs", "1"]
    argv += ["--save", str(folder / "never.imbnet")]
    status, _, stderr = run([*argv, "--strategy", "text", "--text-columns", "none"])
    assert status == 2 and "needs a free-text column" in stderr
    status, _, stderr = run([*argv, "--strategy", "text", "--text-columns", "body"])
    assert status == 2 and "--text-columns: no column 'body'" in stderr
    assert not (folder / "never.imbnet").exists()
