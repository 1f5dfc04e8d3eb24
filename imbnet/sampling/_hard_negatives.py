"""Hard-negative mining: under-sampling that favours the majority rows the model gets wrong.

This module knows nothing of estimators. :class:`HardNegativeSampler` is a
sampler with ``fit_resample``, like imbalanced-learn's; what makes it mine
hard negatives is the ``sample_loss`` its ``fit_resample`` takes: the current
loss of every row. :class:`imbnet.ResampledKerasClassifier` passes it before
every epoch but the first (any sampler whose ``fit_resample`` takes a
``sample_loss`` argument gets it).
"""

from numbers import Real

import numpy as np
from imblearn.under_sampling.base import BaseUnderSampler
from sklearn.utils import check_random_state

from .._compat import Interval

__all__ = ["HardNegativeSampler"]


class HardNegativeSampler(BaseUnderSampler):
    """Under-sample the majority class(es), drawing the hardest rows most often.

    An imbalanced-learn under-sampler: ``sampling_strategy`` says how many
    rows of each class to keep, exactly as for
    :class:`imblearn.under_sampling.RandomUnderSampler` (a float is the
    minority/majority ratio after resampling; "auto" equalises the classes).
    What differs is which rows of an under-sampled class are kept: each is
    drawn, without replacement, with probability proportional to

        floor / n_c + (1 - floor) * loss ** power / sum(loss ** power)

    from ``sample_loss``, the current loss of every row that its
    ``fit_resample`` takes. The rows the model currently gets most wrong
    (the hard negatives: its false positives) are seen most, while ``floor``
    keeps every easy row in the draw now and then. Without ``sample_loss``
    (the first epoch, before the model has learnt anything) the draw is
    uniform, as ``RandomUnderSampler`` draws.

    Use it as the ``sampler`` of :class:`imbnet.ResampledKerasClassifier`
    (with ``resample="epoch"``, the default), which computes every row's loss
    under the current model before each epoch (one forward pass over the
    training rows) and passes it as ``sample_loss``. Its parameters tune as
    ``sampler__sampling_strategy``, ``sampler__power``, ``sampler__floor``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As in imbalanced-learn's under-samplers.
    power : float >= 0, default=1.0
        How strongly the draw favours high-loss rows; 0 draws uniformly.
    floor : float in [0, 1], default=0.1
        Share of the draw spread evenly over a class's rows, so easy ones are
        still seen; 1 draws uniformly.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw. :class:`imbnet.ResampledKerasClassifier` replaces it
        with a seed derived from its own ``random_state`` for every epoch.

    Attributes
    ----------
    sampling_strategy_ : dict
        Rows kept of each under-sampled class.
    sample_indices_ : ndarray of int
        Rows of the input that ``fit_resample`` returned, in order.

    Examples
    --------
    >>> import numpy as np
    >>> from imbnet import HardNegativeSampler
    >>> X, y = np.arange(12).reshape(-1, 1), np.array([0] * 10 + [1] * 2)
    >>> loss = np.r_[np.zeros(8), 5.0, 5.0, 0.1, 0.1]   # rows 8 and 9 are hard
    >>> sampler = HardNegativeSampler(floor=0.0, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y, sample_loss=loss)
    >>> sampler.sample_indices_
    array([ 8,  9, 10, 11])
    """

    _parameter_constraints: dict = {
        **BaseUnderSampler._parameter_constraints,
        "power": [Interval(Real, 0, None, closed="left")],
        "floor": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, sampling_strategy="auto", power=1.0, floor=0.1, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.power = power
        self.floor = floor
        self.random_state = random_state

    def fit_resample(self, X, y, sample_loss=None):
        """Keep the rows of the classes not under-sampled; draw the others.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (not a multilabel matrix).
        sample_loss : array-like of shape (n_samples,), default=None
            Current loss of each row; None draws uniformly.

        Returns
        -------
        X_resampled, y_resampled : ndarrays
        """
        if np.ndim(y) != 1:
            raise ValueError(
                "HardNegativeSampler resamples 1-D class labels; y has shape "
                f"{np.shape(y)} (a multilabel target has no majority class to mine)."
            )
        if sample_loss is not None:
            sample_loss = np.asarray(sample_loss, dtype=np.float64)
            if sample_loss.shape != (np.shape(y)[0],):
                raise ValueError(
                    f"sample_loss must hold one loss per row, shape ({np.shape(y)[0]},); "
                    f"got shape {sample_loss.shape}."
                )
            if not np.all(np.isfinite(sample_loss)) or np.any(sample_loss < 0):
                raise ValueError("sample_loss must be finite and non-negative.")
        return super().fit_resample(X, y, sample_loss=sample_loss)

    def _fit_resample(self, X, y, sample_loss=None):
        rng = check_random_state(self.random_state)
        kept = []
        for label in np.unique(y):
            rows = np.flatnonzero(y == label)
            if label in self.sampling_strategy_:
                n_draw = min(rows.shape[0], self.sampling_strategy_[label])
                probability = self._draw_probability(rows, sample_loss)
                rows = rng.choice(rows, size=n_draw, replace=False, p=probability)
            kept.append(rows)
        self.sample_indices_ = np.sort(np.concatenate(kept))
        return X[self.sample_indices_], y[self.sample_indices_]

    def _draw_probability(self, rows, sample_loss):
        uniform = np.full(rows.shape[0], 1.0 / rows.shape[0])
        if sample_loss is None:
            return uniform
        hardness = sample_loss[rows] ** self.power
        total = hardness.sum()
        if total <= 0:
            return uniform
        probability = self.floor * uniform + (1.0 - self.floor) * hardness / total
        return probability / probability.sum()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags
