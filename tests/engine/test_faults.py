"""Faults during training: divergence, interrupts, and errors in user code.

Both estimators, on both paths of the engine: the compiled loop, and
``model.fit`` (taken when a callback has per-batch hooks, or off TensorFlow).
"""

from contextlib import contextmanager

import keras
import numpy as np
import pytest
from _networks import build
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier
from imbnet.engine import _loop

X, Y = make_classification(n_samples=200, n_features=4, weights=[0.8], random_state=0)


def linear_output(meta):  # under a huge learning rate a linear output diverges at once
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
    )


ESTIMATORS = {
    "mlp": lambda **p: CostSensitiveMLPClassifier(
        **{"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0, **p}
    ),
    "resampled": lambda **p: ResampledKerasClassifier(
        **{"model": build, "epochs": 3, "random_state": 0, **p}
    ),
}
DIVERGING = {
    "mlp": {"solver": "sgd", "learning_rate_init": 1e6, "max_iter": 20},
    "resampled": {
        "model": linear_output,
        "loss": keras.losses.BinaryCrossentropy(from_logits=True),
        "optimizer": "sgd",
        "optimizer__learning_rate": 1e6,
        "epochs": 20,
    },
}
X_LARGE = X * 1e3


@pytest.fixture(params=["compiled", "model.fit"])
def engine_path(request, monkeypatch):
    """Run the test on one path of the engine; check afterwards that it was taken."""
    fit_path_runs = []
    real = _loop._train_with_model_fit

    def counting(*args, **kwargs):
        fit_path_runs.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_loop, "_train_with_model_fit", counting)
    if request.param == "model.fit":
        monkeypatch.setattr(_loop, "_wants_batch_hooks", lambda callbacks: True)
    yield request.param
    assert bool(fit_path_runs) == (request.param == "model.fit")


def same_state(clf, state, proba):
    """``clf`` holds the same fitted attributes as in ``state`` and predicts ``proba``."""
    assert set(vars(clf)) == set(state)
    fitted = [name for name in state if name.endswith("_") and not name.startswith("_")]
    assert "model_" in fitted
    assert all(vars(clf)[name] is state[name] for name in fitted)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


# ------------------------------------------------------------- divergence
@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_divergence_raises_at_once_and_keeps_the_previous_fit(kind, engine_path):
    clf = ESTIMATORS[kind]().fit(X, Y)
    state, proba = dict(vars(clf)), clf.predict_proba(X)
    clf.set_params(**DIVERGING[kind])
    with pytest.raises(
        FloatingPointError,
        match=r"loss became nan in epoch \d+: the optimisation "
        r"diverged. Lower the learning rate",
    ):
        clf.fit(X_LARGE, Y)
    same_state(clf, state, proba)


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_on_divergence_warn_keeps_the_last_finite_epoch(kind, engine_path):
    clf = ESTIMATORS[kind](**DIVERGING[kind], on_divergence="warn")
    with pytest.warns(RuntimeWarning, match="diverged; training stopped"):
        clf.fit(X_LARGE, Y)
    curve = np.array(clf.loss_curve_)
    assert not np.isfinite(curve[-1]) and np.all(np.isfinite(curve[:-1]))  # stopped at once
    assert clf.n_iter_ < 20
    assert np.all(np.isfinite(clf.predict_proba(X_LARGE)))
    # The weights are those after the last finite epoch: what a fit of that many epochs gives.
    epochs = {"mlp": "max_iter", "resampled": "epochs"}[kind]
    if clf.n_iter_ > 1:
        shorter = ESTIMATORS[kind](**{**DIVERGING[kind], epochs: clf.n_iter_ - 1}).fit(X_LARGE, Y)
        np.testing.assert_array_equal(clf.predict_proba(X_LARGE), shorter.predict_proba(X_LARGE))


def test_weights_that_overflow_after_a_finite_loss_are_caught(engine_path):
    class PoisonLastEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                kernel = self.model.layers[-1].kernel
                kernel.assign(np.full(kernel.shape, np.inf, dtype="float32"))

    with pytest.raises(FloatingPointError, match="weights are no longer finite"):
        ESTIMATORS["resampled"](callbacks=[PoisonLastEpoch()]).fit(X, Y)


# --------------------------------------------------------- interruption
@contextmanager
def interrupt_in_epoch(cls, epoch):
    """Inside the block, ``cls``'s fits raise KeyboardInterrupt at ``epoch``'s data."""
    real = cls._epoch_source

    def interrupted_source(self, *args, **kwargs):
        source = real(self, *args, **kwargs)

        def source_with_interrupt(n):
            if n == epoch:
                raise KeyboardInterrupt
            return source(n)

        return source_with_interrupt

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cls, "_epoch_source", interrupted_source)
        yield


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_keyboard_interrupt_leaves_the_previous_fit_in_place(kind, engine_path):
    clf = ESTIMATORS[kind]().fit(X, Y)
    state, proba = dict(vars(clf)), clf.predict_proba(X)
    unfitted = ESTIMATORS[kind]()
    with interrupt_in_epoch(type(clf), epoch=2):
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, Y)
        with pytest.raises(KeyboardInterrupt):
            unfitted.fit(X, Y)
    same_state(clf, state, proba)
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(unfitted))
    with pytest.raises(NotFittedError):
        unfitted.predict(X)
    # Nothing half-trained is left behind either (the compiled loop is reused).
    np.testing.assert_array_equal(unfitted.fit(X, Y).predict_proba(X), proba)


# ------------------------------------------------- errors in user code
def frames(excinfo):
    return [entry.name for entry in excinfo.traceback]


def test_an_error_in_the_model_builder_reaches_the_user_as_it_is():
    error = RuntimeError("no such layer in my builder")

    def broken_builder(meta):
        raise error

    with pytest.raises(RuntimeError) as excinfo:
        ResampledKerasClassifier(broken_builder, epochs=1).fit(X, Y)
    assert excinfo.value is error
    assert "broken_builder" in frames(excinfo)


@pytest.mark.parametrize("hook", ["on_epoch_end", "on_train_batch_end"])
def test_an_error_in_a_user_callback_reaches_the_user_as_it_is(hook):
    error = ValueError("boom from the callback")

    class Boom(keras.callbacks.Callback):
        pass

    def raise_it(self, *args, **kwargs):
        raise error

    setattr(Boom, hook, raise_it)  # a batch hook sends the fit through model.fit
    clf = ResampledKerasClassifier(build, epochs=2, random_state=0).fit(X, Y)
    state, proba = dict(vars(clf)), clf.predict_proba(X)
    clf.set_params(callbacks=[Boom()])
    with pytest.raises(ValueError) as excinfo:
        clf.fit(X, Y)
    assert excinfo.value is error
    assert "raise_it" in frames(excinfo)
    clf.set_params(callbacks=None)
    same_state(clf, state, proba)


def test_an_error_in_a_sampler_reaches_the_user_as_it_is():
    from imblearn.over_sampling import RandomOverSampler

    error = ArithmeticError("my sampler failed")

    class BrokenSampler(RandomOverSampler):
        def fit_resample(self, X, y, **params):
            raise error

    with pytest.raises(ArithmeticError) as excinfo:
        ResampledKerasClassifier(build, sampler=BrokenSampler(), epochs=1).fit(X, Y)
    assert excinfo.value is error
    assert "fit_resample" in frames(excinfo)
