"""The recommendation's snippet, the paired fold test, multiclass targets, the time budget."""

import contextlib
import io
import json
import runpy

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from imbnet.cli import main
from imbnet.cli._compare import _Budget
from imbnet.cli._metrics import corrected_paired_t_test
from imbnet.cli._strategies import STRATEGIES


def run(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(argv)
    return status, stdout.getvalue(), stderr.getvalue()


def messy(n=300, seed=1):
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.15, "fraud", "ok")
    return pd.DataFrame(
        {
            "amount": rng.normal(size=n) + 1.5 * (y == "fraud"),
            "channel": np.where(y == "fraud", "web", rng.choice(["web", "shop"], size=n)),
            "label": y,
        }
    )


@pytest.mark.slow
def test_snippet_rebuilds_the_pipeline_and_gives_the_same_scores(tmp_path, monkeypatch):
    """Run as a script, recommended.py cross-validates to the report's fold scores exactly,
    and saves the fitted model where ``imbnet predict`` loads it."""
    monkeypatch.chdir(tmp_path)  # recommended.py writes recommended.imbnet here
    data = tmp_path / "claims.csv"
    messy().to_csv(data, index=False)
    out = tmp_path / "out"
    status, _, _ = run(
        [
            "compare",
            "--data",
            str(data),
            "--target",
            "label",
            "--epochs",
            "3",
            "--cv",
            "2",
            "--strategies",
            "smote,balanced_batches",
            "--optimize",
            "recall@precision=0.3",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    rec = results["recommendation"]
    best = next(s for s in results["strategies"] if s["name"] == rec["strategy"])
    namespace = runpy.run_path(str(out / "recommended.py"), run_name="__main__")
    # compare trains a network strategy's fits side by side: the same fits as the
    # snippet's, up to float noise in the probabilities.
    np.testing.assert_allclose(namespace["scores"]["test_score"], best["raw_scores"], atol=0.02)
    # The refitted model decides at a tuned threshold and predicts the data's labels.
    model = namespace["model"]
    assert 0 < model.best_threshold_ < 1
    assert set(model.predict(namespace["X"])) <= {"fraud", "ok"}
    status, stdout, stderr = run(["predict", "--model", "recommended.imbnet", "--data", str(data)])
    assert status == 0, stderr
    assert "threshold tuned for recall at precision >= 0.3" in stderr


def test_corrected_paired_test_is_more_cautious_than_the_plain_one():
    rng = np.random.default_rng(0)
    differences = rng.normal(0.02, 0.02, size=5)
    t, p = corrected_paired_t_test(differences, test_fraction=1 / 5)
    plain = stats.ttest_1samp(differences, 0.0)
    assert abs(t) < abs(plain.statistic) and p > plain.pvalue
    # n_test/n_train -> 0 (no overlap between training sets): the plain test's 1/k variance.
    t_no_overlap, _ = corrected_paired_t_test(differences, test_fraction=1e-12)
    np.testing.assert_allclose(t_no_overlap, plain.statistic)
    assert corrected_paired_t_test(np.zeros(5), 0.2) == (0.0, 1.0)


def test_multiclass_target_macro_metrics_and_per_class_recall(tmp_path):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=600,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        weights=[0.7, 0.22, 0.08],
        random_state=0,
    )
    frame = pd.DataFrame(X, columns=list("abcd")).assign(kind=np.array(["a", "b", "c"])[y])
    data = tmp_path / "three.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    status, stdout, _ = run(
        [
            "compare",
            "--data",
            str(data),
            "--target",
            "kind",
            "--epochs",
            "20",
            "--cv",
            "2",
            "--strategies",
            "balanced,logreg",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    assert results["multiclass"] and results["minority"] == "c"
    assert results["objective"]["label"] == "macro F1"
    for strategy in results["strategies"]:
        s = strategy["scores"]
        assert "threshold" not in strategy  # decisions are the most probable class
        # The objective (the scorer) is the macro F1 of the decisions, fold by fold.
        np.testing.assert_allclose(s["objective"]["folds"], s["macro_f1"]["folds"])
        assert all(0 <= s[f"recall[{c}]"]["mean"] <= 1 for c in "abc")
        assert np.array(strategy["confusion"]).shape == (3, 3)
        assert 0.5 < s["roc_auc"]["mean"] <= 1
    report = (out / "report.html").read_text()
    assert 'id="per-class"' in report and "recall c" in report
    assert "macro F1" in stdout


def test_time_budget_skips_what_would_not_finish_and_says_so(tmp_path):
    data = tmp_path / "claims.csv"
    messy().to_csv(data, index=False)
    out = tmp_path / "out"
    status, stdout, _ = run(
        [
            "compare",
            "--data",
            str(data),
            "--target",
            "label",
            "--epochs",
            "3",
            "--cv",
            "2",
            "--strategies",
            "balanced,balanced_batches",
            "--time-budget",
            "1",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    by_name = {s["name"]: s for s in results["strategies"]}
    # The first strategy runs (nothing was measured yet); its eight network fits spend
    # the second's second.
    assert by_name["balanced"]["skipped"] is None and by_name["balanced"]["scores"]
    skipped = by_name["balanced_batches"]["skipped"]
    assert skipped.startswith("skipped:") and f"balanced_batches: {skipped}" in stdout
    assert skipped in (out / "report.html").read_text()


def test_time_budget_shortens_a_network_to_what_is_left():
    budget = _Budget(100.0)
    network = STRATEGIES["balanced"]
    budget.record(network, epochs=10, seconds=20.0)  # 2 s per epoch
    assert budget.plan(network, 40) == (40, None)  # 80 s of 100
    epochs, note = budget.plan(network, 200)  # 400 s: shortened to about 50 epochs
    assert 45 <= epochs <= 50 and note.startswith(f"shortened to {epochs} epochs (of 200)")
    epochs, note = budget.plan(network, 10_000)
    assert 2 <= epochs <= 1000
    tight = _Budget(4.0)
    tight.record(network, epochs=10, seconds=20.0)
    assert tight.plan(network, 50)[0] is None  # under the minimum epochs: skipped
