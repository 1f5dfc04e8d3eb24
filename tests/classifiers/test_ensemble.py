"""Ensembles of networks: scikit-learn's and imbalanced-learn's around imbnet's
estimators, and BalancedEnsembleClassifier (members side by side in one model)."""

import warnings

import keras
import numpy as np
import pytest
from _networks import build
from imblearn.ensemble import BalancedBaggingClassifier, EasyEnsembleClassifier
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.datasets import make_classification
from sklearn.ensemble import BaggingClassifier, StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.model_selection import cross_val_score
from sklearn.utils._param_validation import InvalidParameterError

import imbnet
from imbnet import (
    BalancedEnsembleClassifier,
    CostSensitiveMLPClassifier,
    HardNegativeSampler,
    ResampledKerasClassifier,
)
from imbnet._random import SeedStream
from imbnet.classifiers._ensemble import _member_networks
from imbnet.engine._stacking import StackedDense, stack_models
from imbnet.sampling._epochs import FitData, MemberDraws, out_of_bag_rows
from imbnet.weighting._targets import make_target

X, y = make_classification(
    n_samples=400,
    n_features=5,
    n_informative=4,
    n_redundant=1,
    weights=[0.9],
    class_sep=1.0,
    random_state=0,
)
X_test, y_test = make_classification(
    n_samples=400,
    n_features=5,
    n_informative=4,
    n_redundant=1,
    weights=[0.9],
    class_sep=1.0,
    random_state=0,
    shuffle=True,
)


def mlp(**params):
    return CostSensitiveMLPClassifier(
        **{
            "hidden_layer_sizes": (8,),
            "max_iter": 4,
            "learning_rate_init": 0.01,
            "random_state": 0,
            **params,
        }
    )


def keras_clf(**params):
    return ResampledKerasClassifier(build, **{"epochs": 4, "random_state": 0, **params})


# ------------------------------------------------ scikit-learn / imbalanced-learn
ENSEMBLES = {
    "balanced_bagging": lambda est: BalancedBaggingClassifier(
        estimator=est, n_estimators=2, random_state=0
    ),
    "easy_ensemble": lambda est: EasyEnsembleClassifier(
        n_estimators=2, estimator=BaggingClassifier(est, n_estimators=1), random_state=0
    ),
    "bagging": lambda est: BaggingClassifier(est, n_estimators=2, random_state=0),
    "soft_voting": lambda est: VotingClassifier(
        [("a", est), ("b", LogisticRegression())], voting="soft"
    ),
    "stacking": lambda est: StackingClassifier([("a", est), ("b", LogisticRegression())], cv=2),
}


@pytest.mark.parametrize("make_estimator", [mlp, keras_clf], ids=["mlp", "keras"])
@pytest.mark.parametrize("name", list(ENSEMBLES))
def test_scikit_learn_and_imbalanced_learn_ensembles(name, make_estimator):
    ensemble = ENSEMBLES[name](make_estimator()).fit(X, y)
    proba = ensemble.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all((proba >= 0) & (proba <= 1))
    assert set(ensemble.predict(X_test)) <= {0, 1}


# ------------------------------------------------------- the side-by-side model
def _fit_data(labels, weights):
    target, y_encoded = make_target(labels)
    target.encoding = "column"  # as bind sets it for one sigmoid unit
    return FitData(
        X=X.astype(np.float32),
        y=y_encoded,
        targets=target.encode(y_encoded),
        weights=weights,
        class_weight=np.ones(2, np.float32),
        sample_weight=None,
        target=target,
        seeds=SeedStream(0),
    )


