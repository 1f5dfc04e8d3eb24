"""imbnet's searches and cross-validation against scikit-learn's, on the same pipelines."""

import warnings

import numpy as np
import pytest
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn import model_selection as sk
from sklearn.datasets import make_classification
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from imbnet import CostSensitiveMLPClassifier
from imbnet.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
    cross_validate,
)

X, y = make_classification(n_samples=300, n_features=6, weights=[0.88], random_state=0)
GRID = {
    "randomundersampler__sampling_strategy": [0.3, 1.0],
    "costsensitivemlpclassifier__class_weight": [None, "balanced"],
}
CV = StratifiedKFold(3)


def pipeline(**network):
    settings = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0, **network)
    return make_pipeline(
        StandardScaler(),
        RandomUnderSampler(random_state=0),
        CostSensitiveMLPClassifier(**settings),
    )


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Stochastic Optimizer")
        yield


def test_grid_agrees_with_scikit_learn():
    ours = GridSearchCV(pipeline(), GRID, cv=CV, scoring="roc_auc", return_train_score=True)
    theirs = sk.GridSearchCV(pipeline(), GRID, cv=CV, scoring="roc_auc", return_train_score=True)
    ours.fit(X, y)
    theirs.fit(X, y)
    assert sorted(ours.cv_results_) == sorted(theirs.cv_results_)
    ours_mean = ours.cv_results_["mean_test_score"]
    theirs_mean = theirs.cv_results_["mean_test_score"]
    assert np.max(np.abs(ours_mean - theirs_mean)) < 0.02
    assert ours_mean[theirs.best_index_] >= ours.best_score_ - 0.005
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]
    assert isinstance(ours.best_estimator_[-1], CostSensitiveMLPClassifier)
    if ours.best_index_ == theirs.best_index_:  # the refit is a plain fit: the same network
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6)


def test_per_member_settings_and_alpha():
    grid = {"class_weight": [None, "log"], "alpha": [1e-4, 1e-1], "max_iter": [10, 25]}
    network = CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), random_state=1)
    ours = GridSearchCV(network, grid, cv=CV, scoring="roc_auc").fit(X, y)
    theirs = sk.GridSearchCV(network, grid, cv=CV, scoring="roc_auc").fit(X, y)
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], atol=1e-3
    )


def test_unknown_parameter_raises_scikit_learns_error():
    with pytest.raises(ValueError, match="Invalid parameter"):
        GridSearchCV(pipeline(), {"costsensitivemlpclassifier__nope": [1]}, cv=CV).fit(X, y)


def test_failing_candidate_follows_error_score():
    grid = {"costsensitivemlpclassifier__class_weight": [None, {7: 1.0}]}
    with pytest.warns(FitFailedWarning), pytest.warns(UserWarning, match="non-finite"):
        search = GridSearchCV(pipeline(), grid, cv=CV, scoring="roc_auc").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    with pytest.raises(ValueError):
        GridSearchCV(pipeline(), grid, cv=CV, error_score="raise").fit(X, y)


def test_multi_metric_and_refit():
    scoring = {"auc": "roc_auc", "bacc": "balanced_accuracy"}
    search = GridSearchCV(pipeline(), GRID, cv=CV, scoring=scoring, refit="bacc").fit(X, y)
    assert search.multimetric_
    assert "mean_test_auc" in search.cv_results_ and "rank_test_bacc" in search.cv_results_
    assert search.best_score_ == search.cv_results_["mean_test_bacc"][search.best_index_]
    assert search.predict(X).shape == (300,)


def test_fallback_settings_train_alone():
    # early_stopping does not train side by side: scikit-learn's path, same numbers.
    grid = {"costsensitivemlpclassifier__early_stopping": [False, True]}
    ours = GridSearchCV(pipeline(), grid, cv=CV, scoring="roc_auc").fit(X, y)
    theirs = sk.GridSearchCV(pipeline(), grid, cv=CV, scoring="roc_auc").fit(X, y)
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], atol=1e-3
    )


def test_randomized_search_and_n_jobs():
    kwargs = dict(n_iter=3, cv=CV, scoring="roc_auc", random_state=0)
    one = RandomizedSearchCV(pipeline(), GRID, **kwargs).fit(X, y)
    two = RandomizedSearchCV(pipeline(), GRID, n_jobs=2, **kwargs).fit(X, y)
    np.testing.assert_allclose(
        one.cv_results_["mean_test_score"], two.cv_results_["mean_test_score"], atol=1e-6
    )


