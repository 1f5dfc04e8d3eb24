"""CostSensitiveMLPClassifier inside scikit-learn and imbalanced-learn tooling.

scikeras's KerasClassifier is not recognised as a classifier on scikit-learn
>= 1.6: roc_auc scores come back NaN, average_precision raises, ``cv=5`` is
plain KFold, and TunedThresholdClassifierCV / CalibratedClassifierCV fail.
These tests train real (tiny) Keras networks on a small imbalanced dataset and
show that imbnet's classifier works in all of those places, and also survives
cloning, pickling (loky workers), string labels and multiclass scoring.
"""

import pickle
import warnings

import numpy as np
import pytest
from imblearn.ensemble import BalancedBaggingClassifier
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.base import clone, is_classifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    check_cv,
    cross_val_score,
)
from sklearn.utils.validation import check_is_fitted

from imbnet import CostSensitiveMLPClassifier

# One small imbalanced binary problem (about 15% positives), built once.
X, y = make_classification(
    n_samples=300, n_features=4, n_informative=3, n_redundant=1, weights=[0.85], random_state=0
)
Y_STR = np.array(["neg", "pos"])[y]


def small_clf(**params):
    """A tiny, seeded network (a fit takes about a second, mostly XLA compilation)."""
    defaults = dict(hidden_layer_sizes=(8,), max_iter=15, learning_rate_init=0.03, random_state=0)
    return CostSensitiveMLPClassifier(**{**defaults, **params})


def assert_all_finite(scores):
    scores = np.asarray(scores, dtype=float)
    assert scores.size > 0
    assert np.all(np.isfinite(scores)), scores


# ---------------------------------------------------------------- 1, 2: scoring and CV
def test_cross_val_roc_auc_is_finite_and_better_than_chance():
    scores = cross_val_score(small_clf(), X, y, scoring="roc_auc", cv=5)
    assert scores.shape == (5,)
    assert_all_finite(scores)
    assert np.all(scores > 0.5), scores


def test_cross_val_average_precision_is_finite_and_better_than_chance():
    scores = cross_val_score(small_clf(), X, y, scoring="average_precision", cv=5)
    assert_all_finite(scores)
    # Chance level of average precision is the positive rate.
    assert np.all(scores > y.mean()), scores


def test_integer_cv_is_stratified_for_this_classifier():
    clf = small_clf()
    assert is_classifier(clf)
    cv = check_cv(5, y, classifier=is_classifier(clf))
    assert isinstance(cv, StratifiedKFold)
    # Every test fold holds positives in (nearly) the overall proportion.
    n_pos = [y[test].sum() for _, test in cv.split(X, y)]
    assert max(n_pos) - min(n_pos) <= 1


# ------------------------------------------------------ 3: imblearn pipeline + grid search
def smote_pipeline(**clf_params):
    return Pipeline([("smote", SMOTE(random_state=0)), ("clf", small_clf(**clf_params))])


def test_grid_search_over_smote_and_class_weights():
    grid = {
        "clf__class_weight": [None, "balanced", "log", {0: 1, 1: 100}],
        "clf__class_weight_mu": [0.15, 1.0],
        "smote__sampling_strategy": [0.5, 1.0],
    }
    search = GridSearchCV(smote_pipeline(max_iter=5), grid, scoring="roc_auc", cv=3)
    search.fit(X, y)
    means = search.cv_results_["mean_test_score"]
    assert means.shape == (16,)
    assert_all_finite(means)
    assert set(search.best_params_) == set(grid)
    assert search.best_params_["clf__class_weight"] in grid["clf__class_weight"]
    assert search.predict_proba(X).shape == (len(X), 2)


@pytest.mark.slow
def test_grid_search_with_two_loky_workers():
    grid = {"clf__class_weight": [None, "log"]}
    search = GridSearchCV(smote_pipeline(max_iter=5), grid, scoring="roc_auc", cv=3, n_jobs=2)
    search.fit(X, y)
    assert_all_finite(search.cv_results_["mean_test_score"])
    assert search.best_params_ is not None
    # The refit runs in this process and must give a working estimator.
    assert_all_finite(search.predict_proba(X))


# ---------------------------------------------------------------- 4: meta-estimators
def test_tuned_threshold_classifier():
    tuned = TunedThresholdClassifierCV(small_clf(), scoring="balanced_accuracy", cv=3)
    tuned.fit(X, y)
    assert 0.0 < tuned.best_threshold_ < 1.0
    assert np.isfinite(tuned.best_score_)
    pred = tuned.predict(X)
    assert pred.shape == y.shape
    assert set(np.unique(pred)) <= {0, 1}


def test_calibrated_classifier():
    calibrated = CalibratedClassifierCV(small_clf(), cv=3).fit(X, y)
    assert len(calibrated.calibrated_classifiers_) == 3
    proba = calibrated.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba >= 0) & (proba <= 1))


def test_balanced_bagging_classifier():
    bagging = BalancedBaggingClassifier(estimator=small_clf(), n_estimators=2, random_state=0)
    bagging.fit(X, y)
    assert len(bagging.estimators_) == 2
    proba = bagging.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


