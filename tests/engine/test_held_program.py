"""Consecutive partial_fit calls: the program keeps the model's state between them
(no copy in), and any change to the model in between is still seen."""

import functools
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification

from imbnet import CostSensitiveMLPClassifier
from imbnet.engine import _program, _program_cache

X, Y = make_classification(n_samples=400, n_features=6, weights=[0.85], random_state=3)
CHUNKS = [(X[i : i + 100], Y[i : i + 100]) for i in range(0, 400, 100)]
PARAMS = dict(hidden_layer_sizes=(8,), batch_size=50, alpha=1e-3, random_state=0)


@pytest.fixture
def copies(monkeypatch):
    """Count the loads that copy a model's state into a program."""
    counted = []
    real_load = _program.Program.load

    def load(self, model):
        if model is not self.model and not self._holds(model):
            counted.append(1)
        return real_load(self, model)

    monkeypatch.setattr(_program.Program, "load", load)
    return counted


def always_copying(monkeypatch):
    monkeypatch.setattr(_program.Program, "_holds", lambda self, model: False)


def partial_fits(clf, chunks=CHUNKS, between=None):
    for i, (X_chunk, y_chunk) in enumerate(chunks):
        clf.partial_fit(X_chunk, y_chunk, classes=[0, 1])
        if between is not None:
            clf = between(i, clf)
    return clf


def test_consecutive_calls_copy_nothing_in_and_train_as_with_copies(copies, monkeypatch):
    _program_cache._clear()
    held = partial_fits(CostSensitiveMLPClassifier(**PARAMS))
    _program_cache.wait_for_background_compiles()
    copies.clear()
    held = partial_fits(held)  # a second pass: every call continues the last one
    assert len(copies) <= 1  # at most one switch to the width's own program
    _program_cache._clear()
    always_copying(monkeypatch)
    copied = partial_fits(partial_fits(CostSensitiveMLPClassifier(**PARAMS)))
    np.testing.assert_array_equal(held.loss_curve_, copied.loss_curve_)
    np.testing.assert_array_equal(held.predict_proba(X), copied.predict_proba(X))


def _reference(between, monkeypatch):
    """The same calls with every state copied in, as before programs were held."""
    with monkeypatch.context() as patch:
        patch.setattr(_program.Program, "_holds", lambda self, model: False)
        return partial_fits(CostSensitiveMLPClassifier(**PARAMS), between=between)


@pytest.mark.parametrize(
    "change",
    [
        "set_weights",
        "assign_one_kernel",
        "learning_rate",
        "another_estimator",
        "clone_and_pickle",
    ],
)
def test_a_change_to_the_model_between_calls_is_trained_on(change, monkeypatch):
    """Whatever happens between two calls reaches the next one: the result is the
    one of copying the model's state in every call, and differs from not changing."""
    other = CostSensitiveMLPClassifier(**{**PARAMS, "random_state": 5})

    def between(i, clf):
        if i != 1:
            return clf
        if change == "set_weights":
            clf.model_.set_weights([w * 0.5 for w in clf.model_.get_weights()])
        elif change == "assign_one_kernel":
            kernel = clf.model_.layers[-1].kernel
            kernel.assign(kernel.numpy() + 0.25)
        elif change == "learning_rate":
            clf.model_.optimizer.learning_rate = 0.05
        elif change == "another_estimator":  # the same program trains another model
            other.partial_fit(X[:100], Y[:100], classes=[0, 1])
            clf.model_.set_weights([w + 0.01 for w in clf.model_.get_weights()])
        else:
            clf = pickle.loads(pickle.dumps(clone(clf).set_params(**clf.get_params())))
            clf = partial_fits(clf, CHUNKS[: i + 1])  # a clone starts anew
            clf.model_.set_weights([w * 0.9 for w in clf.model_.get_weights()])
        return clf

    _program_cache._clear()
    held = partial_fits(CostSensitiveMLPClassifier(**PARAMS), between=between)
    _program_cache._clear()
    copied = _reference(between, monkeypatch)
    np.testing.assert_array_equal(held.predict_proba(X), copied.predict_proba(X))
    np.testing.assert_array_equal(held.loss_curve_, copied.loss_curve_)
    assert not np.array_equal(held.predict_proba(X), _unchanged_proba())


@functools.cache
def _unchanged_proba():
    """The calls without a change in between (the same for every change: computed once)."""
    _program_cache._clear()
    return partial_fits(CostSensitiveMLPClassifier(**PARAMS)).predict_proba(X)


def test_a_pickled_estimator_goes_on_as_the_original():
    _program_cache._clear()
    clf = partial_fits(CostSensitiveMLPClassifier(**PARAMS), CHUNKS[:2])
    restored = pickle.loads(pickle.dumps(clf))
    for estimator in (clf, restored):
        partial_fits(estimator, CHUNKS[2:])
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X), rtol=0, atol=1e-6)
    assert restored.loss_curve_ == pytest.approx(clf.loss_curve_, abs=1e-6)


def test_a_failed_call_leaves_the_model_and_the_next_call_correct(monkeypatch):
    """A call that fails after the program ran (here: in the estimator's records) leaves
    the program ahead of the model: the next call must copy the model in again."""
    _program_cache._clear()
    clf = partial_fits(CostSensitiveMLPClassifier(**PARAMS), CHUNKS[:2])
    before = clf.predict_proba(X)
    real_store = _program.Program.store

    def failing_store(self, model):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(_program.Program, "store", failing_store)
    with pytest.raises(RuntimeError, match="interrupted"):
        clf.partial_fit(*CHUNKS[2], classes=[0, 1])
    monkeypatch.setattr(_program.Program, "store", real_store)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    partial_fits(clf, CHUNKS[2:])
    _program_cache._clear()
    straight = partial_fits(CostSensitiveMLPClassifier(**PARAMS))
    np.testing.assert_array_equal(clf.predict_proba(X), straight.predict_proba(X))


def test_fits_on_threads_at_once_keep_their_programs_for_the_next_ones(monkeypatch):
    """Two fits of one architecture at once (joblib's threading backend) need two
    programs; both are kept, so the next two fits at once compile nothing, and
    each fit trains as it does alone."""
    import threading

    _program_cache._clear()
    barrier = threading.Barrier(2, timeout=120)
    real_run = _program.Program.run
    made = []
    real_init = _program.Program.__init__

    def run(self, chunk, *args):
        if chunk.n_epochs:  # not a background compilation's call
            barrier.wait()  # both fits hold a program at once
        return real_run(self, chunk, *args)

    def init(self, *args, **kwargs):
        made.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(_program.Program, "run", run)
    monkeypatch.setattr(_program.Program, "__init__", init)
    params = dict(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    X_wide, y_wide = make_classification(n_samples=200, n_features=70, random_state=1)

    def two_at_once():
        fitted = [CostSensitiveMLPClassifier(**params) for _ in range(2)]
        threads = [threading.Thread(target=clf.fit, args=(X_wide, y_wide)) for clf in fitted]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return fitted

    first = two_at_once()
    assert len(made) == 2
    again = two_at_once()
    assert len(made) == 2  # no new program
    monkeypatch.setattr(_program.Program, "run", real_run)
    alone = CostSensitiveMLPClassifier(**params).fit(X_wide, y_wide)
    for clf in first + again:
        np.testing.assert_array_equal(clf.predict_proba(X_wide), alone.predict_proba(X_wide))
