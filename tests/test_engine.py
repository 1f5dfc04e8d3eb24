"""The fit loop: batch packing, the compiled-loop cache, callbacks (faults: test_faults.py)."""

import keras
import numpy as np
from sklearn.datasets import make_classification

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier
from imbnet import _engine
from imbnet._batching import pack_batches

X, Y = make_classification(n_samples=300, n_features=4, weights=[0.9], random_state=0)


def test_pack_batches_pads_the_last_batch_without_changing_its_loss():
    index, scale = pack_batches(np.arange(10), 4)
    assert index.shape == scale.shape == (3, 4)
    np.testing.assert_array_equal(index[2], [8, 9, 0, 0])
    np.testing.assert_array_equal(scale[2], [2.0, 2.0, 0.0, 0.0])
    losses = np.arange(10, dtype=float) + 1.0
    padded = (losses[index] * scale).mean(axis=1)  # mean over all batch slots
    np.testing.assert_allclose(padded, [losses[0:4].mean(), losses[4:8].mean(), losses[8:].mean()])


def test_one_compiled_loop_serves_every_fit_of_an_architecture():
    _engine._cache.clear()
    first = CostSensitiveMLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, Y)
    (loop,) = _engine._cache.values()
    second = CostSensitiveMLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=1,
                                        class_weight="balanced", learning_rate_init=0.01).fit(X, Y)
    assert list(_engine._cache.values()) == [loop]  # same loop, no new compilation
    assert first.model_ is not loop.model and second.model_ is not loop.model
    CostSensitiveMLPClassifier(hidden_layer_sizes=(6,), max_iter=1).fit(X, Y)
    assert len(_engine._cache) == 2
    # The cached loop trained `second`, not a stale copy: refitting gives the same model.
    again = CostSensitiveMLPClassifier(**second.get_params()).fit(X, Y)
    np.testing.assert_array_equal(again.predict_proba(X), second.predict_proba(X))


class RecordEpochs(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        # Callbacks act on the fitted model, current at every epoch's end.
        self.seen.append((epoch, logs["loss"], self.model.get_weights()[0].copy()))


def build(meta):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")])


def test_user_callbacks_see_every_epoch_and_the_current_weights():
    record = RecordEpochs()
    clf = ResampledKerasClassifier(build, epochs=4, callbacks=[record], random_state=0).fit(X, Y)
    assert [epoch for epoch, _, _ in record.seen] == [0, 1, 2, 3]
    assert [loss for _, loss, _ in record.seen] == clf.loss_curve_
    assert not np.array_equal(record.seen[0][2], record.seen[-1][2])
    np.testing.assert_array_equal(record.seen[-1][2], clf.model_.get_weights()[0])


def test_learning_rate_changed_by_a_callback_takes_effect():
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, rate: 0.0 if epoch >= 2 else rate)
    record = RecordEpochs()
    ResampledKerasClassifier(build, epochs=4, callbacks=[schedule, record], random_state=0).fit(X, Y)
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
    clf = ResampledKerasClassifier(build, epochs=3, batch_size=32, callbacks=[counter],
                                   random_state=0).fit(X, Y)
    assert counter.batches == 3 * 10  # ceil(300 / 32) batches per epoch
    assert len(clf.loss_curve_) == 3
