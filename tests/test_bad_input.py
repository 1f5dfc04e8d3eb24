"""Bad input to both estimators: one matrix of cases.

Every case must give a ValueError or TypeError whose message names the problem
and the fix, raised before any training (a probe counts the calls of the
training loop), and the estimator, fitted before, must predict exactly as it
did.
"""

import re
from collections.abc import Callable
from typing import NamedTuple

import keras
import numpy as np
import pytest
import scipy.sparse
from _networks import build
from imblearn.over_sampling import SMOTE
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError

import imbnet.classifiers._base
from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier

X, Y = make_classification(
    n_samples=120, n_features=4, n_informative=3, n_redundant=0, weights=[0.8], random_state=0
)
Y3 = np.arange(120) % 3
ONE_RARE = np.where(np.arange(120) == 0, 1, 0)  # a class of one sample
THREE_RARE = np.where(np.arange(120) < 3, 1, 0)  # a class of three samples


def three_softmax_units(meta):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])


def one_sigmoid_unit(meta):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])


def not_a_model(meta):
    return "a model"


ESTIMATORS = {
    "mlp": lambda: CostSensitiveMLPClassifier(
        hidden_layer_sizes=(4,), max_iter=2, batch_size=32, random_state=0
    ),
    "resampled": lambda: ResampledKerasClassifier(build, epochs=2, batch_size=32, random_state=0),
}
BOTH = tuple(ESTIMATORS)


def with_X(values):
    return lambda: (values, Y, None)


def with_y(values):
    return lambda: (X, values, None)


def with_weights(values):
    return lambda: (X, Y, values)


def corner(value):
    """X with one entry replaced by ``value``."""
    bad = X.copy()
    bad[7, 2] = value
    return bad


class Case(NamedTuple):
    estimators: tuple
    error: type
    problem: str  # regular expressions the message must match
    fix: str
    params: dict = {}
    data: Callable = lambda: (X, Y, None)