# A rare class of 40 rows (subsets by vectorised Floyd) and of 134 (one rng.choice per subset).
@pytest.mark.parametrize("labels", [y, (np.arange(len(y)) % 3 == 0).astype(int)], ids=["40", "134"])
def test_member_draws_are_balanced_and_fresh_every_epoch(labels):
    draws = MemberDraws(_fit_data(labels, np.ones(len(labels), np.float32)), n_members=3)
    first, second = draws(0).order, draws(1).order
    n_rare = np.bincount(labels).min()
    assert first.shape == (2 * n_rare, 3)
    for column in first.T:
        np.testing.assert_array_equal(np.bincount(labels[column]), [n_rare, n_rare])
        assert len(set(column)) == len(column)  # without replacement
    assert not np.array_equal(first[:, 0], first[:, 1])  # each member its own draw
    assert not np.array_equal(np.sort(first[:, 0]), np.sort(second[:, 0]))  # redrawn
    # many epochs drawn at once: the epochs already drawn stay as they were
    later = draws.epochs(1, 4)
    assert later[0].order is second
    assert len({tuple(np.sort(e.order[:, 0])) for e in later}) == 4


@pytest.mark.parametrize(
    "sampler, counts",
    [
        (RandomUnderSampler(sampling_strategy=0.5), [84, 42]),
        (RandomOverSampler(sampling_strategy=0.5), [358, 179]),
    ],
    ids=["under", "over"],
)
def test_member_draws_of_a_random_sampler_are_row_indices_redrawn_every_epoch(sampler, counts):
    """A random under- or over-sampler's draws, every member's and every epoch's, are
    row indices with the counts it resolved: the arrays stay the data's (many epochs
    per compiled call) and only the rows change."""
    data = _fit_data(y, np.ones(len(y), np.float32))
    draws = MemberDraws(data, n_members=3, sampler=sampler)
    assert not draws.redraws
    epochs = draws.epochs(0, 4)
    for epoch in epochs:
        assert epoch.X is data.X and epoch.order.shape == (sum(counts), 3)
        for column in epoch.order.T:
            np.testing.assert_array_equal(np.bincount(y[column]), counts)
    columns = {tuple(np.sort(c)) for e in epochs for c in e.order.T}
    assert len(columns) == 12  # every member, every epoch: its own draw
    # a sampler that makes rows (SMOTE) is drawn by itself every epoch
    assert MemberDraws(data, n_members=3, sampler=SMOTE(k_neighbors=3)).redraws


def test_several_draws_per_epoch_follow_one_another():
    draws = MemberDraws(_fit_data(y, np.ones(len(y), np.float32)), n_members=2, draws_per_epoch=3)
    order = draws(0).order
    n_rare = np.bincount(y).min()
    assert order.shape == (3 * 2 * n_rare, 2)
    for column in order.T:
        parts = column.reshape(3, 2 * n_rare)
        for part in parts:  # each a balanced under-sample without replacement
            np.testing.assert_array_equal(np.bincount(y[part]), [n_rare, n_rare])
            assert len(set(part)) == len(part)
        assert len({tuple(np.sort(p[y[p] == 0])) for p in parts}) == 3  # fresh majority rows
    ensemble = BalancedEnsembleClassifier(mlp(), n_estimators=2, draws_per_epoch="auto")
    assert ensemble._draws_per_epoch(y) == round(len(y) / (2 * n_rare))
    assert ensemble.set_params(sampler=SMOTE())._draws_per_epoch(y) == 1


