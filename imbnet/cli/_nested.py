"""One strategy's nested cross-validation as one batch of fits, networks side by side.

``imbnet compare`` scores a strategy on outer stratified folds. For two classes,
each outer fold's decision threshold is tuned by an inner stratified
cross-validation of that fold's training rows and the pipeline is then refitted
on all of them (scikit-learn's ``TunedThresholdClassifierCV``). Those are
``outer folds x (inner folds + 1)`` fits of one pipeline, on different rows.
Here they are handed at once to :func:`imbnet.model_selection.cross_validate`
as a list of (training rows, held-out rows) splits, so that a pipeline ending
in a :class:`imbnet.CostSensitiveMLPClassifier` trains all of them side by side
in one compiled program; any other pipeline is fitted split by split, as
before. The threshold is then chosen by ``TunedThresholdClassifierCV`` itself
over the models already fitted (:class:`Prefitted`): the same code, the same
inner folds, as if it had fitted them.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

__all__ = ["FitStore", "FoldPlan", "Prefitted", "corrected_by_weights", "fit_splits"]


class FoldPlan:
    """The outer folds and, per outer fold, the inner folds of its training rows.

    Parameters
    ----------
    outer : list of (train, test)
        Row positions of the outer folds.
    inner : list of list of (train, validation)
        Per outer fold, positions *within its training rows* (as
        ``TunedThresholdClassifierCV`` splits them); empty lists: no tuning.
    """

    def __init__(self, outer, inner):
        self.outer, self.inner = outer, inner

    @classmethod
    def make(cls, y, outer_cv, inner_cv=None):
        """The plan of ``outer_cv`` (and ``inner_cv`` inside each training fold) on ``y``."""
        zeros = np.zeros(len(y))
        outer = list(outer_cv.split(zeros, y))
        inner = [
            [] if inner_cv is None else list(inner_cv.split(zeros[train], y[train]))
            for train, _ in outer
        ]
        return cls(outer, inner)

    def splits(self):
        """Every fit's (training rows, held-out rows) in ``X``: per outer fold, its inner
        splits, then the refit on its training rows (held out: its test rows)."""
        found = []
        for (train, test), inner in zip(self.outer, self.inner):
            found += [(train[a], train[b]) for a, b in inner]
            found.append((train, test))
        return found


def _rows(labels):
    return np.asarray(labels, dtype=np.int64).tobytes()


class FitStore:
    """Fitted models by the rows they learned from (``X``'s row labels).

    One store is shared by every copy: ``clone`` deep-copies parameters, and a
    :class:`Prefitted` clone must find the same fits.
    """

    def __init__(self, fits=()):
        self._fits = {_rows(train): model for train, model in fits}

    def __deepcopy__(self, memo):
        return self

    def take(self, X):
        try:
            return self._fits[_rows(X.index)]
        except KeyError:
            raise RuntimeError("no model was fitted on these rows") from None


class Prefitted(ClassifierMixin, BaseEstimator):
    """A classifier whose ``fit`` takes the model already fitted on the same rows.

    Parameters
    ----------
    store : FitStore
    """

    def __init__(self, store=None):
        self.store = store

    def fit(self, X, y):
        """Take the model fitted on ``X``'s rows from the store."""
        self.model_ = self.store.take(X)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        """The fitted model's class probabilities."""
        return self.model_.predict_proba(X)

    def predict(self, X):
        """The fitted model's labels."""
        return self.model_.predict(X)


def trains_side_by_side(pipeline):
    """Whether imbnet.model_selection trains ``pipeline``'s fits side by side."""
    from imbnet.model_selection import side_by_side_reason

    return side_by_side_reason(pipeline) is None


def fit_splits(pipeline, X, y, splits, n_jobs=1):
    """``pipeline`` fitted on each split's training rows, in the order of ``splits``.

    A pipeline that trains side by side goes through
    :func:`imbnet.model_selection.cross_validate` (its scorer keeps each fitted
    model); any other is fitted split by split, ``n_jobs`` processes at a time
    (their warnings are raised again here, so that the caller counts them).
    """
    import warnings

    from joblib import Parallel, delayed

    from imbnet.model_selection import cross_validate

    held = [_rows(test) for _, test in splits]
    if trains_side_by_side(pipeline) and len(set(held)) == len(held):
        kept = {}

        def keep(estimator, X_held, y_held):
            # the fitted pipeline (cross_validate scores a wrapper holding it as fitted_)
            kept[_rows(X_held.index)] = getattr(estimator, "fitted_", estimator)
            return 0.0

        cross_validate(pipeline, X, y, cv=splits, scoring=keep, n_jobs=n_jobs, error_score="raise")
        if all(key in kept for key in held):  # scored in this process, as documented
            return [kept[key] for key in held]
    fitted = Parallel(n_jobs=n_jobs)(
        delayed(_fit_one)(pipeline, X, y, train) for train, _ in splits
    )
    for _, warned in fitted:
        for category, message in warned:
            warnings.warn(message, category, stacklevel=2)
    return [model for model, _ in fitted]


def _fit_one(pipeline, X, y, train):
    """A fresh copy of ``pipeline`` fitted on rows ``train`` (in worker processes too),
    and the warnings the fit raised."""
    import warnings

    from sklearn.base import clone
    from threadpoolctl import threadpool_limits

    from ._tf_logging import import_keras_quietly

    if type(pipeline.steps[-1][1]).__module__.startswith("imbnet"):
        import_keras_quietly()  # a network: Keras without its start-up log
    # One OpenMP thread (HistGradientBoosting): on a busy machine its threads spin
    # waiting for each other, measured 40 s per fit against 1-2 s with one thread.
    with threadpool_limits(1, user_api="openmp"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = clone(pipeline).fit(X.iloc[train], y[train])
    return model, [(w.category, str(w.message)) for w in caught]


def corrected_by_weights(proba, classes, class_weight, y_train):
    """``proba`` of a network trained with ``class_weight`` mapped back to the data's prior.

    A log-loss network trained with class weights ``w`` learns the class mix
    ``π_c w_c`` (normalised); Bayes' rule maps its probabilities back by
    ``p_c / w_c``, renormalised: what the classifier's ``prior_correction=True``
    gives (a test holds this), for fits that trained side by side.
    """
    from imbnet import compute_class_weight

    if class_weight is None:
        return np.asarray(proba)
    weights = compute_class_weight(class_weight, classes=np.asarray(classes), y=y_train)
    w = np.array([weights[c] for c in classes], dtype=np.float64)
    shifted = np.asarray(proba, dtype=np.float64) / w
    return shifted / shifted.sum(axis=1, keepdims=True)