FIT_CASES = {
    # ------------------------------------------------------------ data
    "NaN in X": Case(BOTH, ValueError, "X contains NaN", "imputer", data=with_X(corner(np.nan))),
    "+inf in X": Case(BOTH, ValueError, "X contains infinity", "clip", data=with_X(corner(np.inf))),
    "-inf in X": Case(
        BOTH, ValueError, "X contains infinity", "clip", data=with_X(corner(-np.inf))
    ),
    "NaN in y": Case(
        BOTH,
        ValueError,
        "y contains NaN",
        "Drop the samples",
        data=with_y(np.where(np.arange(120) == 3, np.nan, Y)),
    ),
    "one class": Case(
        BOTH, ValueError, "only one class", "every class", data=with_y(np.zeros(120))
    ),
    "continuous y": Case(
        BOTH,
        ValueError,
        "Unknown label type: continuous",
        "discrete classes",
        data=with_y(np.linspace(0, 1, 120)),
    ),
    "empty X": Case(
        BOTH, ValueError, r"0 sample\(s\)", "non-empty X", data=lambda: (X[:0], Y[:0], None)
    ),
    "X and y lengths differ": Case(
        BOTH,
        ValueError,
        "inconsistent numbers of samples",
        "one row per sample",
        data=lambda: (X, Y[:-1], None),
    ),
    # CostSensitiveMLPClassifier takes sparse X (MLPClassifier does): tests/test_mlp_dropin.py.
    "sparse X": Case(
        ("resampled",), TypeError, "Sparse data", "toarray", data=with_X(scipy.sparse.csr_matrix(X))
    ),
    "string features": Case(
        BOTH,
        ValueError,
        "could not convert string",
        "OneHotEncoder",
        data=with_X(np.full((120, 4), "a")),
    ),
    "object features": Case(
        BOTH,
        ValueError,
        "could not convert string",
        "OneHotEncoder",
        data=with_X(np.column_stack([X[:, :3], ["red"] * 120]).astype(object)),
    ),
    "sample_weight length": Case(
        BOTH,
        ValueError,
        r"sample_weight.shape == \(5,\)",
        "one weight per sample",
        data=with_weights(np.ones(5)),
    ),
    "negative sample_weight": Case(
        BOTH,
        ValueError,
        "Negative values",
        "weight 0",
        data=with_weights(np.where(Y == 1, -1.0, 1.0)),
    ),
    "NaN sample_weight": Case(
        BOTH,
        ValueError,
        "sample_weight contains NaN",
        "finite weight",
        data=with_weights(np.where(Y == 1, np.nan, 1.0)),
    ),
    "infinite sample_weight": Case(
        BOTH,
        ValueError,
        "sample_weight contains infinity",
        "finite weight",
        data=with_weights(np.where(Y == 1, np.inf, 1.0)),
    ),
    "all-zero sample_weight": Case(
        BOTH,
        ValueError,
        "at least one non-zero",
        "positive weight",
        data=with_weights(np.zeros(120)),
    ),
    # ---------------------------------------------------- class weights
    "class_weight unknown label": Case(
        BOTH,
        ValueError,
        r"labels \[3\] that are not classes",
        "key the dict",
        params=dict(class_weight={3: 2.0}),
    ),
    "class_weight zero": Case(
        BOTH,
        ValueError,
        "positive and finite; got 0",
        "weight > 0",
        params=dict(class_weight={1: 0}),
    ),
    "class_weight negative": Case(
        BOTH,
        ValueError,
        "positive and finite; got -2",
        "weight > 0",
        params=dict(class_weight={1: -2.0}),
    ),
    "class_weight NaN": Case(
        BOTH,
        ValueError,
        "positive and finite; got nan",
        "weight > 0",
        params=dict(class_weight={1: float("nan")}),
    ),
    "class_weight not a number": Case(
        BOTH,
        ValueError,
        "must be a number; got 'high'",
        "positive number",
        params=dict(class_weight={1: "high"}),
    ),
    "unknown class_weight string": Case(
        BOTH,
        ValueError,
        "'class_weight' parameter",
        "must be None, a str among",
        params=dict(class_weight="balance"),
    ),
    "class_weight_mu zero": Case(
        BOTH,
        ValueError,
        "'class_weight_mu' parameter",
        r"range \(0.0, inf\)",
        params=dict(class_weight="log", class_weight_mu=0),
    ),
    "class_weight_mu negative": Case(
        BOTH,
        ValueError,
        "'class_weight_mu' parameter",
        r"range \(0.0, inf\)",
        params=dict(class_weight="log", class_weight_mu=-1.0),
    ),
    # ------------------------------------------------------ parameters
    "batch_size zero": Case(
        BOTH, ValueError, "'batch_size' parameter", r"range \[1, inf\)", params=dict(batch_size=0)
    ),
    "batch_size negative": Case(
        BOTH, ValueError, "'batch_size' parameter", r"range \[1, inf\)", params=dict(batch_size=-8)
    ),
    "max_iter zero": Case(
        ("mlp",), ValueError, "'max_iter' parameter", r"range \[1, inf\)", params=dict(max_iter=0)
    ),
    "epochs zero": Case(
        ("resampled",), ValueError, "'epochs' parameter", r"range \[1, inf\)", params=dict(epochs=0)
    ),
    "unknown loss (MLP)": Case(
        ("mlp",), ValueError, "'loss' parameter", "a str among", params=dict(loss="hinge")
    ),
    "unknown loss (Keras)": Case(
        ("resampled",),
        ValueError,
        "loss identifier: hinge_typo",
        "Keras loss name",
        params=dict(loss="hinge_typo"),
    ),
    "hidden_layer_sizes zero": Case(
        ("mlp",),
        ValueError,
        "hidden_layer_sizes",
        r"positive integers",
        params=dict(hidden_layer_sizes=(0,)),
    ),
    "hidden_layer_sizes negative": Case(
        ("mlp",),
        ValueError,
        "hidden_layer_sizes",
        "positive integers",
        params=dict(hidden_layer_sizes=(8, -3)),
    ),
    "hidden_layer_sizes float": Case(
        ("mlp",),
        ValueError,
        "hidden_layer_sizes",
        "positive integers",
        params=dict(hidden_layer_sizes=(4.5,)),
    ),
    "unknown solver": Case(
        ("mlp",),
        ValueError,
        "solver='newton' is not a Keras optimizer",
        "use 'adam'",
        params=dict(solver="newton"),
    ),
    "solver lbfgs": Case(
        ("mlp",), ValueError, "no L-BFGS", "Use 'adam'", params=dict(solver="lbfgs")
    ),
    "unknown activation": Case(
        ("mlp",),
        ValueError,
        "activation='wiggle' is not known",
        "use 'identity'",
        params=dict(activation="wiggle"),
    ),
    "unknown initializer": Case(
        ("mlp",),
        ValueError,
        "kernel_initializer='zeroish'",
        "e.g. 'glorot",
        params=dict(kernel_initializer="zeroish"),
    ),
    "unknown optimizer": Case(
        ("resampled",),
        ValueError,
        "optimizer identifier: newton",
        "Keras optimizer name",
        params=dict(optimizer="newton"),
    ),
    # ------------------------------------------- models, samplers, routing
    "output too wide for 2 classes": Case(
        ("resampled",),
        ValueError,
        "3 output units, but y has 2 classes",
        "1 sigmoid unit .* or 2 softmax units",
        params=dict(model=three_softmax_units),
    ),
    "one output unit for 3 classes": Case(
        ("resampled",),
        ValueError,
        "1 output unit, but y has 3 classes",
        "use 3 softmax units",
        params=dict(model=one_sigmoid_unit),
        data=with_y(Y3),
    ),
    "builder returns no model": Case(
        ("resampled",),
        TypeError,
        "returned str, not a keras.Model",
        "keras.Model",
        params=dict(model=not_a_model),
    ),
    "no model": Case(
        ("resampled",), ValueError, "model is required", "model=build", params=dict(model=None)
    ),
    "sampler without fit_resample": Case(
        ("resampled",),
        ValueError,
        "'sampler' parameter",
        "implementing 'fit_resample'",
        params=dict(sampler=object()),
    ),
    "sampler and batch_ratio": Case(
        ("resampled",),
        ValueError,
        "sampler and batch_ratio both set",
        "choose one",
        params=dict(sampler=SMOTE(), batch_ratio=2.0),
    ),
    "SMOTE, a class of one sample": Case(
        ("resampled",),
        ValueError,
        "smallest class here has 1",
        "use RandomOverSampler",
        params=dict(sampler=SMOTE()),
        data=with_y(ONE_RARE),
    ),
    "SMOTE k_neighbors=5, a class of three": Case(
        ("resampled",),
        ValueError,
        r"SMOTE\(k_neighbors=5\) needs more samples",
        "lower sampler__k_neighbors to at most 2, or use RandomOverSampler",
        params=dict(sampler=SMOTE(k_neighbors=5)),
        data=with_y(THREE_RARE),
    ),
    "misspelt builder parameter": Case(
        ("resampled",),
        TypeError,
        "'model__unts' is not a parameter of the model builder",
        "did you mean 'model__units'\\?",
        params=dict(model__unts=3),
    ),
    "model__ parameter with a model instance": Case(
        ("resampled",),
        TypeError,
        "routed to a model builder, but model is a keras.Model",
        "Pass a function that builds the model",
        params=dict(model=build({"n_features_in_": 4, "n_classes_": 2}), model__units=3),
    ),
    "misspelt fit setting": Case(
        ("resampled",),
        TypeError,
        "'fit__epoch' is not a routed fit setting",
        "did you mean 'fit__epochs'\\?",
        params=dict(fit__epoch=3),
    ),
    "misspelt optimizer parameter": Case(
        ("resampled",),
        ValueError,
        "not recognized",
        "did you mean 'optimizer__learning_rate'\\?",
        params=dict(optimizer__learnin_rate=0.1),
    ),
    "loss__ parameter for imbnet's loss": Case(
        ("resampled",),
        TypeError,
        "'loss__from_logits' is routed to the loss",
        "pass it: loss='binary_crossentropy'",
        params=dict(loss__from_logits=True),
    ),
}

