"""The ``imbnet`` command line: compare, its report and recommendation, fit and predict."""

import contextlib
import io
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from imbnet.cli import main
from imbnet.cli._data import column_kinds
from imbnet.cli._strategies import Context, make_pipeline

STRATEGIES = "balanced,undersample,balanced_batches,logreg"
COST = (1.0, 20.0)


def run(argv):
    """``main(argv)`` in this process: (exit status, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(argv)
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """``imbnet compare --cost 1,20`` on the built-in data: (status, stdout, stderr, out dir)."""
    out = tmp_path_factory.mktemp("compare")
    argv = [
        "compare",
        "--epochs",
        "2",
        "--cv",
        "2",
        "--strategies",
        STRATEGIES,
        "--cost",
        ",".join(map(str, COST)),
        "--out",
        str(out),
    ]
    return (*run(argv), out)


def make_messy(n=400, seed=0):
    """Numeric, categorical, boolean and missing values; a 1:7 string target."""
    rng = np.random.default_rng(seed)
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
    return frame


@pytest.fixture(scope="module")
def messy_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "messy.csv"
    make_messy().to_csv(path, index=False)
    return path


def _table_rows(stdout, names):
    return [
        line.split()
        for line in stdout.splitlines()
        if line.split()[1:2] and line.split()[1] in names and line.split()[0].isdigit()
    ]


def test_compare_ranks_by_the_tuned_objective(default_run):
    status, stdout, stderr, out = default_run
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    names = [s["name"] for s in results["strategies"]]
    assert sorted(names) == sorted(STRATEGIES.split(","))
    assert results["minority"] == 1 and results["counts"] == [9900, 100]
    # --cost makes the objective the expected cost: ranked lowest first.
    assert results["objective"]["name"] == "cost"
    costs = [s["scores"]["objective"]["mean"] for s in results["strategies"]]
    assert costs == sorted(costs)
    # The table shows the JSON's numbers, in order, and fits in 120 columns.
    rows = _table_rows(stdout, names)
    assert [row[1] for row in rows] == names
    for row, strategy in zip(rows, results["strategies"]):
        objective = strategy["scores"]["objective"]
        assert row[2:5] == [f"{objective['mean']:.1f}", "±", f"{objective['sd']:.1f}"]
        assert row[5] == f"{strategy['scores']['roc_auc']['mean']:.3f}"
    assert max(len(line) for line in stdout.splitlines()) <= 120
    assert "8/8" in stderr  # the progress bar counted strategies x folds


def test_thresholds_are_tuned_in_each_training_fold(default_run):
    """One threshold per outer fold; the decisions at it are the confusion matrix's."""
    results = json.loads((default_run[3] / "results.json").read_text())
    assert results["inner_cv"] >= 2
    for strategy in results["strategies"]:
        thresholds = strategy["threshold"]["folds"]
        assert len(thresholds) == 2 and all(0 < t < 1 for t in thresholds)
        (tn, fp), (fn, tp) = strategy["confusion"]
        assert tn + fp + fn + tp == 10000 and fn + tp == 100
        # Equal folds (5,000 rows each): pooled rates equal the mean of the folds'.
        np.testing.assert_allclose(strategy["scores"]["recall"]["mean"], tp / (tp + fn))


def test_expected_costs_beside_flag_nothing_and_everything(default_run):
    _, stdout, _, out = default_run
    results = json.loads((out / "results.json").read_text())
    fp_cost, fn_cost = COST
    for strategy in results["strategies"]:
        s = strategy["scores"]
        (tn, fp), (fn, tp) = strategy["confusion"]
        np.testing.assert_allclose(s["cost"]["mean"], 1000 * (fp_cost * fp + fn_cost * fn) / 10000)
        np.testing.assert_allclose(s["objective"]["mean"], s["cost"]["mean"])
        np.testing.assert_allclose(s["cost_flag_nothing"]["mean"], 1000 * fn_cost * 100 / 10000)
        np.testing.assert_allclose(s["cost_flag_everything"]["mean"], 1000 * fp_cost * 9900 / 10000)
    assert "flag nothing: 200.0, flag everything: 990.0" in stdout


