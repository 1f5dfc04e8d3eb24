"""From comparison to deployment: the decision saved by ``imbnet fit``, used by ``predict``."""

import contextlib
import io

import numpy as np
import pandas as pd
import pytest

from imbnet.cli import main


def run(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(argv)
    return status, stdout.getvalue(), stderr.getvalue()


def claims(n, seed, rate=0.03):
    """Rare positives, numeric columns with NaN, a categorical ``channel``."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(size=n) + 2.5 * y,
            "delay": rng.normal(size=n) - 1.5 * y,
            "channel": np.where(y == 1, "web", rng.choice(["web", "phone", "agent"], size=n)),
            "fraud": y,
        }
    )
    for column in ("amount", "delay"):
        frame.loc[rng.random(n) < 0.05, column] = np.nan
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("claims")
    train, new = claims(600, 0), claims(600, 1)
    train.to_csv(folder / "train.csv", index=False)
    new.drop(columns="fraud").to_csv(folder / "new.csv", index=False)
    return folder, new["fraud"].to_numpy()


def test_fit_tunes_the_threshold_and_predict_uses_it(files):
    folder, truth = files
    model = str(folder / "balanced.imbnet")
    argv = ["fit", "--data", str(folder / "train.csv"), "--target", "fraud"]
    status, stdout, stderr = run(
        [*argv, "--strategy", "balanced", "--epochs", "5", "--save", model]
    )
    assert status == 0, stderr
    assert "threshold tuned for F1 inside the training rows" in stdout
    # Epoch-limit ConvergenceWarnings: one counted line, not one per network.
    assert stderr.count("epoch limit") <= 1 and "ConvergenceWarning" not in stderr
    output = str(folder / "labels.csv")
    status, _, stderr = run(
        ["predict", "--model", model, "--data", str(folder / "new.csv"), "--output", output]
    )
    assert status == 0, stderr
    assert "threshold tuned for F1" in stderr and "labelled 1" in stderr
    flagged = pd.read_csv(output)["prediction"].mean()
    # At 0.5 the balanced network flags many times the true rate; tuned, a few times at most.
    assert truth.mean() / 4 <= flagged <= 3 * truth.mean()


def test_smotenc_model_saves_loads_and_predicts(files):
    folder, truth = files
    model = str(folder / "smote.imbnet")
    status, stdout, stderr = run(
        [
            "fit",
            "--data",
            str(folder / "train.csv"),
            "--target",
            "fraud",
            "--strategy",
            "smote",
            "--epochs",
            "2",
            "--threshold",
            "0.7",
            "--save",
            model,
        ]
    )
    assert status == 0, stderr
    assert "P(1) >= 0.7 (threshold given with --threshold)" in stdout
    status, stdout, stderr = run(["predict", "--model", model, "--data", str(folder / "new.csv")])
    assert status == 0, stderr
    labels = pd.read_csv(io.StringIO(stdout))["prediction"]
    assert len(labels) == len(truth) and set(labels) <= {0, 1}


@pytest.mark.parametrize("strategy", ["balanced", "smote"])  # named / positional encoders
def test_predict_says_which_rows_had_filled_in_or_unseen_values(files, strategy):
    folder, _ = files
    model = str(folder / f"notes-{strategy}.imbnet")
    train = ["--data", str(folder / "train.csv"), "--target", "fraud"]
    settings = ["--strategy", strategy, "--epochs", "1", "--threshold", "0.5", "--save", model]
    status, _, stderr = run(["fit", *train, *settings])
    assert status == 0, stderr
    new = pd.read_csv(folder / "new.csv").iloc[:40].copy()
    new[["amount", "delay"]] = new[["amount", "delay"]].fillna(0.0)
    clean = str(folder / f"clean-{strategy}.csv")
    new.to_csv(clean, index=False)
    status, stdout, stderr = run(["predict", "--model", model, "--data", clean])
    assert status == 0, stderr
    assert "missing values" not in stderr and "not seen in training" not in stderr
    before = pd.read_csv(io.StringIO(stdout))["prediction"]
    new.loc[[3, 7], "amount"] = np.nan
    new.loc[[5, 7, 9], "channel"] = "fax"  # a channel the training rows never had
    odd = str(folder / f"odd-{strategy}.csv")
    new.to_csv(odd, index=False)
    status, stdout, stderr = run(["predict", "--model", model, "--data", odd])
    assert status == 0, stderr
    assert "2 of 40 rows have missing values (in 'amount'): filled by" in stderr
    assert "3 of 40 rows have a value of 'channel' not seen in training (e.g. 'fax')" in stderr
    after = pd.read_csv(io.StringIO(stdout))["prediction"]
    untouched = ~new.index.isin([3, 5, 7, 9])
    # Every row still gets a label; the others get the same one as before.
    assert len(after) == 40 and after[untouched].equals(before[untouched])


def test_predict_trusted_names_reach_imbnet_load(files):
    folder, _ = files
    model = str(folder / "balanced.imbnet")
    if not (folder / "balanced.imbnet").exists():
        pytest.skip("needs the fitted model of the test above")
    status, _, stderr = run(
        [
            "predict",
            "--model",
            model,
            "--data",
            str(folder / "new.csv"),
            "--trusted",
            "mymodule.builder",
            "--output",
            str(folder / "x.csv"),
        ]
    )
    assert status == 0, stderr


def test_compare_says_when_flagging_nothing_is_not_beaten(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({"noise": rng.normal(size=n), "other": rng.normal(size=n)})
    frame["fraud"] = (rng.random(n) < 0.03).astype(int)
    frame.loc[:10, "fraud"] = 1  # enough positives for the folds; unrelated to the features
    data = tmp_path / "noise.csv"
    frame.to_csv(data, index=False)
    status, stdout, stderr = run(
        [
            "compare",
            "--data",
            str(data),
            "--target",
            "fraud",
            "--strategies",
            "logreg",
            "--cv",
            "2",
            "--cost",
            "1,1",
        ]
    )
    assert status == 0, stderr
    assert "recommended: flag nothing" in stdout and "no strategy beats it" in stdout


def test_compare_names_the_fit_command_and_unmet_constraints(files):
    folder, _ = files
    status, stdout, stderr = run(
        [
            "compare",
            "--data",
            str(folder / "train.csv"),
            "--target",
            "fraud",
            "--strategies",
            "logreg",
            "--cv",
            "2",
            "--optimize",
            "recall@precision=1",
        ]
    )
    assert status == 0, stderr
    assert "imbnet fit --data" in stdout.replace("\n    ", " ")
    assert "--strategy logreg" in stdout.replace("\n    ", " ")
    if "no strategy reaches precision >= 1" in stdout:
        assert "closest to the constraint (not meeting it): logreg" in stdout


@pytest.mark.parametrize("value", ["0", "-2", "x"])
def test_bad_n_jobs_is_one_line_with_status_2(value):
    status, stdout, stderr = run(["compare", "--n-jobs", value])
    assert status == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and "--n-jobs" in stderr