PREDICT_CASES = {
    "wrong feature count": (
        X[:, :3],
        ValueError,
        "X has 3 features, but .* expecting 4",
        "same columns",
    ),
    "NaN at predict": (corner(np.nan), ValueError, "X contains NaN", "imputer"),
    "inf at predict": (corner(np.inf), ValueError, "X contains infinity", "clip"),
    "strings at predict": (
        np.full((5, 4), "a"),
        ValueError,
        "could not convert string",
        "OneHotEncoder",
    ),
}


# Unknown parameters given to the constructor (set_params refuses them itself).
CONSTRUCTOR_CASES = {
    "builder parameter without prefix": (
        dict(units=3),
        "unexpected parameter 'units'",
        "did you mean 'model__units'\\?",
    ),
    "misspelt estimator parameter": (
        dict(epoch=3),
        "unexpected parameter 'epoch'",
        "did you mean 'epochs'\\?",
    ),
}


def fit_cases():
    for name, case in FIT_CASES.items():
        for kind in case.estimators:
            yield pytest.param(kind, case, id=f"{kind}-{name}")


@pytest.fixture
def training_runs(monkeypatch):
    """Calls of the training loop (imbnet.engine._loop.train as _base uses it)."""
    runs = []
    real_train = imbnet.classifiers._base.train

    def counting_train(*args, **kwargs):
        runs.append(args[0])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(imbnet.classifiers._base, "train", counting_train)
    return runs