def test_cross_validate_and_cross_val_score_agree_with_scikit_learn():
    scoring = ["roc_auc", "average_precision"]
    ours = cross_validate(pipeline(), X, y, cv=CV, scoring=scoring, return_train_score=True)
    theirs = sk.cross_validate(pipeline(), X, y, cv=CV, scoring=scoring, return_train_score=True)
    assert sorted(ours) == sorted(theirs)
    np.testing.assert_allclose(ours["test_roc_auc"], theirs["test_roc_auc"], atol=1e-3)
    scores = cross_val_score(pipeline(), X, y, cv=CV, scoring="roc_auc")
    np.testing.assert_allclose(scores, ours["test_roc_auc"], atol=1e-6)


def test_import_is_lazy_subpackage():
    import imbnet

    assert imbnet.model_selection.GridSearchCV is GridSearchCV


def test_dask_backend_gives_the_same_results():
    distributed = pytest.importorskip("distributed")
    import joblib

    search = GridSearchCV(pipeline(), GRID, cv=CV, scoring="roc_auc", n_jobs=2)
    local = search.fit(X, y).cv_results_["mean_test_score"]
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster), joblib.parallel_backend("dask"):
            on_dask = GridSearchCV(pipeline(), GRID, cv=CV, scoring="roc_auc", n_jobs=2)
            on_dask.fit(X, y)
    np.testing.assert_allclose(on_dask.cv_results_["mean_test_score"], local, atol=1e-6)


def test_fits_are_trained_side_by_side_and_found_by_their_rows():
    from imbnet.model_selection._members import FittedMember
    from imbnet.model_selection._tasks import FitStore, candidate_key, fit_tasks

    store = FitStore()
    splits = list(CV.split(X, y))
    candidates = [{"costsensitivemlpclassifier__class_weight": "balanced"}]
    fit_tasks(store, pipeline(), candidates, splits, X, y, {}, None)
    for train, _ in splits:
        fitted = store.take(candidate_key(candidates[0]), X[train], y[train])
        assert isinstance(fitted[-1], FittedMember)
    assert store.take(candidate_key(candidates[0]), X, y) is None


def test_fit_time_counts_each_fits_share_of_the_joint_training(monkeypatch):
    import time

    from imbnet.model_selection import _tasks

    chunk_seconds = []

    def timed(members, **kwargs):
        start = time.perf_counter()
        results = train_members(members, **kwargs)
        chunk_seconds.append(time.perf_counter() - start)
        return results

    train_members = _tasks.train_members
    monkeypatch.setattr(_tasks, "train_members", timed)
    start = time.perf_counter()
    search = GridSearchCV(pipeline(), GRID, cv=CV, scoring="roc_auc", refit=False).fit(X, y)
    wall = time.perf_counter() - start
    fit_times = search.cv_results_["mean_fit_time"] * CV.get_n_splits()
    assert np.all(search.cv_results_["mean_fit_time"] > 0)
    assert sum(chunk_seconds) <= fit_times.sum() <= wall
    result = cross_validate(pipeline(), X, y, cv=CV, scoring="roc_auc")
    assert result["fit_time"].shape == (3,) and np.all(result["fit_time"] > 0)


def test_tasks_have_their_own_networks_and_leave_the_estimator_unfitted():
    from imbnet.model_selection._tasks import FitStore, fit_tasks

    store, estimator = FitStore(), pipeline()
    splits = list(CV.split(X, y))
    candidates = [{"costsensitivemlpclassifier__class_weight": cw} for cw in [None, "balanced"]]
    fit_tasks(store, estimator, candidates, splits, X, y, {}, None)
    fits = list(store._fits.values())
    assert len(fits) == 6
    networks = {id(fitted[-1].network) for fitted in fits}
    assert len(networks) == 6  # one network object per task, even from a shallow copy
    # the fold's fitted scaler is shared by its candidates, as a clone's fit would be
    assert len({id(fitted[0]) for fitted in fits}) == 3
    assert not hasattr(estimator[-1], "classes_") and not hasattr(estimator[0], "mean_")
    assert {fitted[-1].network.class_weight for fitted in fits} == {None, "balanced"}
