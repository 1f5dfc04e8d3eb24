"""All of a search's fits, done before scikit-learn scores them.

:func:`fit_tasks` fits every candidate x fold: the tasks whose network
trains side by side (:mod:`imbnet.model_selection._members`) are grouped by
architecture, cut into chunks of bounded size and trained one chunk per
compiled call; every other task is fitted as scikit-learn would, on its own.
The fitted estimators go into a :class:`FitStore`. scikit-learn's own search
and ``cross_validate`` then run over a :class:`Replayed` estimator whose
``fit`` takes the fitted estimator from the store, so scoring, ``error_score``,
``cv_results_``, refit and multi-metric scoring are scikit-learn's own code.
A task without a stored fit (one that failed, diverged, or the refit) is
fitted for real inside scikit-learn's loop: failures behave exactly as there.
"""

import copy
import hashlib
import threading
import time
import warnings
from collections import defaultdict

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.metaestimators import _safe_split, available_if
from sklearn.utils.validation import _check_method_params

from ..engine._member_training import call_shape, trace_members, train_members
from ._keys import candidate_key
from ._members import FittedMember, network_of, prepare, side_by_side_reason, step_keys

__all__ = [
    "FitStore",
    "FixedSplits",
    "Replayed",
    "fit_tasks",
    "holds_member_fit",
    "side_by_side_applies",
]

# A chunk's members hold at most this many resident bytes (rows x features) ...
_CHUNK_BYTES = 256 << 20
# ... and at most this many members.
_CHUNK_MEMBERS = 128


def side_by_side_applies(estimator):
    """Whether any of ``estimator``'s fits may train side by side."""
    from ..classifiers._mlp import CostSensitiveMLPClassifier

    return isinstance(network_of(estimator), CostSensitiveMLPClassifier)


def holds_member_fit(estimator):
    """Whether ``estimator`` is a :class:`Replayed` holding a side-by-side fit."""
    fitted = getattr(estimator, "fitted_", None) if isinstance(estimator, Replayed) else None
    return fitted is not None and isinstance(network_of(fitted), FittedMember)


class FitStore:
    """Fitted estimators by (candidate key, fingerprint of the training rows).

    Shared, never copied by ``clone``; a copy (a pickle sent to a worker) finds
    the same fits, since a fit is found by its rows, not by the order of calls.
    """

    def __init__(self):
        self._fits = {}
        self._seconds = defaultdict(float)

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self

    def put(self, key, X_train, y_train, fitted, seconds=0.0):
        self.put_rows(key, fingerprint(X_train, y_train), fitted, seconds)

    def put_rows(self, key, rows, fitted, seconds=0.0):
        """:meth:`put` with the training rows' :func:`fingerprint` already taken."""
        self._fits[key, rows] = fitted
        self._seconds[key, rows] = seconds

    def take(self, key, X_train, y_train):
        return self._fits.get((key, fingerprint(X_train, y_train)))

    def add_seconds(self, key, rows, seconds):
        """Count ``seconds`` more to the fit of ``key`` on ``rows`` (a fingerprint)."""
        self._seconds[key, rows] += seconds

    def fit_times(self, estimator, candidate_params, splits, X, y):
        """Seconds each candidate's fit on each split took: array (n_candidates, n_splits).

        A fit trained side by side counts its own preparation (the steps before
        the network, its member), its share of its chunk's training (the chunk's
        wall time split in proportion to the mini-batch steps each member ran)
        and what scikit-learn's loop then spent in its ``fit`` (taking it from
        the store); a fit trained alone counts its own fit.
        """
        folds = [fingerprint(*_safe_split(estimator, X, y, train)) for train, _ in splits]
        return np.array(
            [
                [self._seconds.get((candidate_key(params), rows), 0.0) for rows in folds]
                for params in candidate_params
            ]
        )


