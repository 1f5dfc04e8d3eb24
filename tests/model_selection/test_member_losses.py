"""Side-by-side members with the other losses, deferred re-weighting and prior
correction predict as plain fits of the same estimator."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold

from imbnet import CostSensitiveMLPClassifier
from imbnet.model_selection import side_by_side_reason
from imbnet.model_selection._members import FittedMember
from imbnet.model_selection._tasks import FitStore, candidate_key, fit_tasks

X, y = make_classification(n_samples=400, n_features=5, weights=[0.9], random_state=3)
SPLITS = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))

SETTINGS = {
    "focal": dict(loss="focal"),
    "focal_gamma_1": dict(loss="focal", focal_gamma=1.0, class_weight="balanced"),
    "logit_adjusted": dict(loss="logit_adjusted"),
    "logit_adjusted_tau_half": dict(loss="logit_adjusted", logit_tau=0.5),
    "balanced_softmax": dict(loss="balanced_softmax"),
    "ldam": dict(loss="ldam", ldam_margin=0.8),
    "ldam_drw": dict(
        loss="ldam", class_weight="effective", class_weight_beta=0.99, deferred_reweighting=0.6
    ),
    "drw_log_loss": dict(class_weight="balanced", deferred_reweighting=4),
    "prior_correction": dict(class_weight="balanced", prior_correction=True),
    "logit_adjusted_prior_correction": dict(loss="logit_adjusted", prior_correction=True),
}


def network(**settings):
    return CostSensitiveMLPClassifier(
        hidden_layer_sizes=(8,), max_iter=12, random_state=0, n_iter_no_change=3, **settings
    )


@pytest.mark.parametrize("name", list(SETTINGS))
def test_member_predicts_as_a_plain_fit(name):
    estimator = network(**SETTINGS[name])
    assert side_by_side_reason(estimator) is None
    store = FitStore()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Stochastic Optimizer")
        fit_tasks(store, estimator, [{}], SPLITS, X, y, {}, None)
        for train, test in SPLITS:
            member = store.take(candidate_key({}), X[train], y[train])
            assert isinstance(member, FittedMember)  # trained side by side
            alone = network(**SETTINGS[name]).fit(X[train], y[train])
            assert member.n_iter_ == alone.n_iter_
            np.testing.assert_allclose(
                member.predict_proba(X[test]), alone.predict_proba(X[test]), atol=2e-4
            )
            if hasattr(alone, "training_prior_"):
                np.testing.assert_allclose(member.training_prior_, alone.training_prior_, rtol=1e-6)


def test_multiclass_focal_is_fitted_on_its_own():
    X3, y3 = make_classification(
        n_samples=300, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    store = FitStore()
    splits = list(StratifiedKFold(3).split(X3, y3))[:1]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Stochastic Optimizer")
        fit_tasks(store, network(loss="focal"), [{}], splits, X3, y3, {}, None)
    train = splits[0][0]
    fitted = store.take(candidate_key({}), X3[train], y3[train])
    assert not isinstance(fitted, FittedMember)  # the program's losses are binary
    assert side_by_side_reason(network(loss="focal")) is None  # binary ones do
