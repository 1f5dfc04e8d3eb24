"""Prior correction of predict_proba, and the output bias started at the class prior."""

import keras
import numpy as np
import pytest
from _networks import build
from imblearn.under_sampling import RandomUnderSampler
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.metrics import brier_score_loss, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier, make_tutorial_data
from imbnet.sampling._batching import BalancedBatchPlan
from imbnet.weighting._priors import PriorTally, correct_proba, output_bias, set_output_bias

X, Y = make_classification(
    n_samples=2000,
    n_features=4,
    n_informative=3,
    n_redundant=0,
    weights=[0.95],
    flip_y=0.02,
    random_state=0,
)
X_TRAIN, X_TEST, Y_TRAIN, Y_TEST = train_test_split(X, Y, stratify=Y, test_size=0.5, random_state=0)


def mlp(**params):
    params = {"max_iter": 20, **params}
    return CostSensitiveMLPClassifier((8,), learning_rate_init=0.01, random_state=0, **params)


def proba_both_ways(clf, X_eval):
    """Positive-class probabilities uncorrected and corrected, from one fitted model."""
    uncorrected = clf.set_params(prior_correction=False).predict_proba(X_eval)
    corrected = clf.set_params(prior_correction=True).predict_proba(X_eval)
    return uncorrected, corrected


@pytest.mark.parametrize(
    "make",
    [
        lambda: mlp(class_weight="balanced"),
        lambda: ResampledKerasClassifier(
            build,
            sampler=RandomUnderSampler(),
            epochs=20,
            optimizer__learning_rate=0.01,
            random_state=0,
        ),
    ],
    ids=["class_weight=balanced", "RandomUnderSampler"],
)
def test_correction_improves_held_out_probabilities_and_keeps_the_ranking(make):
    clf = make().fit(X_TRAIN, Y_TRAIN)
    # Both ways the network trained on balanced classes; the data is ~1:19.
    np.testing.assert_allclose(clf.training_prior_, [0.5, 0.5], atol=1e-6)
    assert clf.class_prior_[1] == pytest.approx(np.mean(Y_TRAIN))
    uncorrected, corrected = proba_both_ways(clf, X_TEST)
    assert brier_score_loss(Y_TEST, corrected[:, 1]) < 0.5 * brier_score_loss(
        Y_TEST, uncorrected[:, 1]
    )
    assert log_loss(Y_TEST, corrected) < 0.5 * log_loss(Y_TEST, uncorrected)
    # The map is monotone: the same ranking, the same ROC AUC.
    auc = roc_auc_score(Y_TEST, uncorrected[:, 1])
    assert roc_auc_score(Y_TEST, corrected[:, 1]) == pytest.approx(auc, abs=1e-12)
    # The mean corrected probability is near the real positive rate, not near 1/2.
    assert abs(corrected[:, 1].mean() - Y_TEST.mean()) < abs(
        uncorrected[:, 1].mean() - Y_TEST.mean()
    )


def test_correction_is_the_identity_without_weighting_or_resampling():
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(Y_TRAIN))
    clf = mlp(max_iter=3).fit(X_TRAIN, Y_TRAIN, sample_weight=sample_weight)
    # The user's sample_weight is part of the data's prior: nothing to undo.
    expected = np.bincount(Y_TRAIN, weights=sample_weight) / sample_weight.sum()
    np.testing.assert_allclose(clf.class_prior_, expected)
    np.testing.assert_allclose(clf.training_prior_, expected, rtol=1e-6)
    uncorrected, corrected = proba_both_ways(clf, X_TEST)
    np.testing.assert_allclose(corrected, uncorrected, rtol=1e-5)


def test_training_prior_is_class_weight_times_counts():
    clf = mlp(max_iter=2, class_weight={0: 1.0, 1: 10.0}).fit(X_TRAIN, Y_TRAIN)
    mass = np.bincount(Y_TRAIN) * np.array([1.0, 10.0])
    np.testing.assert_allclose(clf.training_prior_, mass / mass.sum(), rtol=1e-6)


def test_training_prior_of_a_sampler_combined_with_class_weights():
    clf = ResampledKerasClassifier(
        build,
        sampler=RandomUnderSampler(sampling_strategy=0.5),
        class_weight={1: 3.0},
        epochs=2,
        random_state=0,
    ).fit(X_TRAIN, Y_TRAIN)
    # Two negatives per positive, each positive weighing 3: 2 : 3.
    np.testing.assert_allclose(clf.training_prior_, [0.4, 0.6], rtol=1e-6)


def test_training_prior_of_balanced_batches_is_the_batch_mix():
    clf = ResampledKerasClassifier(
        build, batch_ratio=3, batch_size=32, epochs=2, random_state=0
    ).fit(X_TRAIN, Y_TRAIN)
    plan = BalancedBatchPlan(Y_TRAIN, 32, 3, np.random.default_rng(0))
    np.testing.assert_allclose(clf.training_prior_, plan.rows_per_batch / 32, rtol=1e-6)


def test_tally_averages_the_class_mix_over_epochs():
    tally = PriorTally(n_classes=2, multilabel=False)
    targets = np.array([[0.0], [0.0], [0.0], [1.0]], dtype=np.float32)
    weights = np.ones(4)
    tally.add(0, targets, weights, np.array([0, 1, 2, 3]), "column")  # 3 : 1
    tally.add(1, targets, weights, np.array([0, 3, 3, 3]), "column")  # 1 : 3, row 3 fed thrice
    np.testing.assert_allclose(tally.prior(), [0.5, 0.5])
    # An epoch drawn ahead but never trained does not count.
    tally.add(2, targets, weights, np.array([3, 3, 3, 3]), "column")
    np.testing.assert_allclose(tally.prior(2), [0.5, 0.5])
    np.testing.assert_allclose(tally.prior(1), [0.75, 0.25])