def fingerprint(X, y):
    """A digest of a fold's training rows."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (X, y):
        if array is None:
            continue
        values = np.asarray(array.to_numpy() if hasattr(array, "to_numpy") else array)
        digest.update(str((values.shape, values.dtype)).encode())
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


class FixedSplits:
    """The splits a search computed once, handed to scikit-learn's loop."""

    def __init__(self, splits):
        self.splits = splits

    def split(self, X=None, y=None, groups=None):
        return iter(self.splits)

    def get_n_splits(self, X=None, y=None, groups=None):
        return len(self.splits)


def _fitted_has(name):
    def check(self):
        fitted = getattr(self, "fitted_", None)
        return hasattr(fitted if fitted is not None else self.sbs_estimator, name)

    return check


class Replayed(BaseEstimator):
    """``sbs_estimator`` whose ``fit`` takes its result from ``sbs_store`` when it
    has one for these parameters and rows (else fits for real)."""

    def __init__(self, sbs_estimator, sbs_store):
        self.sbs_estimator = sbs_estimator
        self.sbs_store = sbs_store

    def __sklearn_tags__(self):
        return self.sbs_estimator.__sklearn_tags__()

    def __sklearn_clone__(self):
        # A replayed fit copies nothing: ``fit`` clones the estimator only when
        # it fits for real (a pipeline's clone costs more than a replay).
        return type(self)(self.sbs_estimator, self.sbs_store)

    def set_params(self, **params):
        own = {k: params.pop(k) for k in ("sbs_estimator", "sbs_store") if k in params}
        super().set_params(**own)
        self._candidate_params = {**getattr(self, "_candidate_params", {}), **params}
        self._candidate = candidate_key(self._candidate_params)
        return self

    def fit(self, X, y=None, **fit_params):
        start = time.perf_counter()
        key = getattr(self, "_candidate", candidate_key({}))
        rows = fingerprint(X, y)
        fitted = self.sbs_store._fits.get((key, rows))
        try:
            if fitted is None:
                estimator = clone(self.sbs_estimator)
                estimator.set_params(**getattr(self, "_candidate_params", {}))
                fitted = estimator.fit(X, y, **fit_params)
        finally:
            self.sbs_store.add_seconds(key, rows, time.perf_counter() - start)
        self.fitted_ = fitted
        return self

    @property
    def classes_(self):
        return self.fitted_.classes_

    @available_if(_fitted_has("predict"))
    def predict(self, X):
        return self.fitted_.predict(X)

    @available_if(_fitted_has("predict_proba"))
    def predict_proba(self, X):
        return self.fitted_.predict_proba(X)

    @available_if(_fitted_has("predict_log_proba"))
    def predict_log_proba(self, X):
        return self.fitted_.predict_log_proba(X)

    @available_if(_fitted_has("decision_function"))
    def decision_function(self, X):
        return self.fitted_.decision_function(X)

    @available_if(_fitted_has("score"))
    def score(self, X, y=None, **params):
        return self.fitted_.score(X, y, **params)