def assert_clear(excinfo, case):
    message = str(excinfo.value)
    assert re.search(case.problem, message), message
    assert re.search(case.fix, message, flags=re.IGNORECASE), message


def test_the_matrix_has_enough_distinct_cases():
    n_cases = (
        len(FIT_CASES) + len(CONSTRUCTOR_CASES) + len(PREDICT_CASES) + 3
    )  # + renamed feature, predict before fit, sparse at predict
    assert n_cases >= 30
    assert {kind for case in FIT_CASES.values() for kind in case.estimators} == set(BOTH)


@pytest.mark.parametrize("kind, case", list(fit_cases()))
def test_bad_fit_is_refused_before_training_and_the_fitted_model_survives(
    kind, case, training_runs
):
    clf = ESTIMATORS[kind]().fit(X, Y)
    assert len(training_runs) == 1  # the probe sees training
    proba, state = clf.predict_proba(X), dict(vars(clf))
    clf.set_params(**case.params)
    X_bad, y_bad, sample_weight = case.data()
    with pytest.raises(case.error) as excinfo:
        clf.fit(X_bad, y_bad, sample_weight=sample_weight)
    assert_clear(excinfo, case)
    assert len(training_runs) == 1  # refused before training started
    assert set(vars(clf)) == set(state)
    for name, value in state.items():
        if name.endswith("_") and not name.startswith("_"):
            assert vars(clf)[name] is value, name
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


@pytest.mark.parametrize("case", list(CONSTRUCTOR_CASES))
def test_unknown_constructor_parameter_is_refused_before_training(case, training_runs):
    params, problem, fix = CONSTRUCTOR_CASES[case]
    with pytest.raises(TypeError) as excinfo:
        ResampledKerasClassifier(build, epochs=1, **params).fit(X, Y)
    assert_clear(excinfo, Case((), TypeError, problem, fix))
    assert training_runs == []


@pytest.fixture(scope="module", params=BOTH)
def fitted(request):
    return ESTIMATORS[request.param]().fit(X, Y)


@pytest.mark.parametrize("case", list(PREDICT_CASES))
def test_bad_predict_input_is_a_clear_error(fitted, case):
    X_bad, error, problem, fix = PREDICT_CASES[case]
    proba = fitted.predict_proba(X)
    for method in (fitted.predict, fitted.predict_proba):
        with pytest.raises(error) as excinfo:
            method(X_bad)
        assert_clear(excinfo, Case((), error, problem, fix))
    np.testing.assert_array_equal(fitted.predict_proba(X), proba)


def test_sparse_X_at_predict_is_a_clear_error_for_the_resampled_classifier():
    clf = ESTIMATORS["resampled"]().fit(X, Y)
    with pytest.raises(TypeError) as excinfo:
        clf.predict_proba(scipy.sparse.csr_matrix(X))
    assert_clear(excinfo, Case((), TypeError, "Sparse data", "toarray"))


@pytest.mark.parametrize("kind", BOTH)
def test_renamed_feature_at_predict_is_a_clear_error(kind):
    pd = pytest.importorskip("pandas")
    clf = ESTIMATORS[kind]().fit(pd.DataFrame(X, columns=["a", "b", "c", "d"]), Y)
    proba = clf.predict_proba(X)
    with pytest.raises(ValueError, match="feature names should match") as excinfo:
        clf.predict(pd.DataFrame(X, columns=["a", "b", "c", "z"]))
    assert "same columns" in str(excinfo.value)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


@pytest.mark.parametrize("kind", BOTH)
def test_predict_before_fit_is_not_fitted_error(kind):
    clf = ESTIMATORS[kind]()
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(NotFittedError, match="not fitted yet. Call 'fit'"):
            method(X)


# Silent paths of issue 28: each fails on the code before the fix.


def _too_wide(meta):
    return keras.Sequential([keras.Input((7,)), keras.layers.Dense(1, activation="sigmoid")])


def test_builder_input_wider_than_X_is_a_clear_error_at_fit():
    clf = ResampledKerasClassifier(_too_wide, epochs=1, random_state=0)
    with pytest.raises(ValueError, match=r"input takes rows of shape \(7,\).*meta"):
        clf.fit(X, Y)


def test_model_instance_with_a_lambda_layer_fits():
    inputs = keras.Input((4,))
    hidden = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    clf = ResampledKerasClassifier(model, epochs=1, optimizer="adam", random_state=0).fit(X, Y)
    assert clf.predict_proba(X).shape == (len(X), 2)


def test_saving_an_unfitted_estimator_is_not_fitted_error(tmp_path):
    import imbnet

    with pytest.raises(NotFittedError, match="call fit before imbnet.save"):
        imbnet.save(CostSensitiveMLPClassifier(), tmp_path / "m.imbnet")