def test_out_of_bag_members_draw_from_their_own_bags_and_stop_on_the_rest():
    """With out_of_bag, each member draws only from its own bag of rows, and its
    stopping rule weighs only the rows outside it, each class with its share."""

    data = _fit_data(y, np.ones(len(y), np.float32))
    draws = MemberDraws(data, n_members=3, out_of_bag=0.25)
    in_bag = draws.in_bag
    n_rare = np.bincount(y).min()
    for k in range(3):  # a quarter of each class out of member k's bag
        np.testing.assert_array_equal(
            np.bincount(y[~in_bag[k]]), np.round(0.25 * np.bincount(y)).astype(int)
        )
    assert not np.array_equal(in_bag[0], in_bag[1])
    for epoch in draws.epochs(0, 5):
        assert epoch.order.shape == (2 * (n_rare - round(0.25 * n_rare)), 3)
        for k in range(3):
            assert in_bag[k, epoch.order[:, k]].all()
    # X as the row numbers: which rows the stopping rule keeps
    share = np.asarray(draws.tally.prior(1), np.float64)
    np.testing.assert_allclose(share, [0.5, 0.5])
    rng = np.random.default_rng(0)
    X_s, y_s, w_s = out_of_bag_rows(np.arange(len(y))[:, None], y, data.weights, in_bag, share, rng)
    assert w_s.shape == (X_s.shape[0], 3)
    for k in range(3):
        real = w_s[:, k] > 0
        assert real.any() and not in_bag[k, X_s[real, 0]].any()  # none of its training rows
        np.testing.assert_array_equal(y_s[real], y[X_s[real, 0]])
        np.testing.assert_allclose(
            [w_s[y_s == c, k].sum() for c in (0, 1)], real.sum() / 2, rtol=1e-5
        )


def test_out_of_bag_ensemble_members_stop_apart():
    ensemble = BalancedEnsembleClassifier(
        mlp(max_iter=60, learning_rate_init=0.05, n_iter_no_change=3),
        n_estimators=4,
        out_of_bag=0.3,
        draws_per_epoch="auto",
        random_state=0,
    ).fit(X, y)
    assert len(set(ensemble.n_iter_.tolist())) > 1 and ensemble.n_iter_.min() < 60
    assert ensemble.predict_proba(X_test).shape == (len(X_test), 2)


@pytest.mark.parametrize("uneven", [False, True], ids=["class_weight", "sample_weight"])
def test_member_draws_tally_the_weight_each_epoch_feeds(uneven):
    rng = np.random.default_rng(0)
    weights = np.where(y == 1, 5.0, 1.0) * (rng.uniform(0.1, 2.0, len(y)) if uneven else 1.0)
    draws = MemberDraws(_fit_data(y, weights.astype(np.float32)), n_members=3)
    for e, epoch in enumerate(draws.epochs(0, 3)):
        fed = np.bincount(
            y[epoch.order].ravel(), weights=epoch.w[epoch.order].ravel().astype(np.float64)
        )
        np.testing.assert_allclose(draws.tally.mass(e), fed, rtol=1e-6)