def fit_tasks(store, estimator, candidate_params, splits, X, y, fit_params, n_jobs):
    """Fit every candidate on every split's training rows; put the fits in ``store``."""
    fit_params = _check_method_params(X, params=fit_params)
    prepared, alone, steps_cache, folds = [], [], {}, {}
    for params in candidate_params:
        key = candidate_key(params)
        base = clone(estimator).set_params(**clone(params, safe=False))
        reason = side_by_side_reason(base, fit_params)
        keys = step_keys(base) if reason is None else None
        for fold, (train, _) in enumerate(splits):
            if reason is not None:
                task_params = _check_method_params(X, params=fit_params, indices=train)
                alone.append((key, clone(base), train, task_params))
                continue
            task = _task_estimator(base, keys, fold, steps_cache)
            start = time.perf_counter()
            if fold not in folds:  # a fold's rows, split and fingerprinted once
                X_train, y_train = _safe_split(task, X, y, train)
                task_params = _check_method_params(X, params=fit_params, indices=train)
                folds[fold] = (X_train, y_train, task_params, fingerprint(X_train, y_train))
            X_train, y_train, task_params, rows = folds[fold]
            try:
                ready = prepare(task, X_train, y_train, task_params, steps_cache, fold, keys)
            except Exception:  # the real fit, in scikit-learn's loop, raises it again
                ready = None
            if ready is None:
                continue
            prepared.append((key, rows, ready, time.perf_counter() - start))
    chunks = _chunks(prepared)
    workers = _chunk_workers(n_jobs)
    compiling = _compile_ahead(chunks) if workers == 1 else None
    try:
        outcomes = Parallel(n_jobs=workers, prefer="threads")(
            delayed(_train_chunk)(
                [entry[2].member for entry in chunk], chunk[0][2].key, compiling, position
            )
            for position, chunk in enumerate(chunks)
        )
    finally:
        if compiling is not None:
            compiling.join()
    for chunk, (results, seconds) in zip(chunks, outcomes):
        steps = np.array(
            [
                result.n_iter * -(-entry[2].member.X.shape[0] // entry[2].member.batch_size)
                for entry, result in zip(chunk, results)
            ],
            float,
        )
        shares = seconds * steps / max(steps.sum(), 1.0)
        for (key, rows, ready, prepared_in), result, share in zip(chunk, results, shares):
            if result.diverged:
                continue  # fitted alone in scikit-learn's loop: it raises as a fit would
            if result.n_iter == ready.member.max_iter and not result.converged:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({result.n_iter}) reached "
                    "and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=4,
                )
            store.put_rows(key, rows, _with_network(ready, result), prepared_in + share)
    fitted = Parallel(n_jobs=n_jobs)(
        delayed(_fit_alone)(task, X, y, train, task_params) for _, task, train, task_params in alone
    )
    for (key, task, train, _), (estimator_fitted, seconds) in zip(alone, fitted):
        if estimator_fitted is not None:
            store.put(key, *_safe_split(task, X, y, train), estimator_fitted, seconds)


def _task_estimator(base, keys, fold, steps_cache):
    """A fresh estimator for one task of the candidate ``base`` (unfitted).

    A clone, unless every step before the network will come fitted from
    ``steps_cache`` (see :func:`imbnet.model_selection._members.prepare`):
    then only the network needs an object of its own, and a shallow copy of
    the unfitted ``base`` (and of its step list) is that at a fraction of a
    clone's cost; the parameters are shared, never changed by a fit.
    """
    network = network_of(base)
    if network is base:
        return copy.copy(base)
    prefix = [fold]
    for key, (_, step) in zip(keys, base.steps[:-1]):
        if step is None or step == "passthrough":
            continue
        if key is None or (*prefix, key) not in steps_cache:
            return clone(base)
        prefix.append(key)
    task = copy.copy(base)
    task.steps = [*base.steps[:-1], (base.steps[-1][0], copy.copy(network))]
    return task


def _with_network(ready, result):
    member = FittedMember(ready.network)._set_fit(ready, result)
    estimator = ready.estimator
    if estimator is ready.network:
        return member
    estimator.steps[-1] = (estimator.steps[-1][0], member)
    return estimator


def _train_chunk(members, key, compiling=None, position=0):
    """Train the chunk at ``position``, after ``compiling`` (a :class:`_CompileAhead`
    or None) has done what must come before it."""
    _, activation, _, n_outputs = key
    start = time.perf_counter()
    if compiling is not None:
        compiling.before(position)
    results = train_members(members, activation=activation, n_outputs=n_outputs)
    return results, time.perf_counter() - start


def _compile_ahead(chunks):
    """A :class:`_CompileAhead` for ``chunks``; None when there is nothing to compile
    ahead (one program shape)."""
    seen, ahead = set(), []
    for chunk in chunks:
        members = [entry[2].member for entry in chunk]
        shape = (chunk[0][2].key, call_shape(members))
        if shape not in seen:
            seen.add(shape)
            ahead.append((members, chunk[0][2].key))
    return _CompileAhead(ahead) if len(ahead) > 1 else None


