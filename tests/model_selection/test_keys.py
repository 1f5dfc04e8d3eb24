"""The keys a search finds its fits and fitted steps by: equal for equal settings only."""

import numpy as np
import pytest
from sklearn import model_selection as sk
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from imbnet import CostSensitiveMLPClassifier
from imbnet.model_selection import GridSearchCV
from imbnet.model_selection._keys import candidate_key, value_key

# More items than scikit-learn's repr shows; "z", the last, is a factor.
MANY = {**{f"w{k:02d}": 1.0 for k in range(40)}, "z": 1.0}


def test_equal_settings_equal_keys_other_settings_other_keys():
    net = CostSensitiveMLPClassifier(hidden_layer_sizes=(8, 4), class_weight={0: 1, 1: 5})
    pipe = Pipeline([("scale", StandardScaler()), ("net", net)])
    assert candidate_key({"p": pipe, "a": 1}) == candidate_key({"a": 1, "p": clone(pipe)})
    assert isinstance(hash(candidate_key({"p": pipe, "x": np.arange(3)})), int)  # a dict key
    other = clone(pipe).set_params(net__class_weight={0: 1, 1: 6})
    assert candidate_key({"p": pipe}) != candidate_key({"p": other})
    assert value_key(np.arange(3)) != value_key(np.arange(3.0))
    assert value_key(np.arange(3)) == value_key(np.arange(3))
    assert value_key([1, 2]) != value_key((1, 2))


def test_settings_past_what_the_repr_shows_are_told_apart():
    """scikit-learn's repr of an estimator shows 30 items of a dict, then '...': two
    class weightings differing in class 35 print alike, and must not share a fit."""
    a = CostSensitiveMLPClassifier(class_weight={k: 1.0 for k in range(40)})
    b = CostSensitiveMLPClassifier(class_weight={**{k: 1.0 for k in range(40)}, 35: 9.0})
    assert repr(a) == repr(b)
    assert value_key(a) != value_key(b)


def _features_or_noise(X, **settings):
    """X itself, or (``z`` 0) noise of X's shape that tells nothing of y."""
    if settings["z"]:
        return X
    return np.random.default_rng(0).normal(size=X.shape)


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")
def test_a_step_differing_past_the_repr_is_fitted_on_its_own():
    """Two candidate first steps that print alike (the second replaces the features
    by noise): the search must not reuse the first one's output for the second."""
    X, y = make_classification(n_samples=300, n_features=6, weights=[0.85], random_state=0)
    keep = FunctionTransformer(_features_or_noise, kw_args=MANY)
    noise = FunctionTransformer(_features_or_noise, kw_args={**MANY, "z": 0.0})
    assert repr(keep) == repr(noise)
    pipe = Pipeline(
        [
            ("step", keep),
            (
                "net",
                CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
            ),
        ]
    )
    grid = {"step": [keep, noise]}
    cv = StratifiedKFold(3)
    ours = GridSearchCV(pipe, grid, cv=cv, scoring="roc_auc").fit(X, y)
    theirs = sk.GridSearchCV(pipe, grid, cv=cv, scoring="roc_auc").fit(X, y)
    ours_mean = ours.cv_results_["mean_test_score"]
    np.testing.assert_allclose(ours_mean, theirs.cv_results_["mean_test_score"], atol=0.02)
    assert ours_mean[0] > 0.8 and ours_mean[1] < 0.7
