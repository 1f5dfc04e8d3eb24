"""compare's warnings as a user sees them (a process of its own, not pytest's warning
capture): what cannot be acted on per fit is counted in one line, real warnings are
shown once each."""

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from imbnet.cli._compare import INNER_CV
from imbnet.cli._strategies import STRATEGIES

ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def _python(*args):
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=ENV, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # TensorFlow's own C++ runtime (2.17 and others) logs a few start-up lines before
    # its logging is set up, whatever TF_CPP_MIN_LOG_LEVEL says; they are not imbnet's
    lines = [line for line in done.stderr.splitlines() if not _TF_RUNTIME_LOG.match(line)]
    progress = [line for line in lines if line.startswith("[")]
    return progress, [line for line in lines if not line.startswith("[")]


_TF_RUNTIME_LOG = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called|[IWE]\d{4} \d\d:\d\d:"
)


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


@pytest.mark.slow
def test_full_compare_says_the_epoch_limit_once(table):
    """Every strategy (the default list), two epochs: every network stops at the limit;
    stderr holds the progress lines and one line about it, no warning."""
    progress, other = _python(
        *("-m", "imbnet", "compare", "--data", str(table), "--target", "label"),
        *("--epochs", "2", "--cv", "2"),
    )
    # one progress line per strategy this table allows (no free text: the tabular ones)
    tabular = [name for name, strategy in STRATEGIES.items() if strategy.reads == "tabular"]
    assert len(progress) == len(tabular)
    assert len(other) == 1, other
    found = re.fullmatch(
        r"imbnet compare: (\d+) networks stopped at the epoch limit \(2 epochs\) before the "
        r"loss settled; raise --epochs to train longer",
        other[0],
    )
    assert found, other
    # the MLP strategies' fits: 2 outer folds x (INNER_CV inner + 1 refit)
    mlp = ["none", "balanced", "log", "focal", "logit_adjusted", "ldam_drw", "smote"]
    assert int(found.group(1)) >= len(mlp) * 2 * (INNER_CV + 1) - 4


WARNS = """
import sys, warnings
from sklearn.linear_model import LogisticRegression
from imbnet.cli import main
from imbnet.cli._strategies import STRATEGIES, Strategy, preprocess

class Warns(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        warnings.warn("column 'amount' looks odd", UserWarning)
        return super().fit(X, y, sample_weight)

STRATEGIES["logreg"] = Strategy("warns", lambda ctx: [preprocess(ctx), ("clf", Warns())],
                                network=False)
# the table is patched in this process only: no second process for the references
import imbnet.cli._compare
imbnet.cli._compare.start_aside = lambda *args: {}
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_real_warning_is_shown_once(table):
    """A warning the user can act on, raised by each of a strategy's 8 fits, is shown once."""
    _, other = _python(
        *("-c", WARNS, "compare", "--data", str(table), "--target", "label"),
        *("--cv", "2", "--strategies", "logreg,balanced", "--epochs", "2"),
    )
    shown = [line for line in other if "column 'amount' looks odd" in line]
    assert len(shown) == 1 and "UserWarning" in shown[0], other
    assert sum("epoch limit" in line for line in other) == 1, other


def test_replayed_warnings_pass_the_filters_in_force():
    """Recorded with every warning on, replayed as the caller's filters say: a library's
    DeprecationWarning stays hidden (Python's default), a user warning is shown, and
    ``-W error`` shows rather than raises after the work."""
    import warnings

    from imbnet.cli._warnings import counting_convergence, replay, split_warnings

    with counting_convergence() as caught:
        warnings.warn_explicit(
            "a library's deprecation", DeprecationWarning, "/site-packages/lib/core.py", 7
        )
        warnings.warn("a real problem", UserWarning, stacklevel=1)
    _, others = split_warnings(caught)
    assert len(others) == 2  # both recorded
    for action, expected in [("ignore", ["a real problem"]), ("error", None)]:
        with warnings.catch_warnings(record=True) as shown:  # what replay shows
            warnings.resetwarnings()
            if action == "ignore":  # Python's default for a library's deprecations
                warnings.simplefilter("ignore", DeprecationWarning)
            else:
                warnings.simplefilter("error")
            replay(others)
        messages = [str(w.message) for w in shown]
        assert messages == (expected or ["a library's deprecation", "a real problem"])
