"""compare's second process, started before the command imports TensorFlow."""

import pytest

from imbnet.cli._aside import aside_jobs, collect_aside, second_process, start_aside


def test_not_wanted_no_process():
    with second_process(wanted=False) as pool:
        assert pool is None


def test_the_early_process_is_stopped_when_the_command_fails_before_using_it():
    with pytest.raises(ValueError, match="bad column"):
        with second_process() as pool:
            assert pool is not None
            processes = list(pool._processes.values())
            raise ValueError("bad column")  # e.g. bad input found after the start
    assert all(not process.is_alive() for process in processes)
    with pytest.raises(RuntimeError):
        pool.submit(abs, -1)


@pytest.mark.slow
def test_the_second_process_runs_each_strategy_in_order():
    with second_process() as pool:
        aside = start_aside(["a", "bb", "ccc"], _length_times, (2,), pool)
        assert collect_aside(aside) == [2, 4, 6]


def _length_times(name, factor):
    return len(name) * factor


@pytest.mark.slow
def test_a_failing_second_process_reports_each_strategy_as_failed():
    with second_process() as pool:
        # a run that fails in the second process
        aside = start_aside(["logreg", "hgb"], divmod, (0,), pool)
        done = collect_aside(aside)
    assert len(done) == 2
    for runs, limit, warned in done:
        assert limit == 0 and warned == []
        assert runs[0]["error"].startswith("TypeError")


# A network fitted in compare's second process, whose compile cache is a directory of
# this test's; the process returns the directory its programs went to.
_FIT_ASIDE = """
import json
from imbnet.cli._aside import aside_jobs, collect_aside, second_process, start_aside

def fit(name, seed):
    import os
    from sklearn.datasets import make_classification
    from imbnet import CostSensitiveMLPClassifier
    from imbnet.engine import _persistent_cache
    X, y = make_classification(300, 6, weights=[0.9], random_state=0)
    CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=seed).fit(X, y)
    passed_on = os.environ.get("IMBNET_COMPILE_CACHE_READ_ONLY")
    return _persistent_cache.cache_directory(), passed_on

with second_process() as pool:
    (found,) = collect_aside(start_aside(["net"], fit, (0,), pool))
print(json.dumps(found))
"""


@pytest.mark.slow
def test_the_second_process_keeps_the_programs_it_compiles(tmp_path):
    """A loky process, yet not one of joblib's workers: what it compiles is written to
    the compile cache (joblib's workers only read it), so the next run reads it; the
    processes it starts do not inherit that."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "IMBNET_COMPILE_CACHE": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, "-c", _FIT_ASIDE], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    directory, passed_on = json.loads(done.stdout.strip().splitlines()[-1])
    assert directory is not None and directory.startswith(str(tmp_path))
    assert any(name.endswith(".pb") for name in os.listdir(directory))
    # read when the process set up its cache, then gone: the processes it starts
    # (a strategy's n_jobs > 1) are joblib's workers and only read
    assert passed_on is None


def test_the_second_process_fits_on_the_cores_the_command_does_not_keep():
    assert aside_jobs(1, cores=2) == 1
    assert aside_jobs(2, cores=2) == 1  # the command's own process keeps one busy
    assert aside_jobs(-1, cores=2) == 1
    assert aside_jobs(-1, cores=8) == 7
    assert aside_jobs(4, cores=8) == 3
    assert aside_jobs(1, cores=8) == 1
