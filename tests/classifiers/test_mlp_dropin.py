"""CostSensitiveMLPClassifier as a drop-in for scikit-learn's MLPClassifier.

Built from ``MLPClassifier().get_params()``, it takes every parameter, has the
same fitted attributes and warnings, the same learning-rate schedules,
``warm_start`` and ``partial_fit``, and trains on sparse X (OneHotEncoder's
output) exactly as on the same data dense.
"""

import pickle
import warnings
from numbers import Integral, Real

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from imbnet import CostSensitiveMLPClassifier

X, Y = make_classification(
    n_samples=120, n_features=5, n_informative=3, weights=[0.8], random_state=0
)
X3, Y3 = make_classification(
    n_samples=120, n_features=5, n_informative=3, n_classes=3, random_state=0
)
SMALL = dict(hidden_layer_sizes=(8, 4), max_iter=3, random_state=0)


def sklearn_params(**overrides):
    return {**MLPClassifier().get_params(), **SMALL, **overrides}


def kind(value):
    """What a user's code may rely on: None, number, string, list of arrays, array."""
    if value is None:
        return "none"
    if isinstance(value, str):
        return "str"
    if isinstance(value, Integral):
        return "int"
    if isinstance(value, Real):
        return "float"
    if isinstance(value, list):
        return ("list", tuple(kind(v) if not isinstance(v, np.ndarray) else v.shape for v in value))
    if isinstance(value, np.ndarray):
        return ("array", value.shape)
    return type(value).__name__


ATTRIBUTES = (
    "coefs_",
    "intercepts_",
    "loss_",
    "best_loss_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
    "t_",
    "n_iter_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "n_features_in_",
    "classes_",
)
EQUAL = ("t_", "n_iter_", "n_layers_", "n_outputs_", "out_activation_", "n_features_in_")


def fit_recording(estimator, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    return [
        (w.category, str(w.message))
        for w in caught
        if issubclass(w.category, (ConvergenceWarning, UserWarning))
        and not issubclass(w.category, DeprecationWarning)
    ]


@pytest.mark.parametrize(
    "data, overrides",
    [
        ((X, Y), {}),
        ((pd.DataFrame(X3, columns=list("abcde")), Y3), dict(early_stopping=True, batch_size=500)),
    ],
    ids=["binary", "multiclass-early-stopping-big-batch"],
)
def test_built_from_mlpclassifier_params_it_has_sklearns_attributes_and_warnings(data, overrides):
    ours = CostSensitiveMLPClassifier(**sklearn_params(**overrides))
    theirs = MLPClassifier(**sklearn_params(**overrides))
    ours_warned, theirs_warned = fit_recording(ours, *data), fit_recording(theirs, *data)
    assert ours_warned == theirs_warned and ours_warned  # max_iter=3: ConvergenceWarning
    for name in ATTRIBUTES:
        assert kind(getattr(ours, name)) == kind(getattr(theirs, name)), name
    for name in EQUAL:
        assert getattr(ours, name) == getattr(theirs, name), name
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    if isinstance(data[0], pd.DataFrame):
        np.testing.assert_array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    assert ours.loss_ == ours.loss_curve_[-1]
    np.testing.assert_allclose(ours.predict_log_proba(data[0]), np.log(ours.predict_proba(data[0])))


def test_coefs_are_the_networks_weights():
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        clf = CostSensitiveMLPClassifier(**sklearn_params()).fit(X, Y)
    hidden = X
    for coef, intercept in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        hidden = np.maximum(hidden @ coef + intercept, 0.0)
    logit = hidden @ clf.coefs_[-1] + clf.intercepts_[-1]
    np.testing.assert_allclose(
        clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-logit[:, 0])), atol=1e-5
    )


def test_weights_and_schedules_are_read_without_numpys_deprecation_warning():
    # keras.ops.convert_to_numpy of a TensorFlow-backed variable calls np.array on it,
    # which NumPy 2 answers with a DeprecationWarning: a user's test suite, where such
    # warnings are shown or are errors, saw one on coefs_ and every "sgd" schedule.
    with pytest.warns(ConvergenceWarning), warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        clf = CostSensitiveMLPClassifier(**sgd(learning_rate="invscaling")).fit(X, Y)
        coefs, intercepts = clf.coefs_, clf.intercepts_
    assert [c.shape for c in coefs] == [(5, 8), (8, 4), (4, 1)]
    assert [b.shape for b in intercepts] == [(8,), (4,), (1,)]
    assert all(isinstance(c, np.ndarray) for c in coefs + intercepts)