def test_gan_over_sampler_refuses_two_one_hot_columns():
    from imbnet import GANOverSampler

    with pytest.raises(ValueError, match="1-D target.*one class per row"):
        GANOverSampler(epochs=1).fit_resample(X, np.c_[Y, 1 - Y])


def test_sequence_target_is_public():
    import imbnet
    from imbnet.weighting._targets import SequenceTarget

    assert imbnet.SequenceTarget is SequenceTarget and "SequenceTarget" in imbnet.__all__


def test_3d_X_at_predict_for_a_2d_model_is_a_clear_error():
    clf = ResampledKerasClassifier(build, epochs=1, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="X has 3 dimensions"):
        clf.predict(X[:, :, None])


def _dask_inputs(kind):
    dd = pytest.importorskip("dask.dataframe")
    da = pytest.importorskip("dask.array")
    pd = pytest.importorskip("pandas")
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcd")).assign(y=Y), npartitions=2)
    return {
        "frame": (frame[list("abcd")], frame["y"], None),
        "array": (da.from_array(X, chunks=60), da.from_array(Y, chunks=60), None),
        "y only": (X, da.from_array(Y, chunks=60), None),
        "weights only": (X, Y, da.ones(len(Y), chunks=60)),
    }[kind]


@pytest.mark.parametrize(
    "kind, data",
    [
        ("mlp", "frame"),
        ("mlp", "array"),
        ("mlp", "weights only"),
        ("resampled", "y only"),  # a Dask X trains out of core; a Dask y alone cannot
    ],
)
def test_a_dask_collection_to_an_in_memory_fit_is_a_clear_error(kind, data, training_runs):
    """Was silently computed into memory, however large (issue 28)."""
    X_bad, y_bad, weights = _dask_inputs(data)
    clf = ESTIMATORS[kind]().fit(X, Y)
    proba = clf.predict_proba(X)
    with pytest.raises(TypeError) as excinfo:
        clf.fit(X_bad, y_bad, sample_weight=weights)
    assert_clear(excinfo, Case((), TypeError, r"does not take a Dask collection", r"compute\(\)"))
    if data != "y only":
        assert "ResampledKerasClassifier" in str(excinfo.value)  # the out-of-core way
    assert len(training_runs) == 1
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_a_dask_collection_to_partial_fit_is_a_clear_error():
    X_bad, y_bad, _ = _dask_inputs("frame")
    clf = ESTIMATORS["mlp"]().partial_fit(X, Y, classes=[0, 1])
    proba = clf.predict_proba(X)
    with pytest.raises(TypeError, match=r"partial_fit .*Dask collection.*ddf\.partitions"):
        clf.partial_fit(X_bad, y_bad)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert clf.n_iter_ == 1 and clf.t_ == len(X)


def test_a_dask_collection_to_the_ensemble_is_a_clear_error():
    from imbnet import BalancedEnsembleClassifier

    X_bad, y_bad, _ = _dask_inputs("frame")
    clf = BalancedEnsembleClassifier(ESTIMATORS["mlp"](), n_estimators=2, random_state=0)
    with pytest.raises(TypeError, match=r"does not take a Dask collection.*compute\(\)") as info:
        clf.fit(X_bad, y_bad)
    assert str(info.value).startswith("BalancedEnsembleClassifier.fit ")  # not its member's
    assert not hasattr(clf, "estimator_")


def test_per_step_target_under_a_plain_scorer_is_a_nan_with_the_fix_named():
    """scikit-learn's scorers cannot take a class per time step; its "Scoring failed"
    warning now names imbnet.sequence_scorer, which scores the (row, step) entries."""
    from sklearn.model_selection import KFold, cross_val_score

    import imbnet

    rng = np.random.default_rng(0)
    X_seq = rng.normal(size=(80, 5, 3)).astype(np.float32)
    y_steps = (X_seq[..., 0] > 0.5).astype(int)
    clf = ResampledKerasClassifier(build, epochs=2, random_state=0, model__units=4)
    with pytest.warns(UserWarning, match=r"Scoring failed(.|\n)*imbnet\.sequence_scorer"):
        plain = cross_val_score(clf, X_seq, y_steps, cv=KFold(2), scoring="roc_auc")
    assert np.isnan(plain).all()
    fixed = cross_val_score(
        clf, X_seq, y_steps, cv=KFold(2), scoring=imbnet.sequence_scorer("roc_auc")
    )
    assert np.all((fixed > 0) & (fixed <= 1))
