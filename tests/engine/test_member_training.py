"""Members side by side each train as alone: their own stopping, frozen once stopped."""

import warnings

import numpy as np
import pytest
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


@pytest.mark.parametrize(
    "activation, n_classes",
    [("tanh", 2), ("logistic", 2), ("identity", 3), ("elu", 2), ("relu", 3)],
)
def test_members_of_other_activations_and_outputs_match_alone_fits(activation, n_classes):
    # Every hidden activation and both outputs (sigmoid, softmax): each member ends
    # where a fit of its own does.
    Xm, ym = make_classification(
        n_samples=240,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        weights=None,
        random_state=3,
    )
    networks = [
        CostSensitiveMLPClassifier(
            (6, 5), activation=activation, max_iter=15, alpha=a, random_state=s
        )
        for a, s in [(1e-4, 0), (0.5, 1)]
    ]
    ready = [prepare(clone(n), Xm, ym, {}) for n in networks]
    results = train_members(
        [p.member for p in ready], activation=ready[0].key[1], n_outputs=ready[0].key[3]
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Stochastic Optimizer")
        for network, p, result in zip(networks, ready, results):
            alone = clone(network).fit(Xm, ym)
            assert alone.n_iter_ == result.n_iter
            member = FittedMember(p.network)._set_fit(p, result)
            np.testing.assert_allclose(member.predict_proba(Xm), alone.predict_proba(Xm), atol=1e-4)


def test_members_sharing_one_row_order_source_match_alone_fits():
    # One seed on the same rows: the members read one drawn source of row orders.
    networks = [
        CostSensitiveMLPClassifier((8,), max_iter=12, class_weight=cw, random_state=4)
        for cw in [None, "balanced", {0: 1, 1: 3}]
    ]
    cache = {}
    ready = [prepare(clone(n), X, y, {}, cache, 0, []) for n in networks]
    assert len({id(p.member.orders) for p in ready}) == 1
    results = train_members([p.member for p in ready], activation="relu", n_outputs=1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Stochastic Optimizer")
        for network, p, result in zip(networks, ready, results):
            alone = clone(network).fit(X, y)
            member = FittedMember(p.network)._set_fit(p, result)
            np.testing.assert_allclose(member.predict_proba(X), alone.predict_proba(X), atol=1e-4)


def test_a_chunk_compiled_ahead_trains_as_without_and_compiles_nothing_more(monkeypatch):
    """A program traced, then compiled by a call of no epochs (a search traces its next
    chunk's program, then compiles it in a thread while the one before trains), runs no epoch
    and changes nothing: the members then train to the same results, on the program
    it compiled."""
    from imbnet.engine import _member_training

    networks = [
        CostSensitiveMLPClassifier((9,), max_iter=12, alpha=a, random_state=s)
        for a, s in [(1e-4, 0), (0.3, 1), (1e-2, 2)]
    ]
    rows = [slice(0, 300), slice(50, 350), slice(100, 400)]

    def members():
        return [prepare(clone(n), X[r], y[r], {}).member for n, r in zip(networks, rows)]

    before = train_members(members(), activation="relu", n_outputs=1)
    # a shape this process has not compiled: 6 members (padded to 8), not 3 (4)
    chunk = members() + members()
    program = _member_training._program(2, "relu", 1)
    traced = program.experimental_get_tracing_count()
    compile_traced = _member_training.trace_members(chunk, activation="relu", n_outputs=1)
    assert program.experimental_get_tracing_count() == traced + 1
    compile_traced()
    assert program.experimental_get_tracing_count() == traced + 1
    ahead = train_members(chunk, activation="relu", n_outputs=1)
    assert program.experimental_get_tracing_count() == traced + 1  # nothing compiled anew
    for result, again in zip(before + before, ahead):
        assert result.n_iter == again.n_iter
        np.testing.assert_allclose(again.kernels[0], result.kernels[0], rtol=1e-5, atol=1e-7)