def test_lbfgs_is_refused_with_what_to_use_and_has_no_partial_fit():
    clf = CostSensitiveMLPClassifier(**sklearn_params(solver="lbfgs"))
    assert not hasattr(clf, "partial_fit") and not hasattr(
        MLPClassifier(solver="lbfgs"), "partial_fit"
    )
    with pytest.raises(ValueError, match="lbfgs.*Use 'adam'"):
        clf.fit(X, Y)


def rate_of(clf):
    return float(keras.ops.convert_to_numpy(clf.model_.optimizer.learning_rate))


def steps_of(clf):
    return int(keras.ops.convert_to_numpy(clf.model_.optimizer.iterations))


def sgd(**overrides):
    # No momentum: each epoch's step is proportional to its learning rate.
    return sklearn_params(
        solver="sgd", learning_rate_init=0.05, momentum=0.0, shuffle=False, **overrides
    )


def test_invscaling_lowers_the_rate_after_every_epoch_as_sklearn():
    moved = {}
    for schedule in ("constant", "invscaling"):
        first = CostSensitiveMLPClassifier(**sgd(learning_rate=schedule, max_iter=1))
        later = CostSensitiveMLPClassifier(**sgd(learning_rate=schedule, max_iter=4))
        with pytest.warns(ConvergenceWarning):
            first.fit(X, Y), later.fit(X, Y)
        moved[schedule] = sum(np.abs(a - b).sum() for a, b in zip(first.coefs_, later.coefs_))
        rate = rate_of(later)
        expected = 0.05 / (later.t_ + 1) ** 0.5 if schedule == "invscaling" else 0.05
        assert rate == pytest.approx(expected, rel=1e-6)
    # Epochs 2-4 run at 0.05 / sqrt(121) and less: the weights move far less.
    assert moved["invscaling"] < 0.3 * moved["constant"]


def test_adaptive_divides_the_rate_by_5_where_sklearn_does_and_trains_on():
    # tol so large that no epoch improves: the rule fires every n_iter_no_change + 1 epochs.
    params = sgd(learning_rate="adaptive", tol=1e3, n_iter_no_change=1, max_iter=6)
    ours = CostSensitiveMLPClassifier(**params)
    theirs = MLPClassifier(**params)
    with pytest.warns(ConvergenceWarning):
        ours.fit(X, Y)
    with pytest.warns(ConvergenceWarning):
        theirs.fit(X, Y)
    assert ours.n_iter_ == theirs.n_iter_ == 6
    assert rate_of(ours) == pytest.approx(theirs._optimizer.learning_rate, rel=1e-6)
    assert theirs._optimizer.learning_rate == pytest.approx(0.05 / 25)
    constant = CostSensitiveMLPClassifier(**{**params, "learning_rate": "constant"}).fit(X, Y)
    assert constant.n_iter_ == 3  # the same rule stops a constant rate


def test_warm_start_continues_from_the_previous_weights():
    clf = CostSensitiveMLPClassifier(**sgd(warm_start=True, max_iter=2))
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, Y)
    before = clf.coefs_
    # A rate so small that the second fit leaves the weights where it starts.
    clf.set_params(learning_rate_init=1e-9, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, Y)
    for old, new in zip(before, clf.coefs_):
        np.testing.assert_allclose(new, old, atol=1e-6)
    assert len(clf.loss_curve_) == 3 and clf.n_iter_ == 1 and clf.t_ == 3 * len(Y)
    clf.set_params(warm_start=False)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, Y)
    assert not np.allclose(clf.coefs_[0], before[0], atol=1e-3)  # a fresh start
    clf.set_params(warm_start=True)
    with pytest.raises(
        ValueError, match="warm_start can only be used where `y` has the same classes"
    ):
        clf.fit(X3, Y3)


