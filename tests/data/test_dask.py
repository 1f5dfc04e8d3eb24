"""GridSearchCV / RandomizedSearchCV over imbnet estimators on a Dask cluster.

joblib's Dask backend on a LocalCluster of two worker processes (loopback, no
dashboard), TensorFlow limited to one intra-op and one inter-op thread per
worker. Each search runs sequentially and on the cluster: fits with a fixed
random_state are reproducible across processes, so the scores must agree, and
Dask's task stream must show that every fit ran on a worker.
"""

import random
import re
import threading

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import joblib  # noqa: E402
from imblearn.under_sampling import RandomUnderSampler  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: E402

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier  # noqa: E402

# Read by TensorFlow's C++ runtime when it creates its thread pools.
TF_THREADS = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}

X, y = make_classification(
    n_samples=300, n_features=4, n_informative=3, n_redundant=1, weights=[0.85], random_state=0
)


@pytest.fixture(scope="module")
def client():
    # env= is set in each worker process before the worker starts, so before
    # TensorFlow is imported there (by the first task).
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        env={**TF_THREADS, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def assert_dask_matches_sequential(client, make_search, n_fits):
    sequential = make_search().fit(X, y)
    on_dask = make_search()
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        on_dask.fit(X, y)
    # joblib submits batches of fits as tasks "batch_of__fit_and_score_<n>_calls-...";
    # the task stream records the worker that ran each: every fit is accounted for.
    tasks = [task for task in stream.data if "_fit_and_score" in task["key"]]
    assert tasks, "no _fit_and_score task reached the cluster"
    assert {task["worker"] for task in tasks} <= set(client.scheduler_info()["workers"])
    assert all(task["status"] == "OK" for task in tasks)
    calls = [int(re.search(r"_(\d+)_calls", task["key"]).group(1)) for task in tasks]
    assert sum(calls) == n_fits
    scores = on_dask.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    np.testing.assert_allclose(scores, sequential.cv_results_["mean_test_score"], rtol=1e-12)
    return sequential, on_dask


def test_grid_search_on_dask_matches_sequential(client):
    def make_search():
        return GridSearchCV(
            CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
            {"class_weight": [None, "balanced", "log", {0: 1, 1: 10}]},
            scoring="roc_auc",
            cv=3,
        )

    sequential, on_dask = assert_dask_matches_sequential(client, make_search, n_fits=4 * 3)
    assert on_dask.best_params_ == sequential.best_params_


def test_randomized_search_over_resampled_classifier_on_dask(client):
    import keras

    # Local: Dask pickles a module-level function by reference (module
    # "test_dask", importable on a worker only by accident of sys.path); a
    # local one is pickled by value (cloudpickle). The layers are unseeded:
    # imbnet seeds them from random_state, whatever the worker's threads do.
    def build(meta, units=8):
        return keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(units, activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )

    def make_search():
        clf = ResampledKerasClassifier(
            build, sampler=RandomUnderSampler(), epochs=5, random_state=0
        )
        return RandomizedSearchCV(
            clf,
            {
                "sampler__sampling_strategy": [0.3, 0.6, 1.0],
                "class_weight": [None, "balanced", "log"],
            },
            n_iter=3,
            scoring="roc_auc",
            cv=3,
            random_state=0,
        )

    sequential, on_dask = assert_dask_matches_sequential(client, make_search, n_fits=3 * 3)
    assert on_dask.cv_results_["params"] == sequential.cv_results_["params"]


def test_unseeded_builder_is_reproducible_while_another_thread_draws_random():
    import keras

    def build(meta):  # one unseeded layer
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])

    def fit():
        return ResampledKerasClassifier(build, epochs=1, random_state=0).fit(X, y).predict_proba(X)

    expected = fit()
    stop = threading.Event()
    thread = threading.Thread(target=lambda: [random.random() for _ in iter(stop.is_set, True)])
    thread.start()
    try:
        results = [fit() for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, expected)


# A minute or more: left out of the default run, run by CI (pytest -m slow).
pytestmark = pytest.mark.slow
