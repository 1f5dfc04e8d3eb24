"""GANOverSampler: imbalanced-learn semantics, fidelity of the synthetic rows, composition."""

import os
import random
from collections import Counter

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from _networks import build
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import parametrize_with_checks
from scipy.stats import ks_2samp
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

import imbnet
from imbnet import CostSensitiveMLPClassifier, GANOverSampler, ResampledKerasClassifier
from imbnet.sampling._generative import _Adam, _ConditionalWGAN

# Short training where only the plumbing is tested.
FAST = dict(epochs=3, hidden_units=(16,), batch_size=32)

X, Y = make_classification(
    n_samples=300,
    n_features=4,
    n_informative=3,
    n_redundant=0,
    weights=[0.85],
    flip_y=0,
    random_state=0,
)
X3, Y3 = make_classification(
    n_samples=300,
    n_features=4,
    n_informative=3,
    n_redundant=0,
    n_classes=3,
    weights=[0.7, 0.2, 0.1],
    flip_y=0,
    random_state=0,
)


def known_minority(n, rng):
    """Correlated normals, a skewed (log-normal) and a bimodal column."""
    pair = rng.multivariate_normal([2.0, -1.0], [[1.0, 0.8], [0.8, 1.0]], n)
    skewed = rng.lognormal(0.0, 0.6, n)
    bimodal = rng.choice([-2.0, 2.0], n) + rng.normal(0.0, 0.4, n)
    return np.column_stack([pair, skewed, bimodal])


RNG = np.random.default_rng(0)
MINORITY = known_minority(200, RNG)
X_KNOWN = np.vstack([RNG.normal(0.0, 1.0, (400, 4)), MINORITY])
Y_KNOWN = np.r_[np.zeros(400, int), np.ones(200, int)]


@pytest.fixture(scope="module")
def trained():
    """A sampler trained with its default settings on the known distribution."""
    sampler = GANOverSampler(sampling_strategy={1: 1000}, random_state=0)
    X_res, y_res = sampler.fit_resample(X_KNOWN, Y_KNOWN)
    return sampler, X_res, y_res


# ------------------------------------------------------------ sampling_strategy
@pytest.mark.parametrize(
    "X_, y_, strategy",
    [
        (X, Y, 0.5),
        (X, Y, "minority"),
        (X, Y, {1: 100}),
        (X, Y, "auto"),
        (X3, Y3, "not majority"),
        (X3, Y3, {1: 80, 2: 90}),
        (X3, Y3, "minority"),
    ],
)
def test_sampling_strategy_means_what_imbalanced_learn_says(X_, y_, strategy):
    _, y_res = GANOverSampler(sampling_strategy=strategy, random_state=0, **FAST).fit_resample(
        X_, y_
    )
    _, y_ros = RandomOverSampler(sampling_strategy=strategy, random_state=0).fit_resample(X_, y_)
    assert Counter(y_res) == Counter(y_ros)
    assert Counter(y_res) != Counter(y_)


def test_nothing_to_add_returns_the_data_without_training():
    n_minority = int((Y == 1).sum())
    sampler = GANOverSampler(sampling_strategy={1: n_minority}, random_state=0, **FAST)
    X_res, y_res = sampler.fit_resample(X, Y)
    np.testing.assert_array_equal(X_res, X)
    np.testing.assert_array_equal(y_res, Y)
    assert sampler.history_ == {"critic": [], "generator": []}


def test_original_rows_come_first_unchanged_then_synthetic_rows_of_the_targets():
    sampler = GANOverSampler(sampling_strategy={1: 80, 2: 90}, random_state=0, **FAST)
    X_res, y_res = sampler.fit_resample(X3, Y3)
    n = X3.shape[0]
    np.testing.assert_array_equal(X_res[:n], X3)
    np.testing.assert_array_equal(y_res[:n], Y3)
    assert Counter(y_res[n:]) == {1: 80 - (Y3 == 1).sum(), 2: 90 - (Y3 == 2).sum()}
    assert np.all(np.isfinite(X_res[n:]))
    assert not hasattr(sampler, "sample_indices_")


def test_dataframe_in_dataframe_out_with_string_labels():
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    labels = np.where(Y == 1, "rare", "common")
    X_res, y_res = GANOverSampler(random_state=0, **FAST).fit_resample(frame, labels)
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == ["a", "b", "c", "d"]
    pd.testing.assert_frame_equal(X_res.iloc[: len(frame)], frame)
    assert Counter(y_res) == {"common": (Y == 0).sum(), "rare": (Y == 0).sum()}


# ------------------------------------------------------------------- fidelity
def test_synthetic_rows_follow_the_minority_per_feature(trained):
    _, X_res, _ = trained
    synthetic = X_res[len(X_KNOWN) :]
    scale = MINORITY.std(axis=0)
    assert np.all(np.abs(synthetic.mean(axis=0) - MINORITY.mean(axis=0)) < 0.25 * scale)
    assert np.all(np.abs(synthetic.std(axis=0) / scale - 1.0) < 0.25)
    for column in range(MINORITY.shape[1]):
        assert ks_2samp(MINORITY[:, column], synthetic[:, column]).pvalue > 1e-3, column