def test_perceptrons_stack_into_batched_layers_with_their_own_weights():
    members = [
        keras.Sequential(
            [
                keras.Input((5,)),
                keras.layers.Dense(4, activation="relu"),
                keras.layers.Dropout(0.1),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        for _ in range(3)
    ]
    for member in members:
        member.compile(optimizer="adam", loss="binary_crossentropy")
    stacked = stack_models(members, (5,))
    assert sum(isinstance(layer, StackedDense) for layer in stacked.layers) == 2
    rows = X[:7].astype(np.float32)
    out = keras.ops.convert_to_numpy(stacked(np.stack([rows] * 3, axis=1)))
    for k, member in enumerate(members):
        np.testing.assert_allclose(out[:, k], keras.ops.convert_to_numpy(member(rows)), rtol=1e-5)


def test_unbuilt_members_start_at_the_weights_of_their_own_builds():
    # Only the first perceptron is built; the others' kernels come from reseeded initializers.
    member = mlp(hidden_layer_sizes=(8, 4), dropout=0.1)
    member._validate_params()
    data, _ = member._prepare_data(X, y, None)
    meta, seeds = member._model_meta(data.X), SeedStream(5)
    networks, copies = _member_networks(member, meta, seeds, 3)
    assert len(networks) == 1 and len(copies) == 2
    built = [member._build_model(meta, SeedStream(seeds.seed_for(f"member{k}"))) for k in range(3)]
    expected = stack_models(built, (5,)).get_weights()
    for got, want in zip(stack_models(networks, (5,), copies).get_weights(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    # a model builder's own seeds cannot be derived: every member is built
    keras_member = keras_clf()
    keras_member._validate_params()
    keras_member._prepare_data(X, y, None)
    networks, copies = _member_networks(keras_member, keras_member._model_meta(data.X), seeds, 3)
    assert len(networks) == 3 and copies == []


# ------------------------------------------------------ BalancedEnsembleClassifier
@pytest.fixture(scope="module")
def ensemble():
    return BalancedEnsembleClassifier(mlp(max_iter=30), n_estimators=3, random_state=0).fit(X, y)


def test_probabilities_are_the_members_mean(ensemble):
    member, per_member = ensemble._member_proba(X_test)
    assert per_member.shape == (3, len(X_test), 2)
    np.testing.assert_allclose(ensemble.predict_proba(X_test), per_member.mean(axis=0), rtol=1e-6)
    # the members learnt different functions (own weights, own draws)
    assert np.abs(per_member[0] - per_member[1]).max() > 1e-3
    assert ensemble.estimator_.n_iter_ >= 1


def test_members_train_on_balanced_draws(ensemble):
    np.testing.assert_allclose(ensemble.estimator_.training_prior_, [0.5, 0.5], atol=1e-9)
    plain = mlp(max_iter=30).fit(X, y)
    recall = lambda clf: recall_score(y_test, clf.predict(X_test))  # noqa: E731
    assert recall(ensemble) > recall(plain)


def test_same_seed_same_predictions_and_different_seed_differs(ensemble):
    again = BalancedEnsembleClassifier(mlp(max_iter=30), n_estimators=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X_test), ensemble.predict_proba(X_test))
    other = BalancedEnsembleClassifier(mlp(max_iter=30), n_estimators=3, random_state=1).fit(X, y)
    assert not np.array_equal(other.predict_proba(X_test), ensemble.predict_proba(X_test))


def test_fit_gives_no_deprecation_warning_of_its_own(ensemble):
    # Stacking the members read their weights with keras.ops.convert_to_numpy, which
    # on TensorFlow makes NumPy 2 warn (DeprecationWarning) in a user's test suite.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        again = BalancedEnsembleClassifier(mlp(max_iter=30), n_estimators=3, random_state=0)
        again.fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X_test), ensemble.predict_proba(X_test))


def test_prior_correction_estimates_the_base_rate():
    clf = BalancedEnsembleClassifier(
        mlp(max_iter=30, prior_correction=True), n_estimators=3, random_state=0
    ).fit(X, y)
    assert clf.predict_proba(X)[:, 1].mean() == pytest.approx(y.mean(), rel=0.35)


def test_any_keras_model_and_a_sampler_redrawn_every_epoch():
    def normalised(meta):
        return keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.BatchNormalization(),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )

    labels = np.array(["ok", "fraud"])[y]
    clf = BalancedEnsembleClassifier(
        ResampledKerasClassifier(normalised, epochs=2, random_state=0),
        n_estimators=2,
        sampler=SMOTE(k_neighbors=3),
        random_state=0,
    ).fit(X, labels)
    assert not any(isinstance(layer, StackedDense) for layer in clf.estimator_.model_.layers)
    assert set(clf.predict(X)) <= {"ok", "fraud"}
    assert list(clf.classes_) == ["fraud", "ok"]
    # SMOTE balances each member's draw
    np.testing.assert_allclose(clf.estimator_.training_prior_, [0.5, 0.5], atol=1e-6)


def test_multiclass_early_stopping_and_output_bias():
    X3, y3 = make_classification(
        n_samples=300,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        weights=[0.7, 0.2, 0.1],
        random_state=0,
    )
    clf = BalancedEnsembleClassifier(
        mlp(max_iter=5, early_stopping=True, output_bias_init="prior"),
        n_estimators=2,
        random_state=0,
    ).fit(X3, y3)
    assert clf.predict_proba(X3).shape == (300, 3)
    assert "val_loss" in clf.estimator_.history_


