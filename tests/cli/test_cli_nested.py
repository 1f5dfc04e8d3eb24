"""compare's nested cross-validation as one batch of fits (``imbnet.cli._nested``)."""

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

from imbnet import make_tutorial_data
from imbnet.cli._compare import INNER_CV, Setup, _Budget, plan_folds, run_order
from imbnet.cli._nested import _rows, fit_splits, fit_strategies
from imbnet.cli._objectives import Objective
from imbnet.cli._strategies import STRATEGIES, Context, make_pipeline


# TunedThresholdClassifierCV over fits already made: scikit-learn's own threshold choice,
# the reference compare's is tested against.
class FitStore:
    """Fitted models by the rows they learned from (``X``'s row labels).

    One store is shared by every copy: ``clone`` deep-copies parameters, and a
    :class:`Prefitted` clone must find the same fits.
    """

    def __init__(self, fits=()):
        self._fits = {_rows(train): model for train, model in fits}

    def __deepcopy__(self, memo):
        return self

    def take(self, X):
        try:
            return self._fits[_rows(X.index)]
        except KeyError:
            raise RuntimeError("no model was fitted on these rows") from None


class Prefitted(ClassifierMixin, BaseEstimator):
    """A classifier whose ``fit`` takes the model already fitted on the same rows.

    Parameters
    ----------
    store : FitStore
    """

    def __init__(self, store=None):
        self.store = store

    def fit(self, X, y):
        """Take the model fitted on ``X``'s rows from the store."""
        self.model_ = self.store.take(X)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        """The fitted model's class probabilities."""
        return self.model_.predict_proba(X)

    def predict(self, X):
        """The fitted model's labels."""
        return self.model_.predict(X)


@pytest.fixture(scope="module")
def data():
    X, y = make_tutorial_data(1200, random_state=1)
    return pd.DataFrame(X, columns=["x0", "x1"]), y


def test_plan_holds_each_outer_folds_inner_splits_then_its_refit(data):
    X, y = data
    setup = Setup(Objective("f1"), (0, 1), 1, None, 3, 0)
    plan = plan_folds(setup, y)
    splits = plan.splits()
    per = INNER_CV + 1  # a fold's inner fits, then its refit
    assert len(splits) == 3 * per
    for k, (train, test) in enumerate(plan.outer):
        inner = splits[per * k : per * k + INNER_CV]
        assert len(inner) == INNER_CV
        assert all(set(a) | set(b) == set(train) and not set(b) & set(test) for a, b in inner)
        np.testing.assert_array_equal(splits[per * k + INNER_CV][0], train)
        # the inner folds are those TunedThresholdClassifierCV draws from the training rows
        expected = StratifiedKFold(INNER_CV, shuffle=True, random_state=0).split(
            X.iloc[train], y[train]
        )
        for (a, b), (ea, eb) in zip(inner, expected):
            np.testing.assert_array_equal(a, train[ea])
            np.testing.assert_array_equal(b, train[eb])
    multiclass = Setup(Objective("f1"), (0, 1, 2), 1, None, 3, 0)
    assert len(plan_folds(multiclass, y).splits()) == 3


def test_threshold_over_prefitted_models_is_scikit_learns(data):
    """TunedThresholdClassifierCV over the batch's fits chooses the threshold it chooses
    when it fits the same pipeline itself."""
    X, y = data
    setup = Setup(Objective("f1"), (0, 1), 1, None, 3, 0)
    plan = plan_folds(setup, y)
    pipeline = make_pipeline("logreg", Context(5, 0, ("x0", "x1"), ()))
    splits = plan.splits()
    fits = fit_splits(pipeline, X, y, splits)
    store = FitStore((train, model) for (train, _), model in zip(splits, fits))
    for (train, _), inner in zip(plan.outer, plan.inner):
        ours = TunedThresholdClassifierCV(
            Prefitted(store), scoring=setup.scorer(), response_method="predict_proba", cv=inner
        ).fit(X.iloc[train], y[train])
        theirs = TunedThresholdClassifierCV(
            pipeline,
            scoring=setup.scorer(),
            response_method="predict_proba",
            cv=StratifiedKFold(INNER_CV, shuffle=True, random_state=0),
        ).fit(X.iloc[train], y[train])
        assert ours.best_threshold_ == pytest.approx(theirs.best_threshold_)
    with pytest.raises(RuntimeError, match="no model was fitted on these rows"):
        Prefitted(store).fit(X.iloc[:10], y[:10])


