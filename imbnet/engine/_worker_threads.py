"""TensorFlow's thread pools in joblib's worker processes.

``GridSearchCV(n_jobs=2)`` runs fits in loky worker processes. joblib gives
every worker a thread budget, ``cpu_count() // n_jobs``, through
``OMP_NUM_THREADS`` and the like, so that the workers together do not start
more threads than there are cores; TensorFlow reads none of these and sizes
its pools by the cores of the machine in every worker: two workers on two
cores run four busy threads that preempt each other.

:func:`limit_in_joblib_worker` runs when ``imbnet`` is first imported. In a
loky worker, before TensorFlow starts, it sets ``TF_NUM_INTRAOP_THREADS`` and
``TF_NUM_INTEROP_THREADS`` to joblib's budget, unless they are set already
(the caller's choice wins) or TensorFlow is already running. The variables
are set in the worker's own environment only: the caller's process is never
changed.
"""

import multiprocessing
import os
import sys

__all__ = ["in_joblib_worker", "limit_in_joblib_worker"]

_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def limit_in_joblib_worker(environ=None, process_name=None, tf_imported=None):
    """Size TensorFlow's pools to joblib's thread budget, in a loky worker only.

    Parameters are for tests: the environment to change (default
    ``os.environ``), the current process's name and whether TensorFlow is
    imported (default: read from this process).

    Returns
    -------
    dict
        The variables set (empty outside a loky worker).

    Examples
    --------
    >>> limit_in_joblib_worker({}, process_name="MainProcess", tf_imported=False)
    {}
    >>> env = {"OMP_NUM_THREADS": "1"}
    >>> limit_in_joblib_worker(env, process_name="LokyProcess-1", tf_imported=False)
    {'TF_NUM_INTRAOP_THREADS': '1', 'TF_NUM_INTEROP_THREADS': '1'}
    """
    environ = os.environ if environ is None else environ
    if process_name is None:
        process_name = multiprocessing.current_process().name
    if tf_imported is None:
        tf_imported = "tensorflow" in sys.modules
    budget = environ.get("OMP_NUM_THREADS", "")
    if not in_joblib_worker(process_name) or tf_imported or not budget.isdigit():
        return {}
    chosen = {name: budget for name in _VARIABLES if name not in environ}
    environ.update(chosen)
    return chosen


def in_joblib_worker(process_name=None):
    """Whether this process is one of joblib's loky workers (``n_jobs`` > 1)."""
    if process_name is None:
        process_name = multiprocessing.current_process().name
    return process_name.startswith("LokyProcess")
