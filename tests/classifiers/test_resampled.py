"""ResampledKerasClassifier: user models, samplers inside fit, balanced batches."""

import keras
import numpy as np
import pytest
from _networks import build
from imblearn.over_sampling import SMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import NearMiss, RandomUnderSampler
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

from imbnet import ResampledKerasClassifier
from imbnet.sampling._batching import BalancedBatchPlan

X, Y = make_classification(
    n_samples=400,
    n_features=4,
    n_informative=3,
    n_redundant=0,
    weights=[0.9],
    flip_y=0,
    random_state=0,
)


class FeedCounter(keras.layers.Layer):
    """Counts, per training row, how often the model was fed it (and augmented).

    The last input column holds the row id; augmentation adds 0.25 to every
    column, which leaves a fractional id behind.
    """

    def __init__(self, n_rows, **kwargs):
        super().__init__(**kwargs)
        self.n_rows = n_rows
        self.fed = self.add_weight(shape=(n_rows,), initializer="zeros", trainable=False)
        self.augmented = self.add_weight(shape=(n_rows,), initializer="zeros", trainable=False)

    def call(self, x, training=False):
        if training:
            ids = keras.ops.floor(x[:, -1])
            onehot = keras.ops.one_hot(keras.ops.cast(ids, "int32"), self.n_rows)
            frac = keras.ops.cast(x[:, -1] - ids > 0.1, "float32")
            self.fed.assign(self.fed + keras.ops.sum(onehot, axis=0))
            self.augmented.assign(self.augmented + keras.ops.sum(onehot * frac[:, None], axis=0))
        return x[:, :-1]


