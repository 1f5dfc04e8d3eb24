"""Random draws of rows by index, for epoch sources that redraw every epoch.

- :func:`row_plan`: later draws of a fitted imbalanced-learn
  ``RandomUnderSampler`` / ``RandomOverSampler`` (the class counts it resolved,
  a fresh random choice of rows), without a ``fit_resample`` per draw;
- :func:`member_plan`: that plan for an ensemble's members, fitted on a fit's data;
- :func:`random_subsets`: many random subsets of one size at once.

This module knows nothing of estimators.
"""

import numpy as np

from ._samplers import seeded_clone

__all__ = ["has_plan", "member_plan", "random_subsets", "row_plan"]

_FLOYD_SIZE = 64  # subsets up to this size: vectorised Floyd; larger: one NumPy call each


def row_plan(sampler, y, rows):
    """``draw(rng) -> rows`` drawing as fitted ``sampler`` did, or None.

    For imbalanced-learn's ``RandomUnderSampler`` and ``RandomOverSampler``
    (exactly these; the latter without ``shrinkage``), whose draw depends on
    ``y`` and the per-class counts they resolved (``sampling_strategy_``)
    only: every class keeps its count, under-sampled classes a new random
    subset of their rows (with replacement if the sampler draws so),
    over-sampled ones all their rows and as many extra rows drawn at random as
    the sampler added. ``rows`` (the sampler's own ``sample_indices_``) must
    hold exactly those counts, else None.

    Examples
    --------
    >>> import numpy as np
    >>> from imblearn.under_sampling import RandomUnderSampler
    >>> y = np.array([0] * 8 + [1] * 2)
    >>> sampler = RandomUnderSampler(random_state=0).fit(np.zeros((10, 1)), y)
    >>> _ = sampler.fit_resample(np.zeros((10, 1)), y)
    >>> draw = row_plan(sampler, y, sampler.sample_indices_)
    >>> np.bincount(y[draw(np.random.default_rng(1))])
    array([2, 2])
    """
    from imblearn.under_sampling import RandomUnderSampler

    strategy = getattr(sampler, "sampling_strategy_", None)
    if strategy is None or not has_plan(sampler):
        return None
    by_class = [(c, np.flatnonzero(y == c)) for c in np.unique(y)]
    if type(sampler) is RandomUnderSampler:
        replace = bool(sampler.replacement)

        def draw(rng):
            return np.concatenate(
                [_under(rng, members, strategy.get(c), replace) for c, members in by_class]
            )

        expected = {c: strategy.get(c, members.size) for c, members in by_class}
    else:  # RandomOverSampler without shrinkage

        def draw(rng):
            extra = [
                members[rng.integers(0, members.size, strategy[c])]
                for c, members in by_class
                if strategy.get(c, 0) > 0
            ]
            return np.concatenate([np.arange(y.shape[0]), *extra])

        expected = {c: members.size + strategy.get(c, 0) for c, members in by_class}
    counts = dict(zip(*np.unique(y[rows], return_counts=True)))
    if any(counts.get(c, 0) != n for c, n in expected.items()):
        return None
    return draw


def has_plan(sampler):
    """Whether :func:`row_plan` can draw for ``sampler``: exactly imbalanced-learn's
    ``RandomUnderSampler``, or its ``RandomOverSampler`` without ``shrinkage``."""
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler

    return type(sampler) is RandomUnderSampler or (
        type(sampler) is RandomOverSampler and sampler.shrinkage is None
    )


def member_plan(sampler, data):
    """:func:`row_plan` of ``sampler`` fitted on ``data`` (its first draw), or None when
    it has none or the rows of ``data.X`` are not features it can read."""
    X = data.X
    if not has_plan(sampler) or not isinstance(X, np.ndarray) or X.dtype.kind in "OUS":
        return None
    fitted = seeded_clone(sampler, data.seeds.seed_for("member0-epoch0"))
    fitted.fit_resample(X.reshape(len(X), -1), data.y)
    return row_plan(fitted, data.y, fitted.sample_indices_)


def _under(rng, members, n, replace):
    """``n`` of ``members`` at random (all of them when ``n`` is None)."""
    if n is None:
        return members
    if replace:
        return members[rng.integers(0, members.size, n)]
    return members[random_subsets(rng, members.size, n, 1)[0]]


def random_subsets(rng, n, size, count):
    """``count`` random subsets of ``size`` of ``range(n)``: shape (count, size), in no
    particular order, each subset equally likely (without replacement).

    A small ``size`` (an under-sample of a rare class's size) takes Floyd's
    algorithm, vectorised over the subsets: ``size`` NumPy steps for all of
    them, whatever ``n``. A larger one draws each subset with ``rng.choice``,
    whose per-call overhead is then small against the work.

    Examples
    --------
    >>> import numpy as np
    >>> subsets = random_subsets(np.random.default_rng(0), 1000, 5, count=3)
    >>> subsets.shape, all(len(set(s)) == 5 for s in subsets)
    ((3, 5), True)
    """
    if size >= n:
        return np.broadcast_to(np.arange(n), (count, n))
    if size > _FLOYD_SIZE:
        return np.stack([rng.choice(n, size, replace=False) for _ in range(count)])
    chosen = np.empty((count, size), np.int64)
    for i, top in enumerate(range(n - size, n)):
        pick = rng.integers(0, top + 1, size=count)
        taken = (chosen[:, :i] == pick[:, None]).any(axis=1)
        chosen[:, i] = np.where(taken, top, pick)
    return chosen
