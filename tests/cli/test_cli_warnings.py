"""compare's warnings: what a user cannot act on per fit is counted in one line, real
warnings are shown (once each)."""

import contextlib
import io
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from imbnet.cli import main
from imbnet.cli._strategies import STRATEGIES, Strategy, preprocess


def run(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(argv)
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 300
    y = (rng.random(n) < 0.12).astype(int)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(size=n) + 2.0 * y,
            "channel": np.where(y == 1, "web", rng.choice(["web", "shop"], size=n)),
            "label": y,
        }
    )
    path = tmp_path_factory.mktemp("data") / "claims.csv"
    frame.to_csv(path, index=False)
    return path


def _split(stderr):
    lines = stderr.splitlines()
    return [line for line in lines if line.startswith("[")], [
        line for line in lines if not line.startswith("[")
    ]


def test_full_compare_says_the_epoch_limit_once(table):
    """Every strategy (the default list), two epochs: every network stops at the limit;
    stderr holds the progress lines and one line about it, no warning."""
    argv = ["compare", "--data", str(table), "--target", "label", "--epochs", "2", "--cv", "2"]
    status, _, stderr = run(argv)
    assert status == 0, stderr
    progress, other = _split(stderr)
    assert len(progress) == len(STRATEGIES)  # one progress line per strategy
    assert len(other) == 1, other
    found = re.fullmatch(
        r"imbnet compare: (\d+) networks stopped at the epoch limit \(2 epochs\) before the "
        r"loss settled; raise --epochs to train longer",
        other[0],
    )
    assert found, other
    # the MLP strategies' fits: 2 outer folds x (3 inner + 1 refit)
    mlp = ["none", "balanced", "log", "focal", "logit_adjusted", "ldam_drw", "smote"]
    assert int(found.group(1)) >= len(mlp) * 2 * 4 - 4
    assert "Warning" not in stderr


class _Warns(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        warnings.warn("column 'amount' looks odd", UserWarning, stacklevel=2)
        return super().fit(X, y, sample_weight)


def test_a_real_warning_is_shown_once(table, monkeypatch):
    """A warning the user can act on, raised by every one of 8 fits, is shown once."""
    warns = Strategy("warns", lambda ctx: [preprocess(ctx), ("clf", _Warns())], network=False)
    monkeypatch.setitem(STRATEGIES, "logreg", warns)
    argv = ["compare", "--data", str(table), "--target", "label", "--cv", "2"]
    status, _, stderr = run([*argv, "--strategies", "logreg", "--epochs", "2"])
    assert status == 0, stderr
    _, other = _split(stderr)
    shown = [line for line in other if "column 'amount' looks odd" in line]
    assert len(shown) == 1 and "UserWarning" in shown[0], other
