"""Data larger than memory: NegativeDownsampler, fitting and predicting on Dask collections.

One LocalCluster of two worker processes (loopback, no dashboard, TensorFlow
on one thread per worker) and one Parquet data set (20,000 rows at about
1:25, 8 partitions) serve the whole module. ``imbnet.data._dask._compute`` is
where every array that reaches the client during a fit comes through; the
tests count what it returns.
"""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("pyarrow")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import keras  # noqa: E402
import pandas as pd  # noqa: E402
from _networks import build  # noqa: E402
from imblearn.over_sampling import SMOTE  # noqa: E402
from imblearn.pipeline import Pipeline  # noqa: E402
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from imbnet import NegativeDownsampler, ResampledKerasClassifier, compute_class_weight  # noqa: E402
from imbnet.data import _dask  # noqa: E402

FEATURES = [f"f{i}" for i in range(6)]
RATE = 0.1
WORKER_ENV = {
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def make_data(n_rows, seed):
    """A logistic model with a base rate of about 4%: the true probabilities are known."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, len(FEATURES))).astype(np.float32)
    logit = 1.5 * X[:, 0] - 1.0 * X[:, 1] + 0.5 * X[:, 2] - 4.0
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    w = rng.uniform(0.5, 2.0, n_rows)
    return X, y, w


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    X, y, w = make_data(20_000, seed=0)
    frame = pd.DataFrame(X, columns=FEATURES).assign(label=y, weight=w)
    path = tmp_path_factory.mktemp("parquet") / "train"
    dd.from_pandas(frame, npartitions=8).to_parquet(path, write_index=False)
    X_test, y_test, _ = make_data(10_000, seed=1)
    return {
        "path": str(path),
        "X": frame[FEATURES],
        "y": y,
        "w": w,
        "X_test": pd.DataFrame(X_test, columns=FEATURES),
        "y_test": y_test,
    }


def local_cluster(n_workers):
    """Worker processes on loopback; no dashboard, the HTTP server on a free port."""
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
        env=WORKER_ENV,
    )


@pytest.fixture(scope="module")
def client():
    cluster = local_cluster(2)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def arrivals(monkeypatch):
    """The rows that reach the client in each compute of a fit (the class counts
    of the first: one entry per label and partition)."""
    calls = []
    original = _dask._compute

    def counting(tasks):
        results = original(tasks)
        calls.append(sum(np.shape(result[0])[0] for result in results))
        return results

    monkeypatch.setattr(_dask, "_compute", counting)
    return calls


def read(data):
    ddf = dd.read_parquet(data["path"])
    return ddf[FEATURES], ddf["label"], ddf["weight"]


def classifier(**params):
    settings = dict(
        sampler=NegativeDownsampler(rate=RATE),
        epochs=12,
        batch_size=64,
        random_state=0,
        optimizer__learning_rate=0.01,
        model__units=8,
    )
    return ResampledKerasClassifier(build, **{**settings, **params})


@pytest.fixture(scope="module")
def fitted(data, client):
    X, y, _ = read(data)
    return classifier(prior_correction=True).fit(X, y)


@pytest.fixture(scope="module")
def in_memory(data):
    """The same classifier fitted in memory on the same rows."""
    return classifier(prior_correction=True).fit(data["X"], data["y"])


# ------------------------------------------------------------ in memory
def test_downsampler_keeps_every_minority_row_and_a_rate_of_the_majority():
    X, y, _ = make_data(20_000, seed=2)
    sampler = NegativeDownsampler(rate=0.2, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert (y_res == 1).sum() == (y == 1).sum()
    kept = (y_res == 0).sum() / (y == 0).sum()
    assert abs(kept - 0.2) < 4 * np.sqrt(0.2 * 0.8 / (y == 0).sum())  # binomial noise
    np.testing.assert_array_equal(X_res, X[sampler.sample_indices_])
    np.testing.assert_array_equal(y_res, y[sampler.sample_indices_])
    same, other = (NegativeDownsampler(rate=0.2, random_state=seed) for seed in (0, 1))
    same.fit_resample(X, y)
    other.fit_resample(X, y)
    np.testing.assert_array_equal(same.sample_indices_, sampler.sample_indices_)
    assert not np.array_equal(other.sample_indices_, sampler.sample_indices_)


def test_downsampler_float_strategy_targets_a_ratio_and_refuses_a_rate_too():
    X, y, _ = make_data(20_000, seed=2)
    _, y_res = NegativeDownsampler(rate=None, sampling_strategy=0.5, random_state=0).fit_resample(
        X, y
    )
    ratio = (y_res == 1).sum() / (y_res == 0).sum()
    assert 0.42 < ratio < 0.6
    with pytest.raises(ValueError, match="set one of them"):
        NegativeDownsampler(rate=0.1, sampling_strategy=0.5).fit_resample(X, y)


def test_downsampler_in_an_imblearn_pipeline_fits_the_classifier_on_the_down_sample():
    X, y, _ = make_data(20_000, seed=2)
    pipe = Pipeline(
        [
            ("down", NegativeDownsampler(rate=0.1, random_state=0)),
            ("prior", DummyClassifier(strategy="prior")),
        ]
    ).fit(X, y)
    minority = y.mean()
    expected = minority / (minority + 0.1 * (1 - minority))
    assert abs(pipe[-1].class_prior_[1] - expected) < 0.03
    assert pipe.predict_proba(X[:5]).shape == (5, 2)  # no resampling at predict


def test_in_memory_prior_correction_undoes_the_down_sampling(data, in_memory):
    clf = in_memory
    minority = data["y"].mean()
    assert abs(clf.training_prior_[1] - minority / (minority + RATE * (1 - minority))) < 0.02
    X_test, y_test = data["X_test"], data["y_test"]
    assert abs(clf.predict_proba(X_test)[:, 1].mean() - y_test.mean()) < 0.1 * y_test.mean()


# --------------------------------------------------------------- on Dask
def test_fit_on_dask_brings_only_the_epoch_samples_to_the_client(data, client, arrivals):
    X, y, _ = read(data)
    clf = classifier(epochs=3).fit(X, y)
    stats, *epochs = arrivals
    assert stats <= 8 * 2  # per partition: the labels found (2), not the rows
    n_minority, n_majority = (data["y"] == 1).sum(), (data["y"] == 0).sum()
    expected = n_minority + RATE * n_majority
    assert len(epochs) == 3
    for rows in epochs:
        assert abs(rows - expected) < 5 * np.sqrt(expected)
    assert clf.n_iter_ == 3


def test_resample_once_draws_one_down_sample_for_all_epochs(data, client, arrivals):
    X, y, _ = read(data)
    clf = classifier(
        epochs=3,
        resample="once",
        class_weight="balanced",
        deferred_reweighting=1,
        output_bias_init="prior",
    ).fit(X, y)
    assert len(arrivals) == 2  # the class counts, then one draw
    assert clf.n_iter_ == 3 and np.all(np.isfinite(clf.loss_curve_))


def test_fit_reduces_class_counts_on_the_cluster_as_in_memory(data, client):
    X, y, w = read(data)
    clf = classifier(epochs=1, class_weight="balanced").fit(X, y, sample_weight=w)
    assert clf.class_weight_ == pytest.approx(
        compute_class_weight("balanced", classes=[0, 1], y=data["y"])
    )
    weighted = np.bincount(data["y"], weights=data["w"])
    np.testing.assert_allclose(clf.class_prior_, weighted / weighted.sum())
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    np.testing.assert_array_equal(clf.feature_names_in_, FEATURES)


def test_predict_on_dask_is_lazy_and_runs_on_the_workers(data, client, fitted):
    X, _, _ = read(data)
    proba = fitted.predict_proba(X)
    labels = fitted.predict(X)
    assert isinstance(proba, da.Array) and isinstance(labels, da.Array)
    with distributed.get_task_stream(client) as stream:
        proba, labels = dask.compute(proba, labels)
    blocks = [task for task in stream.data if "predict_block" in str(task["key"])]
    assert len(blocks) == 2 * 8
    assert {task["worker"] for task in blocks} <= set(client.scheduler_info()["workers"])
    np.testing.assert_allclose(proba, fitted.predict_proba(data["X"]), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(labels, fitted.predict(data["X"]))


def test_predict_graph_holds_the_estimator_once(data, fitted):
    X, _, _ = read(data)
    graph = dict(fitted.predict_proba(X).__dask_graph__())
    holding = [key for key, task in graph.items() if _contains(task, fitted)]
    assert len(holding) == 1


def _contains(task, obj):
    if task is obj:
        return True
    if isinstance(task, (tuple, list)):
        return any(_contains(part, obj) for part in task)
    return getattr(task, "value", None) is obj or any(
        _contains(arg, obj) for arg in getattr(task, "args", ())
    )


def test_corrected_probability_estimates_the_base_rate(data, fitted):
    X_test, y_test = data["X_test"], data["y_test"]
    mean = fitted.predict_proba(X_test)[:, 1].mean()
    assert abs(mean - y_test.mean()) < 0.1 * y_test.mean()
    minority = data["y"].mean()
    assert abs(fitted.training_prior_[1] - minority / (minority + RATE * (1 - minority))) < 0.02


def test_roc_auc_matches_an_in_memory_fit(data, fitted, in_memory):
    X_test, y_test = data["X_test"], data["y_test"]
    auc_dask = roc_auc_score(y_test, fitted.predict_proba(X_test)[:, 1])
    auc_memory = roc_auc_score(y_test, in_memory.predict_proba(X_test)[:, 1])
    assert auc_dask > 0.8
    assert abs(auc_dask - auc_memory) < 0.02


def test_same_seed_same_model_on_one_and_two_workers(data, client):
    X, y, _ = read(data)
    X_test = data["X_test"]
    with distributed.get_task_stream(client) as stream:
        two = classifier(epochs=3).fit(X, y).predict_proba(X_test)
    assert len({task["worker"] for task in stream.data}) == 2
    with local_cluster(1) as cluster, distributed.Client(cluster, set_as_default=False) as single:
        with single.as_current(), distributed.get_task_stream(single) as stream:
            one = classifier(epochs=3).fit(X, y).predict_proba(X_test)
        assert len(stream.data) > 0 and len({task["worker"] for task in stream.data}) == 1
    np.testing.assert_array_equal(one, two)


def test_early_stopping_and_callbacks_on_dask(data, client):
    X, y, _ = read(data)
    ends = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(logs))
    clf = classifier(
        epochs=10, early_stopping=True, tol=10.0, n_iter_no_change=2, callbacks=[callback]
    ).fit(X, y)
    # No epoch improves on the first by tol=10: scikit-learn's rule stops after
    # n_iter_no_change + 1 epochs without improvement.
    assert clf.n_iter_ == 4
    assert len(ends) == 4 and all(np.isfinite(logs["val_loss"]) for logs in ends)
    assert clf.history_["val_loss"] == [logs["val_loss"] for logs in ends]


def test_dask_arrays_with_sample_weight(data, client):
    X = da.from_array(data["X"].to_numpy(), chunks=(2_500, 3))
    y = da.from_array(data["y"], chunks=5_000)
    w = da.from_array(data["w"], chunks=4_000)
    clf = classifier(epochs=2).fit(X, y, sample_weight=w)
    weighted = np.bincount(data["y"], weights=data["w"])
    np.testing.assert_allclose(clf.class_prior_, weighted / weighted.sum())
    assert not hasattr(clf, "feature_names_in_")
    assert clf.predict_proba(X).compute().shape == (20_000, 2)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (
            dict(sampler=SMOTE()),
            TypeError,
            "SMOTE cannot resample a Dask collection.*NegativeDownsampler",
        ),
        (dict(sampler=None), ValueError, "NegativeDownsampler.*X.compute"),
        (dict(batch_ratio=2.0, sampler=None), ValueError, "batch_ratio.*NegativeDownsampler"),
    ],
)
def test_what_cannot_train_out_of_core_is_refused(data, params, error, match):
    X, y, _ = read(data)
    with pytest.raises(error, match=match):
        classifier(**params).fit(X, y)


def test_bad_dask_input_is_refused(data, client):
    X, y, _ = read(data)
    with pytest.raises(TypeError, match="y is a ndarray: pass y as the matching Dask Series"):
        classifier().fit(X, data["y"])
    frame = data["X"][:400].assign(label=data["y"][:400])
    frame.loc[7, "f1"] = np.nan
    bad = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(ValueError, match="NaN or infinity.*dropna"):
        classifier(epochs=1).fit(bad[FEATURES], bad["label"])
    assert not hasattr(classifier(), "model_")


# A minute or more: left out of the default run, run by CI (pytest -m slow).
pytestmark = pytest.mark.slow