def test_prior_correction_improves_the_probabilities_of_rebalanced_networks(default_run):
    results = json.loads((default_run[3] / "results.json").read_text())
    by_name = {s["name"]: s["scores"] for s in results["strategies"]}
    for name in ("balanced", "undersample", "balanced_batches"):
        scores = by_name[name]
        assert scores["brier_corrected"]["mean"] < scores["brier"]["mean"]
        assert scores["log_loss_corrected"]["mean"] < scores["log_loss"]["mean"]
        assert 0 <= scores["ece_corrected"]["mean"] < scores["ece"]["mean"]
    assert "brier_corrected" not in by_name["logreg"]  # nothing to correct


def test_recommendation_with_paired_comparison(default_run):
    _, stdout, _, out = default_run
    results = json.loads((out / "results.json").read_text())
    rec = results["recommendation"]
    best, runner = results["strategies"][:2]
    assert rec["strategy"] == best["name"] and rec["runner_up"]["strategy"] == runner["name"]
    # Lower cost is better: the difference is the runner-up's extra cost, fold by fold.
    np.testing.assert_allclose(
        rec["runner_up"]["difference"]["folds"],
        np.subtract(runner["scores"]["objective"]["folds"], best["scores"]["objective"]["folds"]),
    )
    assert 0 <= rec["runner_up"]["p"] <= 1
    assert rec["runner_up"]["beyond_noise"] == (rec["runner_up"]["p"] < 0.05)
    verdict = "beyond fold noise" if rec["runner_up"]["beyond_noise"] else "within fold noise"
    assert f"recommended: {best['name']}" in stdout and verdict in stdout
    assert (out / "recommended.py").read_text() == rec["snippet"]


def test_joblib_process_pools_work_in_the_process_after_compare(default_run):
    # compare runs the references in a second process from a pool of its own: joblib's
    # reusable pool (GridSearchCV(n_jobs=2) later in the same process) stays joblib's.
    from joblib import Parallel, delayed

    assert default_run[0] == 0
    assert Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]


def test_compare_writes_csv_figures_and_report(default_run):
    import matplotlib.image

    _, _, _, out = default_run
    results = json.loads((out / "results.json").read_text())
    table = pd.read_csv(out / "results.csv")
    assert list(table["strategy"]) == [s["name"] for s in results["strategies"]]
    np.testing.assert_allclose(
        table["roc_auc_mean"], [s["scores"]["roc_auc"]["mean"] for s in results["strategies"]]
    )
    names = ["roc_curves", "precision_recall_curves", "calibration", "threshold_curves"]
    for name in names:
        image = matplotlib.image.imread(out / f"{name}.png")
        assert image.shape[0] > 300 and image[..., :3].std() > 0.05
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == len(names)
    for section in (
        'id="recommendation"',
        'id="results"',
        'id="costs"',
        'id="probabilities"',
        'id="confusion"',
        'id="snippet"',
    ):
        assert section in report
    for strategy in results["strategies"]:
        ap = strategy["scores"]["average_precision"]
        assert f'{ap["mean"]:.3f} <span class="sd">± {ap["sd"]:.3f}</span>' in report


