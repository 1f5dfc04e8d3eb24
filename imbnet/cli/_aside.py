"""``imbnet compare``'s second process: the strategies that do not train side by side
(the references and the networks fitted one by one) run there, one after another,
while the command's own process trains the others side by side.

On two cores the two share the machine: the side-by-side program runs on about one,
the second process on one thread (``ASIDE_ENV``). The pool is started before
the command imports TensorFlow (:func:`second_process`), so that the second
process's start and import overlap the first's.
"""

from contextlib import contextmanager

__all__ = ["ASIDE_ENV", "aside_jobs", "collect_aside", "second_process", "start_aside"]

# The second process's environment. Its threads: one TensorFlow and one OpenMP / BLAS
# thread. Its work (small Keras fits, HistGradientBoosting, LogisticRegression) shares
# two cores with this process's compiled program; with TensorFlow's default two threads
# its fits measured 1.3x the CPU time (benchmarks/cli_compare.py, RESULTS.md).
ASIDE_ENV = {
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    # A loky process, but not one of joblib's workers that start at once: it keeps the
    # programs it compiles (the strategies it fits compile them nowhere else), so the
    # next run reads them (imbnet.engine._persistent_cache.read_only). Read once, then
    # removed (_run_all): not passed on to the workers it may start.
    "IMBNET_COMPILE_CACHE_READ_ONLY": "0",
}


@contextmanager
def second_process(wanted=True):
    """A one-process pool, started now (if ``wanted``) and importing Keras; None when
    not wanted or without a process pool (e.g. a sandbox). Pass it to
    :func:`imbnet.cli._compare.compare`; it is shut down on leaving the block (its
    process stopped if compare did not use it, e.g. after an error)."""
    executor = _start_pool() if wanted else None
    try:
        yield executor
    finally:
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)


def aside_jobs(n_jobs, cores=None):
    """The ``n_jobs`` of the second process's fits: the cores ``--n-jobs`` gives the
    command (-1: every core), less the one the command's own process keeps busy; at
    least 1. On two cores that is 1: the second process's fits spread over worker
    processes that each import TensorFlow first made the command 2.8 times slower
    (``--n-jobs 2``: 47 s against 26 s, benchmarks/RESULTS.md)."""
    if cores is None:
        from joblib import cpu_count

        cores = cpu_count()
    wanted = cores if n_jobs == -1 else n_jobs
    return max(1, wanted - 1)


def start_aside(names, run, args, executor=None):
    """Strategies ``names`` started in the second process, one after another (one job:
    the process is not recycled between them), each as ``run(name, *args)`` (``run``
    a module-level function: it is sent by reference):
    ``{"names", "future", "executor"}`` for :func:`collect_aside`; empty without a
    process pool (they then run in this process, after the others). ``executor``: the
    pool :func:`second_process` started (default: a new one)."""
    if not names:
        return {}
    if executor is None:
        executor = _start_pool()
        if executor is None:
            return {}
    future = executor.submit(_run_all, names, run, args)
    return {"names": names, "future": future, "executor": executor}


def collect_aside(aside):
    """The results of :func:`start_aside`'s strategies, in order (each one failed if
    the second process failed); the pool is shut down."""
    try:
        return aside["future"].result()
    except Exception as exc:  # the second process failed: reported as the strategies'
        error = [{"fold": 0, "error": f"{type(exc).__name__}: {exc}"}]
        return [(error, 0, [])] * len(aside["names"])
    finally:
        aside["executor"].shutdown(wait=True)


def _start_pool():
    try:
        # A pool of its own, not loky's reusable one: joblib's Parallel (n_jobs > 1 in
        # the same process later) would take that one over without its set-up.
        from joblib.externals.loky import ProcessPoolExecutor

        executor = ProcessPoolExecutor(max_workers=1, env=ASIDE_ENV)
        executor.submit(_import_keras)
    except (ImportError, OSError, NotImplementedError):
        return None
    return executor


def _import_keras():
    from ._tf_logging import import_keras_quietly

    import_keras_quietly()


def _run_all(names, run, args):
    """``run(name, *args)`` of each of ``names`` (in the second process), Keras
    imported first (imbnet.model_selection, asked whether fits go side by side,
    imports it). The process ends after this job: its objects are then frozen out
    of the garbage collector, whose last collection over TensorFlow's modules would
    hold :func:`collect_aside` about 0.8 s (see :func:`imbnet.cli.command`)."""
    import gc
    import os

    _import_keras()
    # imbnet's engine, and with it the compile cache, set up from this process's
    # environment now; the processes this one starts (a strategy's n_jobs > 1) are
    # joblib's workers, which must only read the cache, as everywhere else.
    from imbnet import CostSensitiveMLPClassifier  # noqa: F401

    os.environ.pop("IMBNET_COMPILE_CACHE_READ_ONLY", None)
    try:
        return [run(name, *args) for name in names]
    finally:
        gc.freeze()
