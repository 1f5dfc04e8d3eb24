"""The ranking scores computed directly for side-by-side fits equal scikit-learn's."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, get_scorer, roc_auc_score

from imbnet.model_selection import GridSearchCV, cross_validate
from imbnet.model_selection._scoring import average_precision, roc_auc


@pytest.mark.parametrize("seed", range(5))
def test_metrics_equal_scikit_learns_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(300) < 0.1
    y[:2] = [True, False]
    score = np.round(rng.random(300), 1 + seed % 2).astype(np.float32)  # many ties
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert average_precision(y, score) == pytest.approx(
        average_precision_score(y, score), abs=1e-12
    )


def test_search_and_cross_validate_score_as_scikit_learn_and_keep_its_scorers():
    from test_search import CV, GRID, X, pipeline, y

    scoring = ["roc_auc", "average_precision"]
    search = GridSearchCV(pipeline(), GRID, cv=CV, scoring=scoring, refit="roc_auc").fit(X, y)
    assert set(search.scorer_) == set(scoring)
    assert all(type(s) is type(get_scorer("roc_auc")) for s in search.scorer_.values())
    # the stored fits scored by scikit-learn's own scorers give the same numbers
    result = cross_validate(pipeline(), X, y, cv=CV, scoring=scoring, return_estimator=False)
    from imbnet.model_selection._scoring import FastScorer
    from imbnet.model_selection._tasks import FitStore, Replayed, fit_tasks, holds_member_fit

    store = FitStore()
    splits = list(CV.split(X, y))
    fit_tasks(store, pipeline(), [{}], splits, X, y, {}, None)
    for name in scoring:
        expected = []
        for train, test in splits:
            replayed = Replayed(pipeline(), store).fit(X[train], y[train])
            expected.append(get_scorer(name)(replayed, X[test], y[test]))
            fast = FastScorer(name, get_scorer(name), holds_member_fit)
            assert fast._direct(replayed, X[test], y[test]) == pytest.approx(expected[-1])
        np.testing.assert_allclose(result[f"test_{name}"], expected, atol=1e-12)