def test_side_by_side_fits_predict_as_fits_of_their_own(data):
    X, y = data
    pipeline = make_pipeline("balanced", Context(8, 0, ("x0", "x1"), ()))
    splits = plan_folds(Setup(Objective("f1"), (0, 1), 1, None, 2, 0), y).splits()
    fits = fit_splits(pipeline, X, y, splits)
    for (train, test), fitted in zip(splits[::3], fits[::3]):
        alone = make_pipeline("balanced", Context(8, 0, ("x0", "x1"), ()))
        alone.fit(X.iloc[train], y[train])
        np.testing.assert_allclose(
            fitted.predict_proba(X.iloc[test]), alone.predict_proba(X.iloc[test]), atol=2e-3
        )


def test_strategies_fitted_together_are_their_fits_alone(data):
    """compare trains its side-by-side strategies in one search: each strategy's fits
    are those it gets on its own (each network trains as if alone; only the padding of
    the program's shapes differs, so up to float32 rounding: measured 1e-7 on the
    built-in data), the same on every run, with its own steps (SMOTE's sampler only in
    its own pipeline)."""
    X, y = make_classification(
        600, 2, n_informative=2, n_redundant=0, weights=[0.9], random_state=0
    )
    X = pd.DataFrame(X, columns=["x0", "x1"])
    ctx = Context(6, 0, ("x0", "x1"), ())
    names = ["none", "focal", "ldam_drw", "smote"]
    splits = plan_folds(Setup(Objective("f1"), (0, 1), 1, None, 2, 0), y).splits()
    together = fit_strategies({name: make_pipeline(name, ctx) for name in names}, X, y, splits)
    assert together is not None and list(together) == names
    again = fit_strategies({name: make_pipeline(name, ctx) for name in names}, X, y, splits)
    for name in names:
        alone = fit_splits(make_pipeline(name, ctx), X, y, splits)
        assert len(together[name]) == len(splits)
        for (_, test), fitted, repeated, own in zip(splits, together[name], again[name], alone):
            steps = [step_name for step_name, step in fitted.steps if step != "passthrough"]
            assert steps == [step_name for step_name, _ in own.steps]
            proba = fitted.predict_proba(X.iloc[test])
            np.testing.assert_array_equal(proba, repeated.predict_proba(X.iloc[test]))
            np.testing.assert_allclose(proba, own.predict_proba(X.iloc[test]), atol=1e-5)
    # strategies that cannot be told apart are left to be fitted one at a time, and so
    # is a batch with a strategy that fails (SMOTE on 3 minority rows): each then
    # reports its own error
    twins = {"a": make_pipeline("none", ctx), "b": make_pipeline("none", ctx)}
    assert fit_strategies(twins, X, y, splits) is None
    X_few, y_few = data
    splits = plan_folds(Setup(Objective("f1"), (0, 1), 1, None, 2, 0), y_few).splits()
    failing = {name: make_pipeline(name, ctx) for name in ("none", "smote")}
    with pytest.raises(ValueError, match="n_neighbors"):
        fit_splits(failing["smote"], X_few, y_few, splits)
    assert fit_strategies(failing, X_few, y_few, splits) is None


def test_budget_estimates_each_kind_from_its_own_measurements():
    budget = _Budget(100.0)
    network, reference = STRATEGIES["balanced"], STRATEGIES["logreg"]
    assert budget.estimate("side by side", 50) is None  # nothing measured: run it
    budget.record(network, epochs=50, seconds=10.0, side_by_side=True)
    # one by one is estimated from side by side until it is measured itself
    assert budget.estimate("one by one", 50) == pytest.approx(10.0 * _Budget.ONE_BY_ONE)
    budget.record(network, epochs=50, seconds=40.0, side_by_side=False)
    assert budget.estimate("one by one", 25) == pytest.approx(20.0)
    assert budget.estimate("side by side", 25) == pytest.approx(5.0)
    budget.record(reference, epochs=50, seconds=2.0)
    budget.record(reference, epochs=50, seconds=0.5)
    assert budget.estimate("reference", 50) == pytest.approx(2.0)  # the dearest reference
    # the budget keeps a share for the report and counts from the command's start
    started = _Budget(100.0, start=time.perf_counter() - 200.0)
    assert started.seconds == pytest.approx(100.0 * (1 - _Budget.REPORT_SHARE))
    assert started.plan(network, 50) == (None, "skipped: the time budget was spent")


def test_cheap_references_run_first_whatever_the_order_asked():
    asked = ["balanced", "hgb", "smote", "logreg", "balanced"]
    assert run_order(asked) == ["hgb", "logreg", "balanced", "smote"]
    default = run_order(list(STRATEGIES))
    first_network = next(i for i, s in enumerate(default) if STRATEGIES[s].network)
    assert all(not STRATEGIES[s].network for s in default[:first_network])
    assert all(STRATEGIES[s].network for s in default[first_network:])