class _CompileAhead:
    """A thread compiling the programs of the chunks after the first that no chunk
    before them shares (a call of no epochs each), while the first trains: a first
    search meets one compilation per shape (about 2 s each on 2 cores), and the
    later ones no longer wait for theirs.

    Every program, the first chunk's too, is traced first, one after another in the
    caller's thread, before the first chunk trains; the thread only compiles them. A
    trace beside other TensorFlow work (the first chunk's training) would name its
    functions otherwise in every process, and XLA's disk cache, keyed on those
    names, would never read it back
    (:func:`imbnet.engine._member_training.trace_members`). Every later chunk waits
    for the thread to end.
    """

    def __init__(self, programs):
        self._programs = programs  # [(members, key)], one per program shape
        self._thread = None

    def before(self, position):
        """What must be done before the chunk at ``position`` trains."""
        if position == 0 and self._thread is None:
            # The first chunk's program too: its training compiles it, beside the thread.
            compiles = [_traced(members, key) for members, key in self._programs][1:]
            self._thread = threading.Thread(
                target=_compile_all,
                args=([c for c in compiles if c is not None],),
                name="imbnet-compile-chunks",
                daemon=True,
            )
            self._thread.start()
        else:
            self.join()

    def join(self):
        if self._thread is not None:
            self._thread.join()


def _traced(members, key):
    _, activation, _, n_outputs = key
    try:
        return trace_members(members, activation=activation, n_outputs=n_outputs)
    except Exception:  # its training traces it again, and reports what fails
        return None


def _compile_all(compiles):
    for compile_traced in compiles:
        try:
            compile_traced()
        except Exception:  # its training compiles it, and reports what fails
            pass


def _fit_alone(estimator, X, y, train, fit_params):
    X_train, y_train = _safe_split(estimator, X, y, train)
    start = time.perf_counter()
    try:
        return estimator.fit(X_train, y_train, **fit_params), time.perf_counter() - start
    except Exception:  # fitted again in scikit-learn's loop, which handles the error
        return None, 0.0


def _chunks(prepared):
    """Tasks of one architecture and number of mini-batches, in chunks bounded
    by rows x features and members, largest first. A chunk is never cut for
    more workers (a cut chunk does the same arithmetic in less stacked steps).
    """
    groups = defaultdict(list)
    for entry in prepared:  # members of a chunk run as many batches as its longest
        member = entry[2].member
        n_rows = member.X.shape[0]
        n_batches = -(-n_rows // min(member.batch_size, n_rows))
        groups[entry[2].key, n_batches].append(entry)
    chunks = []
    for entries in groups.values():
        current, size = [], 0
        for entry in entries:
            nbytes = 4 * entry[2].member.X.size
            if current and (size + nbytes > _CHUNK_BYTES or len(current) >= _CHUNK_MEMBERS):
                chunks.append(current)
                current, size = [], 0
            current.append(entry)
            size += nbytes
        if current:
            chunks.append(current)
    return sorted(chunks, key=lambda chunk: -sum(e[2].member.X.shape[0] for e in chunk))


def _chunk_workers(n_jobs):
    """Workers for the chunks: ``n_jobs`` on a distributed joblib backend (Dask),
    else 1. On one machine, chunks trained by two threads at once measured
    slower than one after another (2 cores: median 1.2x over interleaved runs
    of the issue's grid), so ``n_jobs`` > 1 never slows a search down; it still
    spreads the fits trained alone."""
    from joblib._parallel_backends import LokyBackend, SequentialBackend, ThreadingBackend
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    local = (LokyBackend, SequentialBackend, ThreadingBackend)
    return 1 if isinstance(backend, local) else n_jobs