def test_cross_validation_and_save_load(tmp_path, ensemble):
    scores = cross_val_score(
        BalancedEnsembleClassifier(mlp(max_iter=30), n_estimators=3, random_state=0),
        X,
        y,
        scoring="roc_auc",
        cv=2,
    )
    assert np.all(np.isfinite(scores))
    path = tmp_path / "ensemble.imbnet"
    imbnet.save(ensemble, path)
    np.testing.assert_array_equal(
        imbnet.load(path).predict_proba(X_test), ensemble.predict_proba(X_test)
    )


@pytest.mark.parametrize(
    "make, error, message",
    [
        (
            lambda: BalancedEnsembleClassifier(LogisticRegression()),
            TypeError,
            "must be a CostSensitiveMLPClassifier or ResampledKerasClassifier",
        ),
        (
            lambda: BalancedEnsembleClassifier(keras_clf(batch_ratio=1)),
            ValueError,
            "the estimator's batch_ratio is set",
        ),
        (
            lambda: BalancedEnsembleClassifier(mlp(), sampler=HardNegativeSampler()),
            ValueError,
            "draws from each row's current loss",
        ),
        (
            lambda: BalancedEnsembleClassifier(mlp(), n_estimators=0),
            InvalidParameterError,
            "n_estimators",
        ),
        (
            lambda: BalancedEnsembleClassifier(mlp(), draws_per_epoch=0),
            InvalidParameterError,
            "draws_per_epoch",
        ),
        (
            lambda: BalancedEnsembleClassifier(mlp(), out_of_bag=1.0),
            InvalidParameterError,
            "out_of_bag",
        ),
        (
            lambda: BalancedEnsembleClassifier(mlp(), member_training="fast"),
            InvalidParameterError,
            "member_training",
        ),
    ],
)
def test_bad_settings_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make().fit(X, y)


def test_multilabel_is_refused():
    with pytest.raises(ValueError, match="no one class per row"):
        BalancedEnsembleClassifier(mlp()).fit(X, np.column_stack([y, 1 - y]))


