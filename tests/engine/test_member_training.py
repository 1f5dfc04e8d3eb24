"""Members side by side each train as alone: their own stopping, frozen once stopped."""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.datasets import make_classification

from imbnet import CostSensitiveMLPClassifier
from imbnet.engine._member_training import train_members
from imbnet.model_selection._members import FittedMember, prepare

X, y = make_classification(n_samples=400, n_features=5, weights=[0.85], random_state=0)


def test_members_stop_on_their_own_and_match_alone_fits():
    networks = [
        CostSensitiveMLPClassifier((8,), max_iter=60, tol=0.05, n_iter_no_change=2, random_state=0),
        CostSensitiveMLPClassifier((8,), max_iter=40, class_weight="balanced", random_state=1),
        CostSensitiveMLPClassifier((8,), max_iter=20, alpha=0.1, learning_rate_init=0.01),
    ]
    rows = [slice(0, 400), slice(0, 250), slice(100, 400)]
    ready = [prepare(clone(n), X[r], y[r], {}) for n, r in zip(networks, rows)]
    results = train_members([p.member for p in ready], activation="relu", n_outputs=1)
    assert results[0].converged and results[0].n_iter < 40
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Stochastic Optimizer")
        for network, r, p, result in zip(networks, rows, ready, results):
            alone = clone(network).set_params(random_state=p.network.random_state)
            if network.random_state is None:
                continue  # a fresh seed each fit
            alone.fit(X[r], y[r])
            assert alone.n_iter_ == result.n_iter
            member = FittedMember(p.network)._set_fit(p, result)
            np.testing.assert_allclose(member.predict_proba(X), alone.predict_proba(X), atol=1e-4)