def test_multiclass_correction():
    X3, y3 = make_classification(
        n_samples=1500,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        weights=[0.8, 0.15, 0.05],
        random_state=1,
    )
    X_tr, X_te, y_tr, y_te = train_test_split(X3, y3, stratify=y3, test_size=0.5, random_state=0)
    clf = mlp(class_weight="balanced").fit(X_tr, y_tr)
    np.testing.assert_allclose(clf.training_prior_, [1 / 3] * 3, rtol=1e-6)
    uncorrected, corrected = proba_both_ways(clf, X_te)
    np.testing.assert_allclose(corrected.sum(axis=1), 1.0)
    assert log_loss(y_te, corrected) < log_loss(y_te, uncorrected)
    # Correcting moves probability from the up-weighted rare classes to the common one.
    assert corrected[:, 0].mean() > uncorrected[:, 0].mean()
    assert corrected[:, 2].mean() < uncorrected[:, 2].mean()


def test_correct_proba_maps_back_to_the_prior():
    # A network that learnt nothing predicts its training prior; corrected: the data's.
    proba = np.array([[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_allclose(
        correct_proba(proba, np.array([0.9, 0.1]), np.array([0.5, 0.5]), multilabel=False),
        [[0.9, 0.1], [0.9, 0.1]],
    )
    positives = np.array([[0.5, 0.2]])
    corrected = correct_proba(
        positives, np.array([0.1, 0.2]), np.array([0.5, 0.2]), multilabel=True
    )
    np.testing.assert_allclose(corrected, [[0.1, 0.2]])


# ----------------------------------------------------- with sklearn's meta-estimators
def test_calibrated_classifier_on_a_corrected_estimator():
    base = mlp(class_weight="balanced", prior_correction=True)
    calibrated = CalibratedClassifierCV(base, cv=3).fit(X_TRAIN, Y_TRAIN)
    proba = calibrated.predict_proba(X_TEST)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    uncorrected = mlp(class_weight="balanced").fit(X_TRAIN, Y_TRAIN).predict_proba(X_TEST)
    assert brier_score_loss(Y_TEST, proba[:, 1]) < brier_score_loss(Y_TEST, uncorrected[:, 1])


def test_tuned_threshold_on_corrected_probabilities():
    base = mlp(class_weight="balanced", prior_correction=True)
    tuned = TunedThresholdClassifierCV(base, scoring="f1", cv=3).fit(X_TRAIN, Y_TRAIN)
    # Corrected probabilities of a rare class are small: the F1 threshold is below 1/2,
    # and it beats the argmax of the corrected probabilities on held-out data.
    assert 0.0 < tuned.best_threshold_ < 0.5
    argmax = base.fit(X_TRAIN, Y_TRAIN).predict(X_TEST)
    assert f1_score(Y_TEST, tuned.predict(X_TEST)) > f1_score(Y_TEST, argmax)


# ----------------------------------------------------------------- output bias
X_RARE, Y_RARE = make_tutorial_data(n_samples=2000)


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: CostSensitiveMLPClassifier((8,), max_iter=1, random_state=0, **kw),
        lambda **kw: ResampledKerasClassifier(build, epochs=1, random_state=0, **kw),
    ],
    ids=["CostSensitiveMLPClassifier", "ResampledKerasClassifier"],
)
def test_prior_output_bias_lowers_the_first_epoch_loss(make):
    zeros = make().fit(X_RARE, Y_RARE)
    prior = make(output_bias_init="prior").fit(X_RARE, Y_RARE)
    # At bias 0 the network starts at p = 1/2 (loss ~0.69); at the 1:100 prior, near
    # the prior's entropy (~0.06).
    assert prior.loss_curve_[0] < 0.5 * zeros.loss_curve_[0]


def test_output_bias_is_the_training_prior_not_the_data_prior():
    clf = mlp(max_iter=1, class_weight="balanced", output_bias_init="prior")
    biased = clf.fit(X_RARE, Y_RARE)
    # Trained under balanced weights, the start is p = 1/2: the same first loss as zeros.
    zeros = mlp(max_iter=1, class_weight="balanced").fit(X_RARE, Y_RARE)
    assert biased.loss_curve_[0] == pytest.approx(zeros.loss_curve_[0], rel=1e-5)


@pytest.mark.parametrize(
    "prior, width, multilabel",
    [([0.99, 0.01], 1, False), ([0.7, 0.2, 0.1], 3, False), ([0.3, 0.05], 2, True)],
)
def test_a_network_at_the_prior_bias_predicts_the_prior(prior, width, multilabel):
    activation = "sigmoid" if width == 1 or multilabel else "softmax"
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(width, activation=activation, kernel_initializer="zeros"),
        ]
    )
    set_output_bias(model, output_bias(np.array(prior), width=width, multilabel=multilabel))
    outputs = keras.ops.convert_to_numpy(model(np.ones((2, 3), np.float32)))
    expected = prior[1:] if width == 1 else prior
    np.testing.assert_allclose(outputs, np.tile(expected, (2, 1)), rtol=1e-5)


def test_prior_bias_needs_a_dense_output_layer():
    def build_bn(meta):
        return keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(1),
                keras.layers.BatchNormalization(),
                keras.layers.Activation("sigmoid"),
            ]
        )

    clf = ResampledKerasClassifier(build_bn, epochs=1, output_bias_init="prior", random_state=0)
    with pytest.raises(ValueError, match="output_bias_init='prior'.*BatchNormalization"):
        clf.fit(X_RARE, Y_RARE)
