"""Later draws of a per-epoch random sampler (imbnet.sampling._row_draws.row_plan): the
class counts the sampler resolved, a fresh random choice of rows."""

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.under_sampling import NearMiss, RandomUnderSampler

from imbnet.sampling._row_draws import row_plan

Y = np.repeat([0, 1, 2], [60, 25, 5])
X = np.random.default_rng(0).normal(size=(Y.size, 3))


def _fitted(sampler):
    sampler.fit_resample(X, Y)
    return sampler


def _draws(sampler, n=20):
    draw = row_plan(sampler, Y, sampler.sample_indices_)
    assert draw is not None
    return [draw(np.random.default_rng(seed)) for seed in range(n)]


def test_under_sampling_keeps_the_resolved_counts_and_redraws_the_rows():
    sampler = _fitted(RandomUnderSampler(sampling_strategy={0: 10, 1: 7}, random_state=0))
    draws = _draws(sampler)
    for rows in draws:
        assert np.bincount(Y[rows]).tolist() == [10, 7, 5]
        assert len(np.unique(rows)) == len(rows)
        assert set(rows[Y[rows] == 2]) == set(np.flatnonzero(Y == 2))  # not resampled
    seen = np.unique(np.concatenate(draws))
    assert np.all(np.isin(np.flatnonzero(Y == 0), seen))  # 20 draws cover the class
    assert len({tuple(np.sort(rows)) for rows in draws}) == len(draws)


def test_under_sampling_with_replacement_draws_with_replacement():
    sampler = _fitted(RandomUnderSampler(replacement=True, random_state=0))
    draws = _draws(sampler)
    assert all(np.bincount(Y[rows]).tolist() == [5, 5, 5] for rows in draws)
    assert any(len(np.unique(rows)) < len(rows) for rows in draws)


def test_over_sampling_keeps_every_row_and_adds_the_resolved_count():
    sampler = _fitted(RandomOverSampler(random_state=0))
    for rows in _draws(sampler):
        assert np.bincount(Y[rows]).tolist() == [60, 60, 60]
        np.testing.assert_array_equal(rows[: Y.size], np.arange(Y.size))


@pytest.mark.parametrize(
    "sampler",
    [
        RandomOverSampler(shrinkage=0.5, random_state=0),  # makes new rows
        NearMiss(),  # chooses rows by their features
        SMOTE(k_neighbors=3, random_state=0),
    ],
    ids=["smoothed bootstrap", "NearMiss", "SMOTE"],
)
def test_other_samplers_draw_themselves(sampler):
    sampler.fit_resample(X, Y)
    rows = getattr(sampler, "sample_indices_", np.arange(Y.size))
    assert row_plan(sampler, Y, rows) is None


def test_a_subclass_or_other_counts_draw_themselves():
    class Mine(RandomUnderSampler):
        pass

    mine = _fitted(Mine(random_state=0))
    assert row_plan(mine, Y, mine.sample_indices_) is None
    sampler = _fitted(RandomUnderSampler(random_state=0))
    assert row_plan(sampler, Y, sampler.sample_indices_[1:]) is None