def counting_model(n_rows):
    model = keras.Sequential(
        [
            keras.Input((3,)),
            FeedCounter(n_rows),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    return model


Y_COUNT = np.array([0] * 180 + [1] * 20)
X_COUNT = np.column_stack([np.random.default_rng(0).normal(size=(200, 2)), np.arange(200)])


def fed_counts(clf):
    counter = next(layer for layer in clf.model_.layers if isinstance(layer, FeedCounter))
    return keras.ops.convert_to_numpy(counter.fed), keras.ops.convert_to_numpy(counter.augmented)


def test_under_sampling_redrawn_every_epoch_covers_the_majority():
    kwargs = dict(
        model=counting_model(200),
        sampler=RandomUnderSampler(),
        epochs=20,
        batch_size=20,
        random_state=0,
    )
    every_epoch = ResampledKerasClassifier(**kwargs).fit(X_COUNT, Y_COUNT)
    once = ResampledKerasClassifier(resample="once", **kwargs).fit(X_COUNT, Y_COUNT)
    fed_epoch, _ = fed_counts(every_epoch)
    fed_once, _ = fed_counts(once)
    majority = Y_COUNT == 0
    # Once: the same 20 majority rows every epoch; per epoch: ~90% of the 180.
    assert np.count_nonzero(fed_once[majority]) == 20
    assert np.count_nonzero(fed_epoch[majority]) >= 0.8 * 180
    assert np.all(fed_epoch[~majority] == 20)  # every minority row, every epoch
    assert fed_epoch.sum() == fed_once.sum() == 20 * 40


def test_balanced_batches_feed_the_chosen_ratio_without_copying():
    clf = ResampledKerasClassifier(
        model=counting_model(200), batch_ratio=3, epochs=6, batch_size=20, random_state=0
    ).fit(X_COUNT, Y_COUNT)
    fed, _ = fed_counts(clf)
    steps = 6 * 10  # ceil(200 / 20) batches per epoch
    assert fed[Y_COUNT == 0].sum() == steps * 15 and fed[Y_COUNT == 1].sum() == steps * 5
    assert np.count_nonzero(fed[Y_COUNT == 0]) == 180  # streams cycle through all rows


def test_balanced_batch_plan_every_batch_holds_the_ratio():
    y = np.array([0] * 500 + [1] * 50 + [2] * 5)
    for ratio, expected in [(1.0, [22, 21, 21]), (4.0, [29, 28, 7])]:
        plan = BalancedBatchPlan(y, 64, ratio, np.random.default_rng(0))
        batches = plan.epoch().reshape(plan.n_batches, 64)
        counts = np.stack([np.bincount(y[batch], minlength=3) for batch in batches])
        assert plan.n_batches == 9 and np.all(counts == expected)
    two = BalancedBatchPlan(Y_COUNT, 32, 3.0, np.random.default_rng(0))
    assert two.rows_per_batch.tolist() == [24, 8]


@pytest.mark.parametrize("balancing", [dict(batch_ratio=1), dict()], ids=["balanced", "plain"])
def test_augment_touches_minority_rows_only(balancing):
    shift = keras.layers.Lambda(lambda x: x + 0.25)
    clf = ResampledKerasClassifier(
        model=counting_model(200),
        augment=shift,
        epochs=3,
        batch_size=20,
        random_state=0,
        **balancing,
    ).fit(X_COUNT, Y_COUNT)
    fed, augmented = fed_counts(clf)
    minority = Y_COUNT == 1
    assert np.all(augmented[~minority] == 0)
    np.testing.assert_array_equal(augmented[minority], fed[minority])
    assert augmented[minority].sum() > 0


@pytest.mark.parametrize(
    "sampler",
    [
        RandomUnderSampler(),
        RandomOverSampler(),
        SMOTE(k_neighbors=3),
        BorderlineSMOTE(k_neighbors=3),
        NearMiss(),
    ],
    ids=lambda s: type(s).__name__,
)
def test_seed_samplers_train_and_are_reproducible(sampler):
    clf = ResampledKerasClassifier(
        build, sampler=sampler, epochs=20, optimizer__learning_rate=0.02, random_state=0
    )
    proba = clf.fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(clone(clf).fit(X, Y).predict_proba(X), proba)
    assert roc_auc_score(Y, proba[:, 1]) > 0.6  # NearMiss-1 keeps a biased subset


def test_sample_weight_follows_the_kept_rows():
    sample_weight = np.ones(len(Y))
    sample_weight[Y == 0] = 0.0  # majority rows weigh nothing
    clf = ResampledKerasClassifier(build, sampler=RandomUnderSampler(), epochs=2, random_state=0)
    clf.fit(X, Y, sample_weight=sample_weight)
    # SMOTE keeps the original rows first: no warning; a sampler that neither keeps them
    # first nor reports indices loses sample_weight, with a warning.
    ResampledKerasClassifier(build, sampler=SMOTE(), epochs=1, random_state=0).fit(
        X, Y, sample_weight=np.full(len(Y), 2.0)
    )

    class Shuffled(RandomOverSampler):
        def fit_resample(self, X, y, **params):
            X_new, y_new = super().fit_resample(X, y, **params)
            del self.sample_indices_
            return X_new[::-1], y_new[::-1]

    with pytest.warns(UserWarning, match="sample_weight cannot follow the rows"):
        ResampledKerasClassifier(build, sampler=Shuffled(), epochs=1, random_state=0).fit(
            X, Y, sample_weight=np.full(len(Y), 2.0)
        )


def test_sampler_weights_via_sample_indices():
    from imbnet.sampling._samplers import resample

    weights = np.arange(len(Y), dtype=np.float32)
    X_new, y_new, w_new = resample(
        RandomUnderSampler(), X, Y, weights, [1.0, 5.0], seed=0, user_weights=True
    )
    np.testing.assert_array_equal(X_new, X[w_new.astype(int)])
    X_new, y_new, w_new = resample(SMOTE(), X, Y, weights, [1.0, 5.0], seed=0, user_weights=True)
    np.testing.assert_array_equal(w_new[: len(Y)], weights)
    assert np.all(w_new[len(Y) :] == 5.0) and np.all(y_new[len(Y) :] == 1)


def test_grid_search_tunes_sampler_and_class_weight():
    clf = ResampledKerasClassifier(build, sampler=RandomUnderSampler(), epochs=3, random_state=0)
    grid = {"sampler__sampling_strategy": [0.5, 1.0], "class_weight": [None, "balanced"]}
    search = GridSearchCV(clf, grid, scoring="roc_auc", cv=3).fit(X, Y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    smote = ResampledKerasClassifier(build, sampler=SMOTE(), epochs=3, random_state=0)
    search = GridSearchCV(
        smote, {"sampler__k_neighbors": [2, 4], "model__units": [4, 8]}, scoring="roc_auc", cv=3
    ).fit(X, Y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.model_.layers[0].units == search.best_params_["model__units"]


def test_pipeline_after_a_sampler_in_grid_search():
    pipe = Pipeline(
        [
            ("under", RandomUnderSampler(random_state=0)),
            ("clf", ResampledKerasClassifier(build, epochs=3, random_state=0)),
        ]
    )
    grid = {
        "under__sampling_strategy": [0.3, 1.0],
        "clf__class_weight": [None, "log"],
        "clf__batch_ratio": [None, 2.0],
    }
    search = GridSearchCV(pipe, grid, scoring="roc_auc", cv=3).fit(X, Y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_small_cnn_on_images_trains_with_smote_through_the_flatten_path():
    rng = np.random.default_rng(0)
    y = np.array([0] * 90 + [1] * 10)
    images = rng.normal(size=(100, 8, 8, 1)).astype("float32")
    images[y == 1, 2:6, 2:6, 0] += 2.0  # the minority has a bright square

    def cnn(meta):
        return keras.Sequential(
            [
                keras.Input(meta["X_shape_"][1:]),
                keras.layers.Conv2D(4, 3, activation="relu"),
                keras.layers.GlobalMaxPooling2D(),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )

    clf = ResampledKerasClassifier(
        cnn, sampler=SMOTE(k_neighbors=3), epochs=10, optimizer__learning_rate=0.01, random_state=0
    )
    clf.fit(images, y)
    assert clf.n_features_in_ == 8
    assert roc_auc_score(y, clf.predict_proba(images)[:, 1]) > 0.9
    with pytest.raises(ValueError, match="expecting"):
        clf.predict(images[:, :4])


def test_multiclass_with_softmax_and_focal_loss():
    X3, y3 = make_classification(
        n_samples=300,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        weights=[0.7, 0.2, 0.1],
        random_state=1,
    )
    clf = ResampledKerasClassifier(
        build,
        loss="focal",
        class_weight="balanced",
        epochs=15,
        sampler=SMOTE(k_neighbors=3),
        random_state=0,
    ).fit(X3, y3)
    proba = clf.predict_proba(X3)
    assert (
        proba.shape == (300, 3) and type(clf.model_.loss).__name__ == "CategoricalFocalCrossentropy"
    )
    assert roc_auc_score(y3, proba, multi_class="ovr") > 0.8


def test_user_model_instance_is_cloned_fresh_and_seeded():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(6, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="binary_crossentropy")
    first = ResampledKerasClassifier(model, epochs=3, random_state=1).fit(X, Y)
    second = ResampledKerasClassifier(model, epochs=3, random_state=1).fit(X, Y)
    assert first.model_ is not model and isinstance(first.model_.optimizer, keras.optimizers.SGD)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_routed_parameters_clone_and_set_params():
    clf = ResampledKerasClassifier(build, model__units=5, optimizer__learning_rate=0.02)
    clf.set_params(model__units=6)
    copy = clone(clf)
    assert copy.get_params()["model__units"] == 6
    assert copy.get_params()["optimizer__learning_rate"] == 0.02
    copy.set_params(epochs=1).fit(X, Y)
    assert copy.model_.layers[0].units == 6
    assert float(copy.model_.optimizer.learning_rate) == pytest.approx(0.02)
    routed_fit = ResampledKerasClassifier(build, epochs=9, fit__epochs=2).fit(X, Y)
    assert routed_fit.n_iter_ == 2


def test_a_builder_compiling_with_compile_kwargs_gets_keras_objects():
    def compiled(meta, compile_kwargs):
        model = build(meta)
        model.compile(**compile_kwargs)
        return model

    clf = ResampledKerasClassifier(
        compiled,
        loss="focal",
        optimizer="sgd",
        optimizer__learning_rate=0.05,
        epochs=2,
        random_state=0,
    ).fit(X, Y)
    assert type(clf.model_.loss).__name__ == "BinaryFocalCrossentropy"
    assert isinstance(clf.model_.optimizer, keras.optimizers.SGD)
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.05)


# ------------------------------------------------------------ from scikeras
def _scikeras_model(meta, hidden_layer_sizes=(16,), dropout=0.0):
    """scikeras's documented MLP builder (its "MLPClassifier" tutorial), binary."""
    model = keras.Sequential([keras.Input((meta["n_features_in_"],))])
    for units in hidden_layer_sizes:
        model.add(keras.layers.Dense(units, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    return model


def test_from_scikeras_carries_the_model_routed_parameters_and_fit_settings():
    from scikeras.wrappers import KerasClassifier

    scikeras_clf = KerasClassifier(
        _scikeras_model,
        model__hidden_layer_sizes=(8,),
        loss="binary_crossentropy",
        optimizer="adam",
        optimizer__learning_rate=0.01,
        epochs=7,
        batch_size=64,
        random_state=0,
        verbose=0,
    )
    clf = ResampledKerasClassifier.from_scikeras(scikeras_clf, batch_ratio=2)
    params = clf.get_params()
    assert params["model__hidden_layer_sizes"] == (8,)
    assert params["optimizer__learning_rate"] == 0.01
    assert (clf.epochs, clf.batch_size, clf.loss, clf.batch_ratio) == (
        7,
        64,
        "binary_crossentropy",
        2,
    )
    clf.fit(X, Y)
    assert clf.n_iter_ == 7 and clf.model_.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    assert roc_auc_score(Y, clf.predict_proba(X)[:, 1]) > 0.8


def test_from_scikeras_refuses_a_fit_setting_imbnet_has_no_equivalent_for():
    from scikeras.wrappers import KerasClassifier

    with pytest.raises(TypeError, match="fit__validation_split"):
        ResampledKerasClassifier.from_scikeras(
            KerasClassifier(_scikeras_model, fit__validation_split=0.2)
        )


# ------------------------------------------------------------------ logits
def _logits_model(meta):
    """The usual Keras pairing: a last layer without activation, a loss from logits."""
    n_classes = meta["n_classes_"]
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1 if n_classes == 2 else n_classes),
        ]
    )


@pytest.mark.parametrize("n_classes", [2, 3])
def test_a_logits_model_with_a_loss_from_logits_gives_probabilities(n_classes):
    X_, y_ = make_classification(
        n_samples=300,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        weights=[0.8] + [0.2 / (n_classes - 1)] * (n_classes - 1),
        random_state=0,
    )
    loss = (
        keras.losses.BinaryCrossentropy(from_logits=True)
        if n_classes == 2
        else keras.losses.CategoricalCrossentropy(from_logits=True)
    )
    clf = ResampledKerasClassifier(
        _logits_model, loss=loss, epochs=40, optimizer__learning_rate=0.01, random_state=0
    ).fit(X_, y_)
    proba = clf.predict_proba(X_)
    assert proba.min() >= 0 and proba.max() <= 1
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    score = roc_auc_score(y_, proba[:, 1] if n_classes == 2 else proba, multi_class="ovr")
    assert score > 0.8


def test_a_logits_model_with_a_loss_on_probabilities_is_refused():
    with pytest.raises(ValueError, match="outputs logits, but its loss"):
        ResampledKerasClassifier(_logits_model, epochs=1).fit(X, Y)


def test_per_epoch_sampler_early_stopping_watches_the_hold_out_weighted_to_the_draws():
    """With a sampler redrawn every epoch, early stopping watches the hold-out with
    its classes weighted as the draws hold them (balanced under random
    under-sampling): the loss the network is trained to lower. Watched as it is
    (16:1 here), that loss rose from the first epoch while the network moved
    away from the majority, and the rule stopped at epoch 12 with the first
    epoch's weights (held-out ROC AUC 0.48)."""
    X, y = make_classification(
        n_samples=730,
        n_features=10,
        n_informative=5,
        n_redundant=2,
        weights=[0.94],
        flip_y=0,
        random_state=0,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    clf = ResampledKerasClassifier(
        build,
        model__units=32,
        sampler=RandomUnderSampler(),
        epochs=40,
        batch_size=200,
        early_stopping=True,
        random_state=0,
    ).fit(scaler.transform(X_train), y_train)
    assert clf.n_iter_ > 25
    assert len(clf.history_["val_loss"]) == clf.n_iter_
    proba = clf.predict_proba(scaler.transform(X_test))[:, 1]
    assert roc_auc_score(y_test, proba) > 0.7  # 40 epochs of one step each


def test_a_row_keeping_sampler_is_redrawn_as_row_indices_of_the_same_arrays():
    """Random under-sampling redrawn every epoch is handed over as row orders into
    the training arrays (many epochs per compiled call): the first epoch the rows the
    sampler's own draw keeps, later ones a new draw of the same class counts (without
    a new fit_resample); SMOTE, which makes new rows, is redrawn as arrays."""
    from imbnet._random import SeedStream
    from imbnet.sampling._epochs import FitData, SamplerEpochs
    from imbnet.weighting._targets import make_target

    target, y_encoded = make_target(Y)
    seeds = SeedStream(0)
    data = FitData(
        X, y_encoded, target.encode(y_encoded), np.ones(len(Y)), np.ones(2), None, target, seeds
    )
    source = SamplerEpochs(data, sampler=RandomUnderSampler(), per_epoch=True, shuffle=True)
    assert source.redraws is False
    first, second = source.epochs(0, 2)
    assert first.X is X and second.X is X
    expected = RandomUnderSampler(random_state=seeds.seed_for("sampler0"))
    expected.fit_resample(X, y_encoded)
    np.testing.assert_array_equal(np.sort(first.order), np.sort(expected.sample_indices_))
    for drawn in (first, second):
        rows = drawn.order
        assert len(np.unique(rows)) == len(rows)  # without replacement, as the sampler
        assert np.bincount(y_encoded[rows]).tolist() == [np.sum(y_encoded == 1)] * 2
    assert not np.array_equal(np.sort(first.order), np.sort(second.order))
    smote = SamplerEpochs(data, sampler=SMOTE(), per_epoch=True, shuffle=True)
    assert smote.redraws is True and smote(0).X.shape[0] > len(Y)


def test_a_sampler_keeping_a_random_number_of_rows_hands_over_epochs_of_one_shape():
    """NegativeDownsampler keeps a random number of rows every epoch: the epochs one
    compiled call trains all have the first one's row count (they were stacked as one
    shape and failed), and the epoch held back is the next call's first, as drawn."""
    from imbnet import NegativeDownsampler
    from imbnet._random import SeedStream
    from imbnet.sampling._epochs import FitData, SamplerEpochs
    from imbnet.weighting._targets import make_target

    X_big, y_big = make_classification(2000, 4, weights=[0.9], random_state=0)
    target, y_encoded = make_target(y_big)
    data = FitData(
        X_big,
        y_encoded,
        target.encode(y_encoded),
        np.ones(len(y_big)),
        np.ones(2),
        None,
        target,
        SeedStream(0),
    )
    sampler = NegativeDownsampler(rate=0.5)
    source = SamplerEpochs(data, sampler=sampler, per_epoch=True, shuffle=True)
    epochs = source.epochs(0, 8)
    assert 1 <= len(epochs) < 8  # draws of 2,000 rows at rate 0.5 differ in size
    assert {len(e.order) for e in epochs} == {len(epochs[0].order)}
    held_back = source(len(epochs))
    assert len(held_back.order) != len(epochs[0].order)
    assert source.epochs(len(epochs), 1)[0] is held_back
    clf = ResampledKerasClassifier(build, sampler=sampler, epochs=6, random_state=0)
    assert clf.fit(X_big, y_big).n_iter_ == 6


@pytest.mark.parametrize(
    "labels", [(1, 2), ("ok", "fraud")], ids=["integer labels 1, 2", "string labels"]
)
def test_a_sampling_strategy_dict_names_classes_by_their_labels(labels):
    """As in an imbalanced-learn pipeline: {label of the majority: 20} cuts the majority
    to 20 rows, though the network's sampler sees encoded labels (with labels 1 and 2,
    code 1 is label 2: read as a code, the dict would leave the majority whole)."""
    majority, minority = labels
    y = np.where(Y_COUNT == 0, majority, minority)
    sampler = RandomUnderSampler(sampling_strategy={majority: 20})
    clf = ResampledKerasClassifier(
        model=counting_model(200), sampler=sampler, epochs=3, batch_size=20, random_state=0
    ).fit(X_COUNT, y)
    fed, _ = fed_counts(clf)
    assert fed[Y_COUNT == 0].sum() == 3 * 20 and fed[Y_COUNT == 1].sum() == 3 * 20
    assert sampler.get_params()["sampling_strategy"] == {majority: 20}  # not modified
    before = clf.predict_proba(X_COUNT)
    with pytest.raises(ValueError, match=r"sampling_strategy names \['nope'\].*class labels"):
        clf.set_params(sampler=RandomUnderSampler(sampling_strategy={"nope": 5})).fit(X_COUNT, y)
    np.testing.assert_array_equal(clf.predict_proba(X_COUNT), before)


@pytest.mark.parametrize(
    "labels", [(1, 2), ("ok", "fraud")], ids=["integer labels 1, 2", "string labels"]
)
def test_a_callable_sampling_strategy_sees_the_labels_of_y(labels):
    """imbalanced-learn calls a callable sampling_strategy with y: it gets the caller's
    labels and answers in them, as in a pipeline, not the network's codes."""
    majority, minority = labels
    y = np.where(Y_COUNT == 0, majority, minority)
    seen = []

    def cut_the_majority(y_seen):
        seen.append(set(np.unique(y_seen).tolist()))
        return {majority: 20}

    clf = ResampledKerasClassifier(
        model=counting_model(200),
        sampler=RandomUnderSampler(sampling_strategy=cut_the_majority),
        epochs=3,
        batch_size=20,
        random_state=0,
    ).fit(X_COUNT, y)
    assert seen and all(s == set(labels) for s in seen)
    fed, _ = fed_counts(clf)
    assert fed[Y_COUNT == 0].sum() == 3 * 20 and fed[Y_COUNT == 1].sum() == 3 * 20
    before = clf.predict_proba(X_COUNT)
    with pytest.raises(ValueError, match=r"sampling_strategy names \['nope'\]"):
        clf.set_params(
            sampler=RandomUnderSampler(sampling_strategy=lambda y_seen: {"nope": 5})
        ).fit(X_COUNT, y)
    np.testing.assert_array_equal(clf.predict_proba(X_COUNT), before)