def test_synthetic_rows_keep_the_bimodal_column_bimodal(trained):
    _, X_res, _ = trained
    bimodal = X_res[len(X_KNOWN) :, 3]
    assert 0.3 < np.mean(bimodal > 0) < 0.7
    assert np.mean(np.abs(bimodal) < 0.5) < 0.15  # few rows between the modes


def test_synthetic_rows_keep_the_correlation_between_columns(trained):
    _, X_res, _ = trained
    synthetic = X_res[len(X_KNOWN) :]
    real = np.corrcoef(MINORITY[:, :2].T)[0, 1]
    assert abs(np.corrcoef(synthetic[:, :2].T)[0, 1] - real) < 0.2


def test_synthetic_values_stay_in_the_range_the_class_observed(trained):
    _, X_res, _ = trained
    synthetic = X_res[len(X_KNOWN) :]
    assert np.all(synthetic >= MINORITY.min(axis=0) - 1e-9)
    assert np.all(synthetic <= MINORITY.max(axis=0) + 1e-9)


def test_training_losses_are_recorded_and_finite(trained):
    sampler, _, _ = trained
    assert len(sampler.history_["critic"]) == len(sampler.history_["generator"]) == 300
    assert np.all(np.isfinite(sampler.history_["critic"]))


def test_standard_column_transform_also_writes_minority_rows():
    sampler = GANOverSampler(column_transform="standard", random_state=0, **FAST)
    X_res, y_res = sampler.fit_resample(X_KNOWN, Y_KNOWN)
    assert Counter(y_res) == {0: 400, 1: 400}
    assert np.all(np.isfinite(X_res))


# -------------------------------------------------------- determinism, redraw
def test_same_seed_same_rows_other_seed_other_rows():
    first = GANOverSampler(random_state=1, **FAST).fit_resample(X, Y)[0]
    again = GANOverSampler(random_state=1, **FAST).fit_resample(X, Y)[0]
    other = GANOverSampler(random_state=2, **FAST).fit_resample(X, Y)[0]
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first[len(X) :], other[len(X) :])


def test_no_global_random_state_is_used_or_changed():
    numpy_state, python_state = np.random.get_state()[1].copy(), random.getstate()
    GANOverSampler(random_state=0, **FAST).fit_resample(X, Y)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    assert random.getstate() == python_state


def test_redraw_gives_fresh_rows_from_the_same_generator():
    sampler = GANOverSampler(random_state=0, **FAST)
    X_res, y_res = sampler.fit_resample(X, Y)
    weights = [w.numpy() for w in sampler.generator_.weights]
    X_new, y_new = sampler.redraw(random_state=7)
    n = len(X)
    np.testing.assert_array_equal(X_new[:n], X)
    np.testing.assert_array_equal(y_new, y_res)
    assert not np.allclose(X_new[n:], X_res[n:])
    np.testing.assert_array_equal(sampler.redraw(random_state=7)[0], X_new)
    for before, after in zip(weights, [w.numpy() for w in sampler.generator_.weights]):
        np.testing.assert_array_equal(before, after)  # no training


def test_redraw_before_fit_is_a_clear_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="fit"):
        GANOverSampler().redraw(0)


# ------------------------------------------------------------------ bad input
def test_one_class_is_a_clear_error():
    with pytest.raises(ValueError, match="more than 1 class"):
        GANOverSampler(**FAST).fit_resample(X, np.zeros(len(X)))


def test_nan_is_a_clear_error():
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GANOverSampler(**FAST).fit_resample(X_nan, Y)


def test_multilabel_y_is_a_clear_error():
    multilabel = np.column_stack([Y, 1 - Y, Y])
    with pytest.raises(ValueError, match="one class per row"):
        GANOverSampler(**FAST).fit_resample(X, multilabel)


def test_one_hot_y_is_multiclass_as_in_imbalanced_learn():
    one_hot = np.eye(3, dtype=int)[Y3]
    sampler = GANOverSampler(random_state=0, **FAST)
    X_res, y_res = sampler.fit_resample(X3, one_hot)
    assert y_res.shape == (X_res.shape[0], 3)
    np.testing.assert_array_equal(y_res[: len(Y3)], one_hot)
    assert Counter(y_res.argmax(axis=1)) == {0: (Y3 == 0).sum()} | {
        1: (Y3 == 0).sum(),
        2: (Y3 == 0).sum(),
    }
    X_new, y_new = sampler.redraw(1)
    np.testing.assert_array_equal(y_new, y_res)


def _listed(mark):
    """imbalanced-learn's ``parametrize_with_checks`` with its checks in a list: it
    passes a generator, which pytest 10 will refuse."""
    name, checks = mark.args
    return pytest.mark.parametrize(name, list(checks), **mark.kwargs)


@_listed(
    parametrize_with_checks(
        [GANOverSampler(epochs=1, hidden_units=(8,), random_state=0)],
        expected_failed_checks=lambda _: {
            "check_samplers_pandas_sparse": "dense X only: a GAN writes dense rows",
        },
    )
)
def test_imbalanced_learn_sampler_checks(estimator, check):
    check(estimator)


def test_sparse_X_is_a_clear_error():
    with pytest.raises(TypeError, match="dense"):
        GANOverSampler(**FAST).fit_resample(scipy.sparse.csr_matrix(X), Y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_units": (16, 0)}, "hidden_units"),
        ({"epochs": 0}, "epochs"),
        ({"gp_weight": -1.0}, "gp_weight"),
        ({"column_transform": "vgm"}, "column_transform"),
    ],
)
def test_bad_parameters_are_clear_errors(params, match):
    with pytest.raises(ValueError, match=match):
        GANOverSampler(**params).fit_resample(X, Y)


# ------------------------------------------------------------- composition
def pipeline(classifier=None):
    return Pipeline(
        [
            ("gan", GANOverSampler(random_state=0, **FAST)),
            ("clf", classifier or LogisticRegression()),
        ]
    )


def test_pipeline_cross_val_score_roc_auc():
    scores = cross_val_score(
        pipeline(CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)),
        X,
        Y,
        scoring="roc_auc",
        cv=StratifiedKFold(3),
    )
    assert scores.shape == (3,) and np.all(np.isfinite(scores)) and scores.mean() > 0.6


def test_data_sets_of_other_sizes_share_one_compiled_training():
    """Folds and the refit on all rows (a grid, cross-validation) differ in size:
    their GANs of one architecture train in one compiled program (an XLA
    compilation takes seconds, more than the training)."""
    for n in (120, 200, 300):
        GANOverSampler(random_state=0, epochs=1, hidden_units=(12,)).fit_resample(X[:n], Y[:n])
    (gan,) = [gan for key, gan in _ConditionalWGAN._cache.items() if (12,) in dict(key).values()]
    assert gan._steps.experimental_get_tracing_count() == 1


def test_the_gans_optimizer_steps_as_keras_adam():
    """The GAN's own Adam (plain TensorFlow operations, quick to trace) moves its
    weights and moments exactly as keras.optimizers.Adam with the same settings."""
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)]
    ours = [keras.Variable(value) for value in start]
    theirs = [keras.Variable(value) for value in start]
    adam = _Adam(ours, 2e-3)
    reference = keras.optimizers.Adam(2e-3, beta_1=0.5, beta_2=0.9)
    for _ in range(5):
        gradients = [rng.normal(size=value.shape).astype(np.float32) for value in start]
        adam.apply([keras.ops.convert_to_tensor(g) for g in gradients])
        reference.apply([keras.ops.convert_to_tensor(g) for g in gradients], theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
    assert not np.allclose(ours[0].numpy(), start[0])
    assert int(adam.iterations.numpy()) == int(reference.iterations.numpy()) == 5
    adam.reset()
    assert int(adam.iterations.numpy()) == 0
    assert all(not moment.numpy().any() for moment in adam.moments)


def test_grid_search_over_sampling_strategy():
    search = GridSearchCV(
        pipeline(), {"gan__sampling_strategy": [0.5, 1.0]}, scoring="roc_auc", cv=2
    ).fit(X, Y)
    assert search.best_params_["gan__sampling_strategy"] in (0.5, 1.0)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_fitted_pipeline_saves_and_loads(tmp_path):
    fitted = pipeline(
        CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    ).fit(X, Y)
    path = os.path.join(tmp_path, "pipeline.imbnet")
    imbnet.save(fitted, path)
    loaded = imbnet.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    # The generator came back too: the same noise gives the same rows.
    np.testing.assert_array_equal(
        loaded.named_steps["gan"].redraw(3)[0], fitted.named_steps["gan"].redraw(3)[0]
    )


# ---------------------------------- ResampledKerasClassifier: fresh rows per epoch
class CountingGAN(GANOverSampler):
    """Records every fit_resample and redraw, across clones."""

    log = []

    def fit_resample(self, X, y, **params):
        X_res, y_res = super().fit_resample(X, y, **params)
        CountingGAN.log.append(("fit", X_res))
        return X_res, y_res

    def redraw(self, random_state=None):
        X_res, y_res = super().redraw(random_state)
        CountingGAN.log.append(("redraw", X_res))
        return X_res, y_res


def gan_classifier(**params):
    return ResampledKerasClassifier(
        build, sampler=CountingGAN(**FAST), epochs=4, random_state=0, **params
    )


def test_classifier_trains_the_gan_once_and_redraws_every_epoch():
    CountingGAN.log.clear()
    gan_classifier().fit(X, Y)
    assert [kind for kind, _ in CountingGAN.log] == ["fit", "redraw", "redraw", "redraw"]
    synthetic = [rows[len(X) :] for _, rows in CountingGAN.log]
    for earlier, later in zip(synthetic, synthetic[1:]):
        assert earlier.shape == later.shape and not np.allclose(earlier, later)


def test_classifier_with_resample_once_draws_once():
    CountingGAN.log.clear()
    gan_classifier(resample="once").fit(X, Y)
    assert [kind for kind, _ in CountingGAN.log] == ["fit"]


def test_classifier_with_gan_is_reproducible():
    first = gan_classifier().fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(gan_classifier().fit(X, Y).predict_proba(X), first)