def test_partial_fit_trains_one_epoch_per_call_on_the_given_classes():
    clf = CostSensitiveMLPClassifier(**sklearn_params(batch_size=40))
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X3, Y3)
    first = Y3 != 2  # the first call sees two of the three classes
    clf.partial_fit(X3[first], Y3[first], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X3).shape == (120, 3) and clf.n_outputs_ == 3
    steps = steps_of(clf)
    assert steps == -(-first.sum() // 40)  # one epoch of batches
    clf.partial_fit(X3, Y3)
    assert steps_of(clf) == steps + 3  # optimizer state goes on
    assert len(clf.loss_curve_) == 2 and clf.n_iter_ == 1 and clf.t_ == first.sum() + 120
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X3, np.where(Y3 == 2, 7, Y3))
    assert len(clf.loss_curve_) == 2  # the refused call left the fit as it was


def test_partial_fit_continues_the_optimizer_state_in_memory_and_after_pickling():
    """The fitted model's Adam moments are kept between partial_fit calls, and
    go with the model when it is pickled (then it continues identically)."""

    def first_call():
        return CostSensitiveMLPClassifier(**sklearn_params(batch_size=40)).partial_fit(
            X, Y, classes=[0, 1]
        )

    clf = first_call()
    restored = pickle.loads(pickle.dumps(first_call()))
    moments = restored.model_.optimizer.variables[2:]
    assert moments and all(np.any(keras.ops.convert_to_numpy(m) != 0) for m in moments)
    clf.partial_fit(X, Y)  # in memory, never pickled
    restored.partial_fit(X, Y)
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    fresh = CostSensitiveMLPClassifier(**sklearn_params(batch_size=40)).partial_fit(
        X, Y, classes=[0, 1]
    )
    fresh.model_.compile(
        optimizer=keras.optimizers.Adam(fresh.learning_rate_init), loss=fresh.model_.loss
    )
    fresh.partial_fit(X, Y)  # the same second call from zero moments: another model
    assert not np.allclose(fresh.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_partial_fit_refuses_what_needs_the_whole_training_set():
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        CostSensitiveMLPClassifier(early_stopping=True).partial_fit(X, Y, classes=[0, 1])
    with pytest.raises(ValueError, match="class_weight='balanced'.*as a dict"):
        CostSensitiveMLPClassifier(class_weight="balanced").partial_fit(X, Y, classes=[0, 1])


@pytest.fixture(scope="module")
def categorical():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"city": rng.integers(0, 30, 160).astype(str), "x": rng.normal(size=160)})
    y = (frame["city"].isin(["1", "2", "3", "4"]) | (frame["x"] > 1.2)).astype(int).to_numpy()
    return frame, y


def one_hot_pipeline(sparse_threshold):
    encode = ColumnTransformer(
        [("city", OneHotEncoder(handle_unknown="ignore"), ["city"])],
        remainder="passthrough",
        sparse_threshold=sparse_threshold,
    )
    clf = CostSensitiveMLPClassifier(
        hidden_layer_sizes=(8,), max_iter=4, batch_size=32, early_stopping=True, random_state=0
    )
    return make_pipeline(encode, clf)


def test_sparse_one_hot_trains_in_dense_batches_and_predicts_as_dense(categorical, monkeypatch):
    frame, y = categorical
    sparse, dense = one_hot_pipeline(0.3), one_hot_pipeline(0.0)
    assert scipy.sparse.issparse(sparse[0].fit_transform(frame))
    densified = []
    real_toarray = scipy.sparse.csr_matrix.toarray

    def recording_toarray(matrix, *args, **kwargs):
        densified.append(matrix.shape[0])
        return real_toarray(matrix, *args, **kwargs)

    monkeypatch.setattr(scipy.sparse.csr_matrix, "toarray", recording_toarray)
    with pytest.warns(ConvergenceWarning):
        sparse.fit(frame, y)
    monkeypatch.undo()
    # The compiled program reads each row's non-zeros; never the whole matrix dense.
    assert max(densified, default=0) <= 32
    with pytest.warns(ConvergenceWarning):
        dense.fit(frame, y)
    np.testing.assert_allclose(sparse[-1].loss_curve_, dense[-1].loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(sparse.predict_proba(frame), dense.predict_proba(frame), atol=1e-5)
    np.testing.assert_array_equal(sparse.predict(frame), dense.predict(frame))