# ---------------------------------------------------------------- 5, 6: clone and pickle
NON_DEFAULT_PARAMS = dict(
    hidden_layer_sizes=(7, 3),
    activation="tanh",
    solver="sgd",
    alpha=1e-3,
    batch_size=32,
    learning_rate="adaptive",
    learning_rate_init=0.02,
    power_t=0.25,
    warm_start=True,
    max_fun=100,
    max_iter=7,
    shuffle=False,
    random_state=3,
    tol=1e-3,
    verbose=True,
    momentum=0.8,
    nesterovs_momentum=False,
    early_stopping=True,
    validation_fraction=0.2,
    beta_1=0.8,
    beta_2=0.99,
    epsilon=1e-7,
    n_iter_no_change=4,
    class_weight={"neg": 1.0, "pos": 5.0},
    class_weight_mu=0.3,
    class_weight_beta=0.99,
    deferred_reweighting=2,
    loss="focal",
    focal_gamma=1.5,
    logit_tau=0.5,
    ldam_margin=0.3,
    kernel_initializer="he_uniform",
    dropout=0.1,
    prior_correction=True,
    output_bias_init="prior",
    on_divergence="warn",
)


def test_clone_keeps_every_non_default_parameter():
    defaults = CostSensitiveMLPClassifier().get_params()
    # The table covers every parameter, each with a value other than its default.
    assert set(NON_DEFAULT_PARAMS) == set(defaults)
    assert all(NON_DEFAULT_PARAMS[name] != defaults[name] for name in defaults)

    clf = CostSensitiveMLPClassifier(**NON_DEFAULT_PARAMS)
    cloned = clone(clf)
    assert cloned is not clf
    assert cloned.get_params() == clf.get_params() == NON_DEFAULT_PARAMS
    assert isinstance(cloned.get_params()["hidden_layer_sizes"], tuple)


def test_clone_of_fitted_estimator_is_unfitted_and_refits_identically():
    clf = small_clf(class_weight={"pos": 4.0}).fit(X, Y_STR)
    cloned = clone(clf)
    assert cloned.get_params() == clf.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(cloned)
    for attribute in ("classes_", "model_", "class_weight_", "loss_curve_", "n_iter_"):
        assert not hasattr(cloned, attribute)
    with pytest.raises(NotFittedError):
        cloned.predict(X)
    # The same int random_state gives exactly the same network again.
    cloned.fit(X, Y_STR)
    np.testing.assert_array_equal(cloned.predict_proba(X), clf.predict_proba(X))
    assert cloned.loss_curve_ == clf.loss_curve_


def _is_keras_numpy2_copy_warning(caught):
    # Keras's saving code (used by scikeras's pickling) calls np.array() on a
    # TensorFlow variable whose __array__ lacks NumPy 2's `copy` keyword.
    return caught.category is DeprecationWarning and "copy keyword" in str(caught.message)


def test_pickle_round_trip_of_fitted_estimator():
    clf = small_clf(class_weight="balanced").fit(X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restored = pickle.loads(pickle.dumps(clf))
    # The only warning allowed is the upstream Keras/NumPy 2 deprecation notice.
    assert [str(w.message) for w in caught if not _is_keras_numpy2_copy_warning(w)] == []
    assert restored is not clf and restored.model_ is not clf.model_
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    np.testing.assert_array_equal(restored.classes_, clf.classes_)
    assert restored.class_weight_ == clf.class_weight_
    assert restored.get_params() == clf.get_params()


# ---------------------------------------------------------------- 7, 8: label types
def test_string_labels_in_cross_val_roc_auc():
    scores = cross_val_score(small_clf(), X, Y_STR, scoring="roc_auc", cv=3)
    assert_all_finite(scores)
    assert np.all(scores > 0.5), scores


def test_string_labels_with_dict_class_weight():
    clf = small_clf(class_weight={"pos": 10})
    scores = cross_val_score(clf, X, Y_STR, scoring="roc_auc", cv=3)
    assert_all_finite(scores)
    clf.fit(X, Y_STR)
    assert clf.class_weight_ == {"neg": 1.0, "pos": 10.0}
    np.testing.assert_array_equal(clf.classes_, ["neg", "pos"])
    assert set(np.unique(clf.predict(X))) <= {"neg", "pos"}
    # Weighting the rare class up predicts it more often than unweighted.
    unweighted = small_clf().fit(X, Y_STR)
    assert (clf.predict(X) == "pos").sum() > (unweighted.predict(X) == "pos").sum()


def test_multiclass_cross_val_roc_auc_ovr():
    X3, y3 = make_classification(
        n_samples=300,
        n_features=4,
        n_informative=3,
        n_redundant=1,
        n_classes=3,
        n_clusters_per_class=1,
        weights=[0.7, 0.2, 0.1],
        random_state=0,
    )
    scores = cross_val_score(small_clf(), X3, y3, scoring="roc_auc_ovr", cv=3)
    assert_all_finite(scores)
    assert np.all(scores > 0.5), scores
