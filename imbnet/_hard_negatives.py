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
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

__all__ = ["HardNegativeSampler", "row_log_loss"]


class HardNegativeSampler(BaseEstimator):
    """Keep every minority row; draw majority rows, the hardest most often.

    Each call of ``fit_resample`` keeps all rows of every class but the most
    frequent one (the "negatives") and draws ``ratio`` negatives per kept row,
    without replacement. A negative's chance of being drawn rises with its
    current loss: it is drawn with probability proportional to

        floor / n_negatives + (1 - floor) * loss ** power / sum(loss ** power)

    so the negatives the model currently gets most wrong (its false
    positives) are seen most, while ``floor`` keeps every easy negative in the
    draw now and then. Without ``sample_loss`` (the first epoch, before the
    model has learnt anything) the draw is uniform, as
    ``RandomUnderSampler(sampling_strategy=1 / ratio)`` draws.

    Use it as the ``sampler`` of :class:`imbnet.ResampledKerasClassifier`
    (with ``resample="epoch"``, the default), which computes every row's loss
    under the current model before each epoch (one forward pass over the
    training rows) and passes it as ``sample_loss``. Its parameters tune as
    ``sampler__ratio``, ``sampler__power``, ``sampler__floor``.

    Parameters
    ----------
    ratio : float > 0, default=1.0
        Negatives drawn per kept (minority) row; all negatives if there are
        fewer.
    power : float >= 0, default=1.0
        How strongly the draw favours high-loss negatives; 0 draws uniformly.
    floor : float in [0, 1], default=0.1
        Share of the draw spread evenly over all negatives, so easy ones are
        still seen; 1 draws uniformly.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw. :class:`imbnet.ResampledKerasClassifier` replaces it
        with a seed derived from its own ``random_state`` for every epoch.

    Attributes
    ----------
    sample_indices_ : ndarray of int
        Rows of the input that ``fit_resample`` returned, in order.

    Examples
    --------
    >>> import numpy as np
    >>> from imbnet import HardNegativeSampler
    >>> X, y = np.arange(12).reshape(-1, 1), np.array([0] * 10 + [1] * 2)
    >>> loss = np.r_[np.zeros(8), 5.0, 5.0, 0.1, 0.1]   # rows 8 and 9 are hard
    >>> sampler = HardNegativeSampler(ratio=1, floor=0.0, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y, sample_loss=loss)
    >>> sampler.sample_indices_
    array([ 8,  9, 10, 11])
    """

    _parameter_constraints: dict = {
        "ratio": [Interval(Real, 0, None, closed="neither")],
        "power": [Interval(Real, 0, None, closed="left")],
        "floor": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, ratio=1.0, *, power=1.0, floor=0.1, random_state=None):
        self.ratio = ratio
        self.power = power
        self.floor = floor
        self.random_state = random_state

    def fit_resample(self, X, y, sample_loss=None):
        """Keep the minority rows and draw the negatives.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (not a multilabel matrix).
        sample_loss : array-like of shape (n_samples,), default=None
            Current loss of each row (only the negatives' are read); None
            draws uniformly.

        Returns
        -------
        X_resampled, y_resampled : ndarrays
        """
        self._validate_params()
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(
                "HardNegativeSampler resamples 1-D class labels; y has shape "
                f"{y.shape} (a multilabel target has no majority class to mine)."
            )
        labels, y_encoded, counts = np.unique(y, return_inverse=True, return_counts=True)
        if labels.shape[0] < 2:
            raise ValueError("HardNegativeSampler needs at least two classes in y.")
        negatives = np.flatnonzero(y_encoded == np.argmax(counts))
        kept = np.flatnonzero(y_encoded != np.argmax(counts))
        n_draw = min(negatives.shape[0], max(1, int(round(self.ratio * kept.shape[0]))))
        probability = self._draw_probability(negatives, sample_loss, y.shape[0])
        rng = check_random_state(self.random_state)
        drawn = rng.choice(negatives, size=n_draw, replace=False, p=probability)
        self.sample_indices_ = np.sort(np.concatenate([kept, drawn]))
        return np.asarray(X)[self.sample_indices_], y[self.sample_indices_]

    def _draw_probability(self, negatives, sample_loss, n_samples):
        uniform = np.full(negatives.shape[0], 1.0 / negatives.shape[0])
        if sample_loss is None:
            return uniform
        sample_loss = np.asarray(sample_loss, dtype=np.float64)
        if sample_loss.shape != (n_samples,):
            raise ValueError(
                f"sample_loss must hold one loss per row, shape ({n_samples},); "
                f"got shape {sample_loss.shape}."
            )
        loss = sample_loss[negatives]
        if not np.all(np.isfinite(loss)) or np.any(loss < 0):
            raise ValueError("sample_loss must be finite and non-negative.")
        hardness = loss**self.power
        total = hardness.sum()
        if total <= 0:
            return uniform
        probability = self.floor * uniform + (1.0 - self.floor) * hardness / total
        return probability / probability.sum()


def row_log_loss(proba, y_encoded):
    """Each row's cross-entropy ``-log p(y_i | x_i)`` from class probabilities."""
    rows = np.arange(y_encoded.shape[0])
    return -np.log(np.clip(proba[rows, y_encoded], 1e-12, 1.0))
