"""The fit loop: one compiled call per fit, the program cache, callbacks
(faults: test_faults.py)."""

import keras
import numpy as np
import pytest
from _networks import build
from sklearn.datasets import make_classification

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier
from imbnet.engine import _program_cache

X, Y = make_classification(n_samples=300, n_features=4, weights=[0.9], random_state=0)


def count_calls(monkeypatch):
    calls = []
    real = _program_cache.Program.run

    def counting(self, chunk, *args):
        if chunk.n_epochs:  # not a background compilation's call of no epochs
            calls.append(chunk.n_epochs)
        return real(self, chunk, *args)

    monkeypatch.setattr(_program_cache.Program, "run", counting)
    return calls


def test_a_fit_without_callbacks_is_one_compiled_call(monkeypatch):
    calls = count_calls(monkeypatch)
    clf = CostSensitiveMLPClassifier(hidden_layer_sizes=(5,), max_iter=60, tol=0, random_state=0)
    clf.fit(X, Y)
    assert calls == [60] and clf.n_iter_ == 60


def test_an_epoch_callback_gets_every_epoch_and_changes_nothing(monkeypatch):
    """With a callback the program runs one epoch per call; same seed, same model."""
    calls = count_calls(monkeypatch)
    params = dict(model=build, epochs=6, random_state=0)
    plain = ResampledKerasClassifier(**params).fit(X, Y)
    record = RecordEpochs()
    watched = ResampledKerasClassifier(**params, callbacks=[record]).fit(X, Y)
    assert calls == [6, 1, 1, 1, 1, 1, 1]
    np.testing.assert_array_equal(plain.predict_proba(X), watched.predict_proba(X))


def test_one_compiled_loop_serves_every_fit_of_an_architecture():
    _program_cache._clear()
    first = CostSensitiveMLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(
        X, Y
    )
    (loop,) = _program_cache._cache.values()  # one compiled program
    second = CostSensitiveMLPClassifier(
        hidden_layer_sizes=(5,),
        max_iter=3,
        random_state=1,
        class_weight="balanced",
        learning_rate_init=0.01,
    ).fit(X, Y)
    assert list(_program_cache._cache.values())[-1] is loop  # same loop, no new compilation
    assert first.model_ is not loop.model and second.model_ is not loop.model
    _program_cache.wait_for_background_compiles()  # the width's own program (see below)
    n_programs = len(_program_cache._cache)
    CostSensitiveMLPClassifier(hidden_layer_sizes=(6,), max_iter=1).fit(X, Y)
    assert len(_program_cache._cache) == n_programs + 1
    # The cached loop trained `second`, not a stale copy: refitting gives the same model.
    again = CostSensitiveMLPClassifier(**second.get_params()).fit(X, Y)
    np.testing.assert_array_equal(again.predict_proba(X), second.predict_proba(X))


def test_fits_of_one_width_compile_one_program_and_nothing_in_the_background(monkeypatch):
    """A cross-validation or a search fits one width: its architecture's first program
    is that width's own, and no wide program is compiled beside it."""
    _program_cache._clear()
    compiled = []
    real = _program_cache.Program

    def counting(model, *args):
        compiled.append(model.inputs[0].shape[-1])
        return real(model, *args)

    monkeypatch.setattr(_program_cache, "Program", counting)
    for seed, rows in enumerate((300, 240, 180)):
        CostSensitiveMLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=seed).fit(
            X[:rows], Y[:rows]
        )
        _program_cache.wait_for_background_compiles()
    assert compiled in ([16], [4])  # Keras 3.5 cannot rebuild a model wider: its own width


def test_data_sets_of_other_sizes_and_widths_share_one_program_and_train_as_alone():
    """A new row count (one batch or several, a different L2 factor 0.5*alpha/batch_size)
    and a new width reuse the compiled program; each fit trains exactly as it does on a
    program of its own."""
    shapes = ((120, 5), (200, 5), (260, 12), (300, 40))
    sets = [make_classification(n_samples=n, n_features=d, random_state=n) for n, d in shapes]
    params = dict(hidden_layer_sizes=(5,), max_iter=4, tol=0, alpha=0.1, random_state=0)
    alone = []
    for X_set, y_set in sets:
        _program_cache._clear()
        alone.append(CostSensitiveMLPClassifier(**params).fit(X_set, y_set))
    _program_cache._clear()
    shared = []
    for X_set, y_set in [*sets, sets[-1], sets[-1]]:
        shared.append(CostSensitiveMLPClassifier(**params).fit(X_set, y_set))
        _program_cache.wait_for_background_compiles()
    programs = list(_program_cache._cache.values())
    widths = sorted(program.model.inputs[0].shape[-1] for program in programs)
    # Keras 3.5 cannot rebuild a model wider: there, one program per width. Elsewhere
    # the 16-input bucket's program (the architecture's first) trained the first three;
    # the fourth, a second bucket, compiled its own (48 inputs: widths step by 16 up to
    # 64) and the wide program (64 inputs) in the background; the fifth, on the 48-input
    # program, the sixth too.
    assert widths == ([5, 12, 40] if 5 in widths else [16, 48, 64])
    assert all(program.tracing_count() == 1 for program in programs)
    for own, reused in zip([*alone, alone[-1], alone[-1]], shared):
        np.testing.assert_array_equal(reused.loss_curve_, own.loss_curve_)
        np.testing.assert_array_equal(reused.coefs_[0], own.coefs_[0])
    assert len({own.loss_curve_[-1] for own in alone}) == 4