def test_compare_on_messy_csv(messy_csv, tmp_path, monkeypatch):
    """Strings, categories, missing values; SMOTENC; the 'log' note; ROC axis names 'fraud'."""
    import matplotlib.pyplot as plt

    drawn = []
    monkeypatch.setattr(plt, "close", drawn.append)  # keep the report's figures to inspect
    out = tmp_path / "out"
    status, stdout, _ = run(
        [
            "compare",
            "--data",
            str(messy_csv),
            "--target",
            "label",
            "--epochs",
            "40",
            "--cv",
            "2",
            "--strategies",
            "smote,log,hgb",
            "--optimize",
            "balanced_accuracy",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    assert results["minority"] == "fraud"
    assert all(s["error"] is None for s in results["strategies"])
    assert min(s["scores"]["roc_auc"]["mean"] for s in results["strategies"]) > 0.75
    smote = next(s for s in results["strategies"] if s["name"] == "smote")
    assert smote["description"].startswith("SMOTENC")
    # 12.5% of the rows are 'fraud', above mu/e: "log" weights are all 1, and it is said.
    assert "note: class_weight='log' leaves every class at weight 1" in stdout
    assert "leaves every class at weight 1" in (out / "report.html").read_text()
    roc = next(f for f in drawn if f.axes[0].get_title().startswith("ROC"))
    assert "'fraud'" in roc.axes[0].get_title()
    assert "'fraud'" in roc.axes[0].get_xlabel() and "'fraud'" in roc.axes[0].get_ylabel()


def test_smote_meets_categories_before_one_hot_encoding(messy_csv):
    """Synthetic rows get real categories (SMOTENC), not fractions of one-hot columns."""
    frame = pd.read_csv(messy_csv)
    X, y = frame.drop(columns=["label"]), frame["label"].to_numpy()
    numeric, categorical = column_kinds(X)
    pipeline = make_pipeline("smote", Context(1, 0, tuple(numeric), tuple(categorical)))
    resample = pipeline[:2]  # impute, SMOTENC
    X_res, y_res = resample.fit_resample(X, y)
    assert (y_res == "fraud").sum() == (y_res == "ok").sum() > (y == "fraud").sum()
    synthetic = X_res[len(X) :, len(numeric) :]
    for k, column in enumerate(categorical):
        seen = set(frame[column].dropna().astype(str))
        assert set(synthetic[:, k]) <= seen, column


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
                "--threshold",  # the tuned threshold: tests/cli/test_cli_deploy.py
                "0.5",
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
    numeric, categorical = column_kinds(X)
    pipeline = make_pipeline("balanced_batches", Context(3, 7, tuple(numeric), tuple(categorical)))
    pipeline.fit(X, y)
    proba = pd.read_csv(proba_csv)
    assert list(proba.columns) == ["proba_fraud", "proba_ok"]
    # NumPy's parser reads the written digits back exactly; pandas < 3 may be 1 ulp off.
    exact = np.loadtxt(proba_csv, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(exact, pipeline.predict_proba(X))
    np.testing.assert_array_equal(pd.read_csv(labels_csv)["prediction"], pipeline.predict(X))
    capsys.readouterr()
    assert main(["predict", "--model", str(model), *base]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "prediction"


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
# Written into a copy of the report: the page's width as laid out by the browser.
MEASURE = (
    "<script>window.addEventListener('load', () => document.body.setAttribute("
    "'data-scroll-width', document.documentElement.scrollWidth));</script></body>"
)


def _chromium():
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("IMBNET_REQUIRE_BROWSER"):
            pytest.fail("IMBNET_REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("chromium is not installed (.ci/run installs it)")
    return found


def test_report_renders_in_headless_chromium_at_laptop_width(default_run, tmp_path):
    """The report in a real browser at 1280 px: every section, no horizontal scrolling,
    the figures painted."""
    import re

    import matplotlib.colors
    import matplotlib.image

    _, _, _, out = default_run
    results = json.loads((out / "results.json").read_text())
    browser = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    measured = out / "report_measured.html"
    measured.write_text((out / "report.html").read_text().replace("</body>", MEASURE))
    dom = subprocess.run(
        [
            *browser,
            "--window-size=1280,900",
            "--virtual-time-budget=5000",
            "--dump-dom",
            measured.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    width = int(re.search(r'data-scroll-width="(\d+)"', dom).group(1))
    assert width <= 1280, f"the report is {width} px wide: it scrolls sideways at 1280 px"
    for section in (
        "recommendation",
        "results",
        "costs",
        "probabilities",
        "confusion",
        "strategies",
        "rebuild",
        "snippet",
    ):
        assert f'id="{section}"' in dom, section
    for figure in ("roc", "pr", "calibration", "thresholds"):
        assert f'<img id="{figure}"' in dom, figure
    for strategy in results["strategies"]:
        roc = strategy["scores"]["roc_auc"]
        assert f'{roc["mean"]:.3f} <span class="sd">± {roc["sd"]:.3f}</span>' in dom
    assert f"<b>{results['recommendation']['strategy']}</b>" in dom

    shot = tmp_path / "report.png"
    subprocess.run(
        [
            *browser,
            "--window-size=1280,5200",
            f"--screenshot={shot}",
            (out / "report.html").resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (5200, 1280)
    assert pixels.std() > 0.05, "the screenshot is blank"
    # The curves are drawn in matplotlib's first colours: they appear only if the
    # embedded PNG figures were decoded and painted.
    for colour in ("tab:blue", "tab:orange", "tab:green"):
        rgb = np.array(matplotlib.colors.to_rgb(colour))
        close = np.abs(pixels - rgb).max(axis=-1) < 0.08
        assert close.sum() > 200, f"no {colour} curve pixels on the screenshot"
