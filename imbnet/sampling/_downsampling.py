"""Negative down-sampling: every minority row, a random fraction of the majority.

This module knows nothing of estimators. :class:`NegativeDownsampler` is an
imbalanced-learn under-sampler whose draw is one independent coin flip per
row: a row of a down-sampled class is kept with that class's probability
(:meth:`NegativeDownsampler.keep_rates`), every other row is kept. Because
no row's fate depends on another's, the same draw runs on any piece of the
data on its own, which is what lets :mod:`imbnet.data._dask` draw it partition
by partition on a cluster (:func:`keep_mask`).
"""

from numbers import Real

import numpy as np
from imblearn.under_sampling.base import BaseUnderSampler
from sklearn.utils import check_random_state

from .._compat import Interval, StrOptions

__all__ = ["NegativeDownsampler", "keep_mask"]

_CLASS_CHOICES = ("majority", "not minority", "not majority", "all", "auto")


class NegativeDownsampler(BaseUnderSampler):
    """Keep every row of the minority classes and a random fraction of the majority.

    Negative down-sampling as large click and fraud models are trained (He et
    al., 2014, "Practical lessons from predicting clicks on ads at
    Facebook"): each row of a down-sampled class is kept independently with
    probability ``rate``, so the kept share of the class is ``rate`` in
    expectation and the draw needs no pass over the other rows. With
    :class:`imbnet.ResampledKerasClassifier` it is redrawn every epoch (over
    the epochs the network sees most of the majority), and with
    ``prior_correction=True`` the predicted probabilities are mapped back to
    the real base rate, ``p = p' / (p' + (1 - p') / rate)`` for a binary
    target. It is the sampler that works out of core: on a Dask collection
    each partition is down-sampled on the cluster (see the README).

    Parameters
    ----------
    rate : float in (0, 1] or None, default=0.1
        Probability of keeping each row of the classes ``sampling_strategy``
        names. None when ``sampling_strategy`` gives the sizes itself.
    sampling_strategy : str, float or dict, default="majority"
        Which classes are down-sampled, and how far:

        - "majority" (the most frequent class), "not minority", "not
          majority", "all" or "auto" (= "not minority"), as in
          imbalanced-learn: those classes keep a fraction ``rate``.
        - float: the minority/majority ratio wanted after down-sampling
          (binary targets, as in imbalanced-learn); the majority keeps each
          row with probability ``n_minority / (ratio * n_majority)``.
          Needs ``rate=None``.
        - dict ``{label: n_rows}``: the expected number of rows kept of each
          listed class. Needs ``rate=None``.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw. :class:`imbnet.ResampledKerasClassifier` replaces it
        with a seed derived from its own ``random_state`` for every epoch.

    Attributes
    ----------
    sampling_strategy_ : dict
        imbalanced-learn's target size of each under-sampled class.
    keep_rates_ : dict
        ``{label: probability of keeping a row}`` of every class.
    sample_indices_ : ndarray of int
        Rows of the input that ``fit_resample`` returned, in order.

    Notes
    -----
    The number of rows kept varies from draw to draw (it is binomial); at
    least one row of each class is kept in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from imbnet import NegativeDownsampler
    >>> X, y = np.arange(2000).reshape(-1, 1), np.r_[np.zeros(1980), np.ones(20)]
    >>> sampler = NegativeDownsampler(rate=0.1, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> int((y_res == 1).sum()), 150 < int((y_res == 0).sum()) < 250
    (20, True)
    >>> sampler.keep_rates_
    {0.0: 0.1, 1.0: 1.0}
    """

    _parameter_constraints: dict = {
        "rate": [None, Interval(Real, 0, 1, closed="right")],
        "sampling_strategy": [
            Interval(Real, 0, 1, closed="right"),
            StrOptions(set(_CLASS_CHOICES)),
            dict,
        ],
        "random_state": ["random_state"],
    }

    def __init__(self, rate=0.1, *, sampling_strategy="majority", random_state=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.rate = rate
        self.random_state = random_state

    def keep_rates(self, class_counts):
        """The probability of keeping a row of each class, from the class sizes.

        Parameters
        ----------
        class_counts : dict
            ``{label: number of rows}`` of every class.

        Returns
        -------
        dict
            ``{label: probability in (0, 1]}``.
        """
        self._validate_params()
        strategy, rate = self.sampling_strategy, self.rate
        counts = {label: int(n) for label, n in class_counts.items()}
        if isinstance(strategy, str):
            if rate is None:
                raise ValueError(
                    f"sampling_strategy={strategy!r} names the classes to down-sample; "
                    "rate says how much of them to keep: set rate (e.g. 0.1)."
                )
            return {
                label: float(rate) if label in _chosen(strategy, counts) else 1.0
                for label in counts
            }
        if rate is not None:
            raise ValueError(
                f"sampling_strategy={strategy!r} sets the sizes to keep, rate={rate!r} "
                "a fraction: set one of them, e.g. rate=None."
            )
        if isinstance(strategy, dict):
            unknown = set(strategy) - set(counts)
            if unknown:
                raise ValueError(
                    f"sampling_strategy has classes not in y: {sorted(unknown, key=str)}; "
                    f"the classes are {sorted(counts, key=str)}."
                )
            wanted = strategy
        else:
            if len(counts) != 2:
                raise ValueError(
                    "a float sampling_strategy (a minority/majority ratio) is for binary "
                    "targets; give a dict {label: n_rows} or a rate for multiclass y."
                )
            minority, majority = sorted(counts, key=counts.get)
            wanted = {majority: counts[minority] / strategy}
        return {
            label: min(1.0, wanted[label] / n) if label in wanted and n else 1.0
            for label, n in counts.items()
        }

    def _fit_resample(self, X, y):
        labels, counts = np.unique(y, return_counts=True)
        self.keep_rates_ = self.keep_rates(dict(zip(labels.tolist(), counts.tolist())))
        uniforms = check_random_state(self.random_state).random_sample(y.shape[0])
        kept = keep_mask(y, self.keep_rates_, uniforms)
        for label in labels:  # at least one row of every class
            rows = y == label
            if not kept[rows].any():
                kept[np.flatnonzero(rows)[np.argmin(uniforms[rows])]] = True
        self.sample_indices_ = np.flatnonzero(kept)
        return X[self.sample_indices_], y[self.sample_indices_]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags


def keep_mask(y, rates, uniforms):
    """Which rows a down-sampling draw keeps.

    Parameters
    ----------
    y : ndarray of shape (n_rows,)
        Labels (or label codes) of the rows.
    rates : dict
        ``{label: probability of keeping a row}``; missing labels keep all rows.
    uniforms : ndarray of shape (n_rows,)
        One uniform draw in [0, 1) per row.

    Returns
    -------
    ndarray of bool
    """
    probability = np.ones(y.shape[0])
    for label, rate in rates.items():
        probability[y == label] = rate
    return uniforms < probability


def _chosen(strategy, counts):
    """The classes a string ``sampling_strategy`` names."""
    most, least = max(counts.values()), min(counts.values())
    if strategy == "majority":
        return {label for label, n in counts.items() if n == most}
    if strategy in ("not minority", "auto"):
        return {label for label, n in counts.items() if n != least}
    if strategy == "not majority":
        return {label for label, n in counts.items() if n != most}
    return set(counts)