def test_a_new_width_runs_on_the_wide_program_while_its_own_compiles_in_the_background(monkeypatch):
    """No fit of up to 64 features waits for a compilation once its architecture has a
    wide program; the program of its own width, compiled in the background, gives the
    same model to the last bit."""
    _program_cache._clear()
    widths = []
    real_run = _program_cache.Program.run

    def recording(self, chunk, *args):
        if chunk.n_epochs:  # not the background compilation's call of no epochs
            widths.append(self.model.inputs[0].shape[-1])
        return real_run(self, chunk, *args)

    monkeypatch.setattr(_program_cache.Program, "run", recording)
    params = dict(hidden_layer_sizes=(7,), max_iter=30, random_state=0)
    X_wide, y_wide = make_classification(n_samples=400, n_features=50, random_state=1)
    CostSensitiveMLPClassifier(**params).fit(X_wide, y_wide)
    if widths[0] == 50:
        pytest.skip("Keras 3.5 cannot rebuild a model wider: one program per width")
    fits = [CostSensitiveMLPClassifier(**params).fit(X, Y)]
    _program_cache.wait_for_background_compiles()
    fits.append(CostSensitiveMLPClassifier(**params).fit(X, Y))
    assert widths == [64, 64, 16]  # the second fit of 4 features ran on its own program
    np.testing.assert_array_equal(fits[1].loss_curve_, fits[0].loss_curve_)
    np.testing.assert_array_equal(fits[1].predict_proba(X), fits[0].predict_proba(X))


@pytest.mark.parametrize("on_disk", [True, False])
def test_a_widths_own_program_is_traced_in_the_fits_thread_when_kept_on_disk(monkeypatch, on_disk):
    """With XLA's disk cache on, only its compilation runs in the background:
    TensorFlow numbers a traced graph's functions from a counter every operation
    advances, and the disk cache keys on those names; traced beside the next fits, the
    program got other names in every process and was compiled anew by each. Without
    the disk cache, the trace runs in the background too (nothing to find again)."""
    import threading

    from imbnet.engine import _persistent_cache

    monkeypatch.setattr(_persistent_cache, "on_disk", lambda: on_disk)
    _program_cache._clear()
    traces = []
    real = _program_cache.Program._run

    def tracing(self, *args):  # Python runs only while TensorFlow traces
        traces.append((self.model.inputs[0].shape[-1], threading.current_thread().name))
        return real(self, *args)

    monkeypatch.setattr(_program_cache.Program, "_run", tracing)
    params = dict(hidden_layer_sizes=(9,), max_iter=5, random_state=0)
    X_wide, y_wide = make_classification(n_samples=200, n_features=50, random_state=1)
    CostSensitiveMLPClassifier(**params).fit(X_wide, y_wide)
    if traces[0][0] == 50:
        pytest.skip("Keras 3.5 cannot rebuild a model wider: one program per width")
    CostSensitiveMLPClassifier(**params).fit(X, Y)  # on the wide program; its own after
    _program_cache.wait_for_background_compiles()
    here = threading.current_thread().name
    assert traces == [(64, here), (16, here if on_disk else "imbnet-compile")]
    assert sorted(p.model.inputs[0].shape[-1] for p in _program_cache._cache.values()) == [16, 64]


def test_partial_fit_carries_its_optimizer_state_from_the_wide_program_to_its_own():
    """The optimizer's moments a fit on the wide program leaves (64 input rows) go on,
    cut to the model's rows, on the width's own program: the same model to the last bit
    as partial fits on the width's own program throughout."""
    _program_cache._clear()
    params = dict(hidden_layer_sizes=(7,), random_state=0)
    # The architecture at 50 features first: its program is the wide one (64 inputs).
    X_wide, y_wide = make_classification(n_samples=200, n_features=50, random_state=1)
    CostSensitiveMLPClassifier(**params).partial_fit(X_wide, y_wide, classes=[0, 1])

    def three_partial_fits(wait_after_second):
        clf = CostSensitiveMLPClassifier(**params)
        for call in range(3):
            clf.partial_fit(X, Y, classes=[0, 1])
            if call == 1 and wait_after_second:
                _program_cache.wait_for_background_compiles()
        return clf

    across = three_partial_fits(True)  # wide, wide (its own compiles), then its own program
    own = three_partial_fits(False)  # its own program throughout
    widths = sorted(program.model.inputs[0].shape[-1] for program in _program_cache._cache.values())
    assert widths in ([4, 50], [16, 64])  # Keras 3.5: programs of the exact widths
    np.testing.assert_array_equal(across.coefs_[0], own.coefs_[0])
    np.testing.assert_array_equal(across.loss_curve_, own.loss_curve_)


class RecordEpochs(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        # Callbacks act on the fitted model, current at every epoch's end.
        self.seen.append((epoch, logs["loss"], self.model.get_weights()[0].copy()))


def test_user_callbacks_see_every_epoch_and_the_current_weights():
    record = RecordEpochs()
    clf = ResampledKerasClassifier(build, epochs=4, callbacks=[record], random_state=0).fit(X, Y)
    assert [epoch for epoch, _, _ in record.seen] == [0, 1, 2, 3]
    assert [loss for _, loss, _ in record.seen] == clf.loss_curve_
    assert not np.array_equal(record.seen[0][2], record.seen[-1][2])
    np.testing.assert_array_equal(record.seen[-1][2], clf.model_.get_weights()[0])


def test_learning_rate_changed_by_a_callback_takes_effect():
    schedule = keras.callbacks.LearningRateScheduler(
        lambda epoch, rate: 0.0 if epoch >= 2 else rate
    )
    record = RecordEpochs()
    ResampledKerasClassifier(build, epochs=4, callbacks=[schedule, record], random_state=0).fit(
        X, Y
    )
    weights = [w for _, _, w in record.seen]
    assert not np.array_equal(weights[0], weights[1])
    np.testing.assert_array_equal(weights[2], weights[3])  # rate 0 from epoch 2: frozen


def test_a_callback_with_batch_hooks_gets_every_batch_through_model_fit():
    class CountBatches(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1

    counter = CountBatches()
    clf = ResampledKerasClassifier(
        build, epochs=3, batch_size=32, callbacks=[counter], random_state=0
    ).fit(X, Y)
    assert counter.batches == 3 * 10  # ceil(300 / 32) batches per epoch
    assert len(clf.loss_curve_) == 3


def test_the_model_fit_path_trains_each_epoch_on_that_epochs_rows():
    """Keras calls a dataset's on_epoch_end before the first epoch too: the model.fit
    path must still train epoch k on the source's epoch k, as the compiled program."""

    class NoOpBatchHook(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    params = dict(model=build, epochs=3, batch_size=32, random_state=0)
    compiled = ResampledKerasClassifier(**params).fit(X, Y)
    through_model_fit = ResampledKerasClassifier(**params, callbacks=[NoOpBatchHook()]).fit(X, Y)
    np.testing.assert_allclose(through_model_fit.loss_curve_, compiled.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(
        through_model_fit.predict_proba(X), compiled.predict_proba(X), atol=1e-5
    )


def test_a_lambda_callback_batch_hook_is_called():
    """LambdaCallback sets its hooks on the instance, not the class."""
    batches = []
    hook = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batches.append(batch)
    )
    ResampledKerasClassifier(build, epochs=2, batch_size=100, callbacks=[hook], random_state=0).fit(
        X, Y
    )
    assert batches == [0, 1, 2, 0, 1, 2]


def test_batch_normalisation_sees_only_the_real_rows_of_a_partial_batch():
    # 250 rows in batches of 200: the second batch holds 50 rows. With momentum 0 the
    # moving mean after one epoch in order is that batch's mean, with no padding in it.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(250, 3)).astype(np.float32)
    X[0] += 10.0  # a far-off first row: padding made of it would pull the mean
    y = (X[:, 1] > 0).astype(int)

    def normalised(meta):
        return keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.BatchNormalization(momentum=0.0),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )

    clf = ResampledKerasClassifier(
        normalised, epochs=1, batch_size=200, shuffle=False, random_state=0
    )
    clf.fit(X, y)
    moving_mean = keras.ops.convert_to_numpy(clf.model_.layers[0].moving_mean)
    np.testing.assert_allclose(moving_mean, X[200:].mean(axis=0), rtol=1e-4, atol=1e-5)
