"""Hard-negative mining: HardNegativeSampler, alone and inside ResampledKerasClassifier."""

import numpy as np
import pytest
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from imbnet import HardNegativeSampler, ResampledKerasClassifier

X, Y = make_classification(
    n_samples=600,
    n_features=4,
    n_informative=3,
    n_redundant=0,
    weights=[0.9],
    flip_y=0,
    random_state=0,
)
N_POS = int(Y.sum())


from _networks import build  # noqa: E402


# ------------------------------------------------------------------ the sampler
def test_keeps_every_minority_row_and_draws_as_many_negatives_as_imblearn():
    sampler = HardNegativeSampler(sampling_strategy=1 / 2.5, random_state=0)
    X_res, y_res = sampler.fit_resample(X, Y, sample_loss=np.ones(len(Y)))
    kept = sampler.sample_indices_
    assert np.all(np.diff(kept) > 0)  # sorted, no repeats
    assert set(np.flatnonzero(Y == 1)) <= set(kept)
    _, y_random = RandomUnderSampler(sampling_strategy=1 / 2.5).fit_resample(X, Y)
    assert np.count_nonzero(y_res == 0) == np.count_nonzero(y_random == 0) == int(2.5 * N_POS)
    np.testing.assert_array_equal(X_res, X[kept])
    np.testing.assert_array_equal(y_res, Y[kept])


def test_draws_the_high_loss_negatives_most_often():
    rng = np.random.default_rng(0)
    loss = rng.exponential(size=len(Y))
    negatives = np.flatnonzero(Y == 0)
    hard = negatives[loss[negatives] > np.quantile(loss[negatives], 0.9)]
    easy = negatives[loss[negatives] < np.quantile(loss[negatives], 0.1)]
    drawn = np.zeros(len(Y))
    for seed in range(50):
        sampler = HardNegativeSampler(power=2, floor=0.1, random_state=seed)
        sampler.fit_resample(X, Y, sample_loss=loss)
        drawn[sampler.sample_indices_] += 1
    assert drawn[hard].mean() > 5 * drawn[easy].mean()
    # The floor keeps easy negatives in the draw.
    assert drawn[easy].sum() > 0


def test_floor_zero_never_draws_a_zero_loss_negative_and_no_loss_is_uniform():
    loss = np.where(np.arange(len(Y)) % 2 == 0, 1.0, 0.0)
    sampler = HardNegativeSampler(floor=0.0, random_state=0)
    sampler.fit_resample(X, Y, sample_loss=loss)
    drawn = sampler.sample_indices_[Y[sampler.sample_indices_] == 0]
    assert np.all(loss[drawn] == 1.0)
    # Without losses every negative has the same chance (here: about half are even rows).
    counts = np.zeros(len(Y))
    for seed in range(40):
        sampler = HardNegativeSampler(floor=0.0, random_state=seed)
        sampler.fit_resample(X, Y)
        counts[sampler.sample_indices_] += 1
    even_share = counts[(Y == 0) & (loss == 1.0)].sum() / counts[Y == 0].sum()
    assert 0.4 < even_share < 0.6


def test_same_random_state_same_draw():
    loss = np.random.default_rng(1).exponential(size=len(Y))
    draws = [
        HardNegativeSampler(random_state=seed).fit_resample(X, Y, sample_loss=loss)[0]
        for seed in (3, 3, 4)
    ]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[0], draws[2])


@pytest.mark.parametrize(
    "sampler, y, loss, error, message",
    [
        (HardNegativeSampler(), np.column_stack([Y, Y]), None, ValueError, "1-D class labels"),
        (HardNegativeSampler(), Y, np.ones(5), ValueError, "one loss per row"),
        (HardNegativeSampler(), Y, -np.ones(len(Y)), ValueError, "non-negative"),
        (HardNegativeSampler(sampling_strategy=0.0), Y, None, ValueError, "sampling_strategy"),
        (HardNegativeSampler(floor=2), Y, None, ValueError, "floor"),
    ],
)
def test_bad_input_is_a_clear_error(sampler, y, loss, error, message):
    with pytest.raises(error, match=message):
        sampler.fit_resample(X, y, sample_loss=loss)


# ------------------------------------------------------- inside the estimator
class RecordingSampler(HardNegativeSampler):
    """Records the sample_loss each epoch's draw receives."""

    received = []

    def fit_resample(self, X, y, sample_loss=None):
        RecordingSampler.received.append(None if sample_loss is None else sample_loss.copy())
        return super().fit_resample(X, y, sample_loss=sample_loss)


def test_estimator_feeds_the_current_per_row_loss_before_each_epoch():
    RecordingSampler.received = []
    clf = ResampledKerasClassifier(
        build, sampler=RecordingSampler(sampling_strategy=0.5), epochs=4, random_state=0
    ).fit(X, Y)
    received = RecordingSampler.received
    assert len(received) == 4 and received[0] is None  # the first epoch draws uniformly
    for loss in received[1:]:
        assert loss.shape == (len(Y),) and np.all(np.isfinite(loss)) and np.all(loss >= 0)
    assert not np.allclose(received[1], received[3])  # the model learnt in between
    # The loss is each row's cross-entropy under the model: here, the final one.
    proba = clf.predict_proba(X)
    assert np.all(received[3] > 0)
    assert np.corrcoef(received[3], -np.log(proba[np.arange(len(Y)), Y]))[0, 1] > 0.9
    # The network trained on 2 negatives per positive.
    np.testing.assert_allclose(clf.training_prior_, [2 / 3, 1 / 3], rtol=1e-6)


def test_estimator_is_reproducible_and_clones_for_grid_search():
    clf = ResampledKerasClassifier(
        build, sampler=HardNegativeSampler(sampling_strategy=0.5), epochs=3, random_state=0
    )
    first = clone(clf).fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(clone(clf).fit(X, Y).predict_proba(X), first)
    search = GridSearchCV(
        clf, {"sampler__sampling_strategy": [1.0, 0.5]}, scoring="roc_auc", cv=2
    ).fit(X, Y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.sampler.sampling_strategy in (1.0, 0.5)


def test_needs_a_fresh_draw_every_epoch():
    clf = ResampledKerasClassifier(build, sampler=HardNegativeSampler(), resample="once", epochs=1)
    with pytest.raises(ValueError, match="resample='epoch'"):
        clf.fit(X, Y)


def test_model_fit_path_mines_too(monkeypatch):
    """On other backends (model.fit on a PyDataset) the sampler gets the losses too."""
    monkeypatch.setattr("imbnet.engine._loop.keras.backend.backend", lambda: "jax")
    RecordingSampler.received = []
    clf = ResampledKerasClassifier(
        build, sampler=RecordingSampler(sampling_strategy=0.5), epochs=3, random_state=0
    ).fit(X, Y)
    assert clf.n_iter_ == 3 and RecordingSampler.received[0] is None
    # Keras's data pipeline may ask for epochs beyond the last one: not counted in the prior.
    assert len(RecordingSampler.received) >= 3
    assert all(loss.shape == (len(Y),) for loss in RecordingSampler.received[1:])
    np.testing.assert_allclose(clf.training_prior_, [2 / 3, 1 / 3], rtol=1e-6)