@pytest.mark.parametrize(
    "objective, cost",
    [
        (Objective("f1"), None),
        (Objective("balanced_accuracy"), None),
        (Objective("recall@precision", 0.3), None),
        (Objective("precision@recall", 0.6), None),
        (Objective("cost"), (1.0, 20.0)),
    ],
)
@pytest.mark.parametrize("pos_label", [1, 0])
def test_tuned_threshold_is_scikit_learns(data, objective, cost, pos_label):
    """compare's threshold over the inner fits (counts at every threshold at once) is the
    one TunedThresholdClassifierCV chooses over the same fits, and decides alike."""
    from imbnet.cli._threshold import Thresholded, tune_threshold

    X, y = data
    setup = Setup(objective, (0, 1), pos_label, cost, 3, 0)
    plan = plan_folds(setup, y)
    pipeline = make_pipeline("logreg", Context(5, 0, ("x0", "x1"), ()))
    splits = plan.splits()
    fits = fit_splits(pipeline, X, y, splits)
    store = FitStore((train, model) for (train, _), model in zip(splits, fits))
    for fold, ((train, test), inner) in enumerate(zip(plan.outer, plan.inner)):
        theirs = TunedThresholdClassifierCV(
            Prefitted(store), scoring=setup.scorer(), response_method="predict_proba", cv=inner
        ).fit(X.iloc[train], y[train])
        per = INNER_CV + 1  # a fold's inner fits, then its refit
        models = fits[per * fold : per * fold + INNER_CV]
        validations = [(X.iloc[train[b]], y[train[b]]) for _, b in inner]
        function = setup.score_function()
        threshold = tune_threshold(models, validations, function, setup.classes)
        assert threshold == pytest.approx(theirs.best_threshold_, abs=1e-12)
        ours = Thresholded(fits[per * fold + INNER_CV], threshold, function[1].get("pos_label"))
        np.testing.assert_array_equal(ours.predict(X.iloc[test]), theirs.predict(X.iloc[test]))


@pytest.mark.parametrize("name", ["balanced", "logit_adjusted", "ldam_drw"])
def test_corrected_probabilities_are_the_refits_prior_correction(data, name):
    """compare's prior-corrected probabilities of a side-by-side strategy are those of
    the strategy's pipeline fitted alone with clf__prior_correction=True."""
    from imbnet.cli._compare import _run_strategy

    X, y = data
    setup = Setup(Objective("f1"), (0, 1), 1, None, 2, 0)
    ctx = Context(6, 0, ("x0", "x1"), ())
    assert STRATEGIES[name].prior_correction
    plan = plan_folds(setup, y)
    runs, _, _ = _run_strategy(name, ctx, setup, X, y, plan, 1)
    for run, (train, test) in zip(runs, plan.outer):
        assert run["error"] is None
        alone = make_pipeline(name, ctx).set_params(clf__prior_correction=True)
        alone.fit(X.iloc[train], y[train])
        np.testing.assert_allclose(run["corrected"], alone.predict_proba(X.iloc[test]), atol=2e-3)
        assert not np.allclose(run["corrected"], run["proba"], atol=1e-3)


@pytest.mark.parametrize("cost", [None, (1, 20)])
def test_threshold_figure_is_the_metric_at_each_threshold(cost):
    """The report's objective-vs-threshold curve (computed from confusion counts at
    every threshold at once) is the metric called at each threshold."""
    from imbnet.cli._figures import _thresholds
    from imbnet.cli._objectives import cost_per_1000

    rng = np.random.default_rng(0)
    truth = rng.random(400) < 0.1
    score = np.clip(0.5 * truth + rng.random(400) * 0.6, 0, 1)
    objective = Objective("cost" if cost else "f1")
    setup = Setup(objective, (0, 1), 1, cost, 3, 0)
    strategy = {"name": "a", "error": None, "skipped": None, "oof_score": score}
    results = {
        "multiclass": False,
        "minority": 1,
        "classes": [0, 1],
        "cost": list(cost) if cost else None,
        "setup": setup,
        "objective": {"label": objective.label()},
        "strategies": [strategy],
    }
    figure = _thresholds(results, truth)
    grid, drawn = figure.axes[0].lines[0].get_data()
    function, kwargs, _ = setup.score_function()
    if cost:
        function, kwargs = cost_per_1000, {"fp_cost": 1, "fn_cost": 20, "pos_label": 1}
    expected = [function(truth.astype(int), (score >= t).astype(int), **kwargs) for t in grid]
    np.testing.assert_allclose(drawn, expected)