# ------------------------------------- members' training on small draws
@pytest.mark.parametrize("batch_size", ["auto", 16])
def test_members_train_in_several_steps_per_draw_by_default(batch_size):
    """A draw is twice the rarest class (here about 80 rows): with the default
    member_training the members step through it in batches of 32 rows (an explicit
    batch size is kept) at three times the learning rate and half the patience;
    "estimator" trains with the estimator's settings, one step per draw."""
    n_draw = 2 * np.sum(y == 1)
    member = mlp(max_iter=3, batch_size=batch_size, n_iter_no_change=7)
    auto = BalancedEnsembleClassifier(member, n_estimators=2, random_state=0).fit(X, y)
    plain = BalancedEnsembleClassifier(
        member, n_estimators=2, member_training="estimator", random_state=0
    ).fit(X, y)
    batch = 32 if batch_size == "auto" else batch_size
    params = auto.estimator_.get_params()
    assert (params["batch_size"], params["n_iter_no_change"]) == (batch, 3)
    assert params["learning_rate_init"] == pytest.approx(0.03)
    assert member.get_params()["learning_rate_init"] == 0.01  # the caller's estimator as it was
    steps = int(auto.estimator_.model_.optimizer.iterations.numpy())
    assert steps == 3 * -(-n_draw // batch)
    plain_params = plain.estimator_.get_params()
    assert plain_params["learning_rate_init"] == 0.01 and plain_params["n_iter_no_change"] == 7
    plain_steps = int(plain.estimator_.model_.optimizer.iterations.numpy())
    assert plain_steps == 3 * -(-n_draw // (200 if batch_size == "auto" else batch_size))


# ------------------------------------- stopping on steady rows, inspection
def test_members_stop_on_the_loss_of_steady_rows_weighted_to_the_draws():
    """The stopping rule watches rows that stay the same every epoch, each class with
    its share of weight in the draws (balanced for under-sampling), not the loss of
    the fresh draw; the best epoch's weights are kept and the estimator's own
    early_stopping setting is left as it was."""
    from imbnet.classifiers._steady import steady_validation

    ensemble = BalancedEnsembleClassifier(
        mlp(max_iter=60, n_iter_no_change=3, tol=0.02), n_estimators=3, random_state=0
    ).fit(X, y)
    member = ensemble.estimator_
    assert member.early_stopping is False
    assert len(member.history_["val_loss"]) == member.n_iter_ < 60  # stopped, on val_loss
    seeds = SeedStream(0)
    target, y_encoded = make_target(y)
    weights = np.ones(len(y))
    data = FitData(X, y_encoded, None, weights, np.ones(2), None, target, seeds)
    data = data._replace(targets=target.encode(y_encoded))
    source = MemberDraws(data, n_members=3)
    X_s, y_s, w_s = steady_validation(member, data, None, source)
    real = w_s > 0  # padded with rows of weight 0 (one compiled program for many sizes)
    counts = np.bincount(y_s[real])
    # every minority row, at most 256 of the majority (the weights make up for the rest)
    assert counts.tolist() == [256, np.sum(y == 1)] and X_s.shape[0] == 512
    np.testing.assert_allclose([w_s[y_s == c].sum() for c in (0, 1)], real.sum() / 2, rtol=1e-5)


def test_n_iter_estimators_and_prior_correction_at_the_top_level():
    ensemble = BalancedEnsembleClassifier(mlp(max_iter=6), n_estimators=3, random_state=0)
    ensemble.fit(X, y)
    np.testing.assert_array_equal(ensemble.n_iter_, [6, 6, 6])
    members = ensemble.estimators_
    assert len(members) == 3 and all(m.n_iter_ == 6 for m in members)
    alone = np.stack([m.predict_proba(X_test) for m in members])
    np.testing.assert_allclose(alone.mean(axis=0), ensemble.predict_proba(X_test), rtol=1e-6)
    assert not np.allclose(alone[0], alone[1])  # each member its own network
    np.testing.assert_array_equal(members[1].predict(X_test), alone[1].argmax(axis=1))
    assert 0 <= members[0].score(X_test, y_test) <= 1
    # prior_correction: None follows the estimator (False), True corrects, as the member does.
    plain = ensemble.predict_proba(X_test)
    corrected = (
        BalancedEnsembleClassifier(
            mlp(max_iter=6), n_estimators=3, prior_correction=True, random_state=0
        )
        .fit(X, y)
        .predict_proba(X_test)
    )
    via_member = (
        BalancedEnsembleClassifier(mlp(max_iter=6, prior_correction=True), 3, random_state=0)
        .fit(X, y)
        .predict_proba(X_test)
    )
    np.testing.assert_allclose(corrected, via_member)
    assert corrected[:, 1].mean() < plain[:, 1].mean()  # back to the 1:9 prior
    off = BalancedEnsembleClassifier(
        mlp(max_iter=6, prior_correction=True), 3, prior_correction=False, random_state=0
    ).fit(X, y)
    np.testing.assert_allclose(off.predict_proba(X_test), plain)


def test_perceptron_members_take_padded_rows_whose_extra_weights_stay_zero():
    """Members are stacked at a width bucket (one compiled program for many data
    widths); the padded input columns are zeros and their kernel rows start and
    stay at zero, so the members are the networks a fit at the data's own width
    would give, and they predict from rows of that width."""
    X4 = X[:, :4]
    ensemble = BalancedEnsembleClassifier(
        mlp(max_iter=5, alpha=0.01), n_estimators=3, random_state=0
    ).fit(X4, y)
    model = ensemble.estimator_.model_
    assert model.inputs[0].shape[1:] == (3, 16)
    first = next(layer for layer in model.layers if isinstance(layer, StackedDense))
    kernel = keras.ops.convert_to_numpy(first.kernel)
    assert np.all(kernel[:, 4:] == 0) and np.any(kernel[:, :4] != 0)
    assert ensemble.predict_proba(X_test[:, :4]).shape == (len(X_test), 2)
    with pytest.raises(ValueError, match="X has 5 features"):  # not padded silently
        ensemble.predict(X_test)


# ------------------------------------------------------ per-member stopping
def test_a_member_that_stops_is_frozen_while_the_others_go_on():
    """Each stacked member stops on its own steady loss: after its last epoch its
    weights no longer change while the members still running do; its n_iter_ is
    its own, and training ends when the last one stops."""
    recorded = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            recorded.append([keras.ops.convert_to_numpy(v) for v in self.model.trainable_variables])

    ensemble = BalancedEnsembleClassifier(
        keras_clf(
            epochs=40,
            optimizer__learning_rate=0.05,
            early_stopping=True,
            n_iter_no_change=2,
            tol=0.0,
            callbacks=[Record()],
        ),
        n_estimators=4,
        random_state=0,
    ).fit(X, y)
    n_iter = ensemble.n_iter_
    assert n_iter.shape == (4,) and len(set(n_iter.tolist())) > 1  # they stopped apart
    assert len(recorded) == ensemble.estimator_.n_iter_ == n_iter.max() < 40
    first = int(np.argmin(n_iter))
    last = int(np.argmax(n_iter))
    stopped_at = n_iter[first] - 1  # index of its last epoch
    for later in recorded[stopped_at + 1 :]:
        for before, after in zip(recorded[stopped_at], later):
            np.testing.assert_array_equal(after[first], before[first])  # frozen
    assert any(
        not np.array_equal(a[last], b[last]) for a, b in zip(recorded[stopped_at], recorded[-1])
    )  # the longest-running member went on learning
    assert [m.n_iter_ for m in ensemble.estimators_] == n_iter.tolist()


def test_per_member_n_iter_and_same_seed_same_predictions():
    def fit(seed):
        return BalancedEnsembleClassifier(
            mlp(max_iter=80, learning_rate_init=0.05, n_iter_no_change=2, tol=1e-3),
            n_estimators=4,
            random_state=seed,
        ).fit(X, y)

    ensemble, again = fit(0), fit(0)
    assert len(set(ensemble.n_iter_.tolist())) > 1 and ensemble.n_iter_.max() < 80
    assert ensemble.estimator_.n_iter_ == ensemble.n_iter_.max()
    np.testing.assert_array_equal(again.n_iter_, ensemble.n_iter_)
    np.testing.assert_array_equal(again.predict_proba(X_test), ensemble.predict_proba(X_test))
    assert not np.array_equal(fit(1).predict_proba(X_test), ensemble.predict_proba(X_test))


def test_a_sampler_ensemble_then_a_plain_one_share_the_process():
    """Stacked draws of a sampler (weights per member) and draws by index (weights
    per row) are arrays of other ranks for the same compiled program; both fit,
    and a member stops on its own on the hold-out."""
    stopping = {"learning_rate_init": 0.05, "n_iter_no_change": 2}
    BalancedEnsembleClassifier(
        mlp(max_iter=10, tol=1e-3, **stopping), 3, sampler=SMOTE(random_state=0), random_state=0
    ).fit(X, y)
    ensemble = BalancedEnsembleClassifier(
        mlp(max_iter=40, early_stopping=True, **stopping), 3, random_state=0
    ).fit(X, y)
    assert ensemble.n_iter_.min() < ensemble.n_iter_.max() == ensemble.estimator_.n_iter_


def test_the_ensembles_sampler_names_classes_by_their_labels():
    labels = np.where(y == 1, "fraud", "ok")
    n_ok = int(np.sum(y == 0))
    sampler = RandomUnderSampler(sampling_strategy={"ok": n_ok // 2})
    ensemble = BalancedEnsembleClassifier(mlp(), n_estimators=2, sampler=sampler).fit(X, labels)
    assert set(ensemble.predict(X_test)) <= {"fraud", "ok"}
    with pytest.raises(ValueError, match=r"sampling_strategy names \['nope'\]"):
        BalancedEnsembleClassifier(
            mlp(), n_estimators=2, sampler=RandomUnderSampler(sampling_strategy={"nope": 5})
        ).fit(X, labels)
