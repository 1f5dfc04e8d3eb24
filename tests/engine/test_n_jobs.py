"""``n_jobs>1``: joblib's workers run TensorFlow within their thread budget.

joblib gives each loky worker ``cpu_count() // n_jobs`` threads through
``OMP_NUM_THREADS``; imbnet passes that budget on to TensorFlow in the worker
(imbnet/_worker_threads.py), never in the caller's process.
"""

import os

from joblib import Parallel, delayed, parallel_config

from imbnet.engine._worker_threads import limit_in_joblib_worker

NAMES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def _worker_environment():
    import imbnet  # noqa: F401  (the first import in a fresh worker runs the hook)

    return {name: os.environ.get(name) for name in NAMES}


def test_joblib_workers_run_tensorflow_within_their_thread_budget():
    before = dict(os.environ)
    with parallel_config(backend="loky", inner_max_num_threads=1):
        seen = Parallel(n_jobs=2)(delayed(_worker_environment)() for _ in range(4))
    assert seen == [dict.fromkeys(NAMES, "1")] * 4
    assert dict(os.environ) == before  # the caller's process is left alone


def test_the_callers_own_thread_settings_win():
    environ = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "4"}
    set_here = limit_in_joblib_worker(environ, process_name="LokyProcess-3", tf_imported=False)
    assert set_here == {"TF_NUM_INTEROP_THREADS": "1"}
    assert environ["TF_NUM_INTRAOP_THREADS"] == "4"


def test_nothing_changes_once_tensorflow_runs():
    environ = {"OMP_NUM_THREADS": "1"}
    assert limit_in_joblib_worker(environ, process_name="LokyProcess-1", tf_imported=True) == {}
    assert environ == {"OMP_NUM_THREADS": "1"}
