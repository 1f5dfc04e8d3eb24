"""The ``imbnet`` command line: compare, fit, predict, and its errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import Pipeline

from imbnet.cli import main
from imbnet.cli._data import make_preprocessor
from imbnet.cli._strategies import make_steps

STRATEGIES = "balanced,undersample,balanced_batches,logreg"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """``imbnet compare`` on the built-in data: (exit status, stdout, out dir)."""
    out = tmp_path_factory.mktemp("compare")
    argv = ["compare", "--epochs", "2", "--cv", "2", "--strategies", STRATEGIES, "--out", str(out)]
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(argv)
    return status, stdout.getvalue(), stderr.getvalue(), out


@pytest.fixture(scope="module")
def messy_csv(tmp_path_factory):
    """A table with numeric, categorical, boolean and missing values; 1:7 string target."""
    rng = np.random.default_rng(0)
    n = 400
    y = np.where(rng.random(n) < 0.125, "fraud", "ok")
    frame = pd.DataFrame(
        {
            "amount": rng.normal(size=n) + 2.0 * (y == "fraud"),
            "age": rng.integers(18, 90, size=n).astype(float),
            "country": rng.choice(["fr", "de", "es", None], size=n),
            "channel": np.where(y == "fraud", "web", rng.choice(["web", "shop"], size=n)),
            "vip": rng.random(n) < 0.2,
            "label": y,
        }
    )
    frame.loc[rng.random(n) < 0.1, "amount"] = np.nan
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    path = tmp_path_factory.mktemp("data") / "messy.csv"
    frame.to_csv(path, index=False)
    return path


def test_compare_default_data_prints_ranked_table(default_run):
    status, stdout, stderr, out = default_run
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    names = [s["name"] for s in results["strategies"]]
    assert sorted(names) == sorted(STRATEGIES.split(","))
    assert results["minority"] == 1 and results["counts"] == [9900, 100]
    # Ranked by average precision, best first, and the table shows the JSON's numbers.
    ap = [s["scores"]["average_precision"]["mean"] for s in results["strategies"]]
    assert ap == sorted(ap, reverse=True)
    table_rows = [
        line.split()
        for line in stdout.splitlines()
        if line.split()[1:2] and line.split()[1] in names
    ]
    assert [row[1] for row in table_rows] == names
    for row, strategy in zip(table_rows, results["strategies"]):
        roc = strategy["scores"]["roc_auc"]
        assert row[2:5] == [f"{roc['mean']:.3f}", "±", f"{roc['sd']:.3f}"]
        assert 0.5 < roc["mean"] <= 1 and len(roc["folds"]) == 2
    # The progress bar counted strategies x folds.
    assert "8/8" in stderr


def test_compare_writes_csv_figures_and_report(default_run):
    _, _, _, out = default_run
    results = json.loads((out / "results.json").read_text())
    table = pd.read_csv(out / "results.csv")
    assert list(table["strategy"]) == [s["name"] for s in results["strategies"]]
    np.testing.assert_allclose(
        table["roc_auc_mean"], [s["scores"]["roc_auc"]["mean"] for s in results["strategies"]]
    )
    import matplotlib.image

    for name in ("roc_curves.png", "precision_recall_curves.png"):
        image = matplotlib.image.imread(out / name)
        assert image.shape[0] > 300 and image[..., :3].std() > 0.05
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 2
    for strategy in results["strategies"]:
        ap = strategy["scores"]["average_precision"]
        assert f"<td>{strategy['name']}</td>" in report
        assert f"{ap['mean']:.3f} ± {ap['sd']:.3f}" in report


def test_compare_on_messy_csv(messy_csv, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(
        [
            "compare",
            "--data",
            str(messy_csv),
            "--target",
            "label",
            "--epochs",
            "40",
            "--cv",
            "3",
            "--strategies",
            "smote,balanced_batches,hgb",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    assert results["minority"] == "fraud"
    assert all(s["error"] is None for s in results["strategies"])
    # The signal (amount, channel) is found through imputation and one-hot encoding.
    assert min(s["scores"]["roc_auc"]["mean"] for s in results["strategies"]) > 0.75
    assert (out / "report.html").exists()


def test_fit_then_predict_matches_in_memory(messy_csv, tmp_path, capsys):
    model = tmp_path / "model.imbnet"
    proba_csv, labels_csv = tmp_path / "proba.csv", tmp_path / "labels.csv"
    base = ["--data", str(messy_csv)]
    assert (
        main(
            [
                "fit",
                *base,
                "--target",
                "label",
                "--strategy",
                "balanced_batches",
                "--epochs",
                "3",
                "--random-state",
                "7",
                "--save",
                str(model),
            ]
        )
        == 0
    )
    assert (
        main(["predict", "--model", str(model), *base, "--proba", "--output", str(proba_csv)]) == 0
    )
    assert main(["predict", "--model", str(model), *base, "--output", str(labels_csv)]) == 0

    frame = pd.read_csv(messy_csv)
    X, y = frame.drop(columns=["label"]), frame["label"].to_numpy()
    pipeline = Pipeline(
        [("preprocess", make_preprocessor(X)), *make_steps("balanced_batches", 3, 7)]
    )
    pipeline.fit(X, y)
    proba = pd.read_csv(proba_csv)
    assert list(proba.columns) == ["proba_fraud", "proba_ok"]
    # NumPy's parser reads the written digits back exactly; pandas < 3 may be 1 ulp off.
    exact = np.loadtxt(proba_csv, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(exact, pipeline.predict_proba(X))
    np.testing.assert_array_equal(pd.read_csv(labels_csv)["prediction"], pipeline.predict(X))
    # Printed to standard output without --output.
    capsys.readouterr()
    assert main(["predict", "--model", str(model), *base]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "prediction"


def _bad_tables(tmp_path):
    good = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 5, "y": [0, 1] * 10})
    files = {}
    files["missing target column"] = (good.drop(columns="y"), "target column 'y' not found")
    files["one class"] = (good.assign(y=1), "has only '1'")
    files["empty"] = ("", "cannot read it as a table (the file is empty)")
    files["only header"] = ("a,y\n", "the table has no rows")
    files["no usable feature"] = (good.assign(a=np.nan), "every feature column is empty")
    files["too few of a class"] = (good.assign(y=[0] * 19 + [1]), "has 1 row(s)")
    paths = {}
    for case, (content, message) in files.items():
        path = tmp_path / f"{case.replace(' ', '_')}.csv"
        if isinstance(content, str):
            path.write_text(content)
        else:
            content.to_csv(path, index=False)
        paths[case] = (path, message)
    return paths


@pytest.mark.parametrize(
    "case",
    [
        "missing target column",
        "one class",
        "empty",
        "only header",
        "no usable feature",
        "too few of a class",
    ],
)
def test_bad_file_is_one_line_and_nonzero_exit(case, tmp_path, capsys):
    path, message = _bad_tables(tmp_path)[case]
    status = main(["compare", "--data", str(path), "--target", "y", "--epochs", "1", "--cv", "2"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("imbnet compare: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_other_errors_are_one_line(tmp_path, capsys):
    missing = str(tmp_path / "nope.csv")
    cases = [
        (["compare", "--data", missing, "--target", "y"], "no such file"),
        (["compare", "--strategies", "balanced,magic"], "unknown strategy ['magic']"),
        (["predict", "--model", missing, "--data", missing], "no such file"),
        (["fit", "--data", missing, "--save", missing], "no such file"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, argv


def test_predict_refuses_a_file_that_is_not_a_model(tmp_path, capsys):
    fake = tmp_path / "model.imbnet"
    fake.write_text("a,b\n1,2\n")
    assert main(["predict", "--model", str(fake), "--data", str(fake)]) == 2
    assert "not an imbnet model file" in capsys.readouterr().err


def test_module_entry_point_exits_nonzero_without_traceback(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "imbnet", "compare", "--data", str(empty), "--target", "y"],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 2
    assert "imbnet compare: error:" in done.stderr and "Traceback" not in done.stderr


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _chromium():
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("IMBNET_REQUIRE_BROWSER"):
            pytest.fail("IMBNET_REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("chromium is not installed (.ci/run installs it)")
    return found


def test_report_renders_in_headless_chromium(default_run, tmp_path):
    """The report opens in a real browser: its table in the DOM, its figures on screen."""
    import matplotlib.colors
    import matplotlib.image

    _, _, _, out = default_run
    results = json.loads((out / "results.json").read_text())
    url = (out / "report.html").resolve().as_uri()
    browser = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]

    dom = subprocess.run(
        [*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert dom.count("<tr>") == 1 + len(results["strategies"])
    for strategy in results["strategies"]:
        roc = strategy["scores"]["roc_auc"]
        assert f"<td>{strategy['name']}</td>" in dom
        assert f"{roc['mean']:.3f} ± {roc['sd']:.3f}" in dom

    shot = tmp_path / "report.png"
    subprocess.run(
        [*browser, "--window-size=1400,1300", f"--screenshot={shot}", url],
        capture_output=True, timeout=120, check=True,
    )
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (1300, 1400)
    assert pixels.std() > 0.05, "the screenshot is blank"
    # The curves are drawn in matplotlib's first colours: they appear only if the
    # embedded PNG figures were decoded and painted.
    for colour in ("tab:blue", "tab:orange"):
        rgb = np.array(matplotlib.colors.to_rgb(colour))
        close = np.abs(pixels - rgb).max(axis=-1) < 0.08
        assert close.sum() > 200, f"no {colour} curve pixels on the screenshot"
