"""Scoring a class per time step: scikit-learn's metrics over all (row, step) entries.

scikit-learn's scorers take one class per row. Given a ``y`` of shape
(n_samples, n_steps) (:class:`imbnet.weighting._targets.SequenceTarget`) and
a classifier whose ``predict_proba`` returns scikit-learn's multi-output form
(a list of n_steps arrays), ``cross_val_score(..., scoring="roc_auc")``
fails inside the metric, and scikit-learn's ``error_score=np.nan`` turns that
into a NaN score. :func:`sequence_scorer` wraps any scorer so that it scores
the (row, step) entries as rows: the labels flattened, the probabilities of
every step stacked in the same order.

This module knows nothing of imbnet's estimators: it reads ``classes_``,
``predict``, ``predict_proba`` and ``predict_log_proba`` of whatever
classifier it is given.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import get_scorer

__all__ = ["sequence_scorer"]


def sequence_scorer(scoring):
    """A scorer of a class per time step: ``scoring`` over all (row, step) entries.

    Use it wherever scikit-learn takes a scorer (``cross_val_score``,
    ``cross_validate``, ``GridSearchCV``'s ``scoring``) for a classifier
    fitted on ``y`` of shape (n_samples, n_steps) (sequence labelling), whose
    ``predict_proba`` returns a list of n_steps arrays of shape
    (n_samples, n_classes) and ``predict`` an (n_samples, n_steps) array.
    Every (row, step) entry is scored as one sample: ``roc_auc`` of a binary
    target is the ROC AUC of all entries, ``f1`` the F1 of the positive class
    over all entries, ``balanced_accuracy`` the mean recall per class over all
    entries. A ``sample_weight`` of shape (n_samples,) weighs every step of
    its row, one of shape (n_samples, n_steps) each entry; entries of weight
    zero (padding) are left out.

    Parameters
    ----------
    scoring : str or callable
        A scorer name scikit-learn knows (``"roc_auc"``,
        ``"average_precision"``, ``"f1"``, ``"f1_macro"``,
        ``"balanced_accuracy"``, ``"roc_auc_ovr"``, ``"neg_log_loss"``, ...)
        or a scorer made by :func:`sklearn.metrics.make_scorer`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None) -> float``.

    Raises
    ------
    ValueError
        When called with a ``y`` that is not 2-D (one class per row: use
        ``scoring`` itself).

    Examples
    --------
    >>> import numpy as np
    >>> from imbnet import sequence_scorer
    >>> class Tagger:  # any classifier of a class per step
    ...     classes_ = np.array([0, 1])
    ...     def predict_proba(self, X):  # scikit-learn's multi-output form
    ...         return [np.c_[1 - X[:, t], X[:, t]] for t in range(X.shape[1])]
    ...     def predict(self, X):
    ...         return (X > 0.5).astype(int)
    >>> X = np.array([[0.9, 0.2], [0.4, 0.7], [0.1, 0.8]])
    >>> y = np.array([[1, 0], [0, 1], [0, 0]])
    >>> float(sequence_scorer("roc_auc")(Tagger(), X, y))
    0.875
    >>> float(sequence_scorer("f1")(Tagger(), X, y))
    0.8
    """
    scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
    if not callable(scorer):
        raise TypeError(
            f"scoring must be a scorer name or a scorer (sklearn.metrics.make_scorer), "
            f"got {type(scoring).__name__}."
        )
    return _StepScorer(scorer, scoring)


class _StepScorer:
    """``scorer`` applied to the (row, step) entries (see :func:`sequence_scorer`)."""

    def __init__(self, scorer, scoring):
        self.scorer = scorer
        self.scoring = scoring

    def __repr__(self):
        return f"sequence_scorer({self.scoring!r})"

    def __call__(self, estimator, X, y, sample_weight=None, **kwargs):
        y = np.asarray(y)
        if y.ndim != 2:
            raise ValueError(
                f"sequence_scorer scores a class per time step, y of shape (n_samples, "
                f"n_steps); got y of shape {y.shape}. For one class per row, pass the "
                f"scorer itself (scoring={self.scoring!r})."
            )
        keep = None
        if sample_weight is not None:
            weight = np.asarray(sample_weight, dtype=float)
            if weight.ndim == 1:
                weight = np.repeat(weight[:, None], y.shape[1], axis=1)
            if weight.shape != y.shape:
                raise ValueError(
                    f"sample_weight has shape {weight.shape}; give one weight per row "
                    f"({y.shape[0]},) or one per (row, step) entry {y.shape}."
                )
            keep = weight.ravel() > 0
            kwargs["sample_weight"] = weight.ravel()[keep]
        entries = _StepEntries(estimator, keep)
        return self.scorer(entries, X, _entries(y, keep), **kwargs)


def _entries(values, keep):
    """Row-major (row, step) entries of ``values`` (n_samples, n_steps, ...), kept ones."""
    values = np.asarray(values)
    flat = values.reshape((values.shape[0] * values.shape[1],) + values.shape[2:])
    return flat if keep is None else flat[keep]


class _StepEntries(ClassifierMixin, BaseEstimator):
    """A fitted classifier of a class per step, seen as a classifier of (row, step) entries."""

    def __init__(self, estimator=None, keep=None):
        self.estimator = estimator
        self.keep = keep

    @property
    def classes_(self):
        return self.estimator.classes_

    def __sklearn_is_fitted__(self):
        return True

    def predict(self, X):
        return _entries(self.estimator.predict(X), self.keep)

    def predict_proba(self, X):
        return _entries(_stacked(self.estimator.predict_proba(X)), self.keep)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


def _stacked(proba):
    """A list of n_steps arrays (n_samples, n_classes) as one (n_samples, n_steps, n_classes)."""
    if isinstance(proba, list):
        return np.stack([np.asarray(p) for p in proba], axis=1)
    proba = np.asarray(proba)
    if proba.ndim != 3:
        raise ValueError(
            "sequence_scorer needs predict_proba to give the probabilities of every step: "
            "a list of n_steps arrays (n_samples, n_classes) or one array (n_samples, "
            f"n_steps, n_classes); got an array of shape {proba.shape}."
        )
    return proba
