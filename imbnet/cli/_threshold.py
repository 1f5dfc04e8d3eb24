"""The decision threshold of one outer fold, chosen as ``TunedThresholdClassifierCV`` does.

scikit-learn's ``TunedThresholdClassifierCV`` scores each inner fit's
validation rows at 100 thresholds, calling the objective's metric once per
threshold (each call validates its inputs: about 7 ms, so 1,500 calls per
strategy and most of a side-by-side strategy's time in ``imbnet compare``).
:func:`tune_threshold` takes the inner fits already trained and computes the
same curve from the confusion counts at every threshold at once, for the
objectives ``compare`` offers (F1, balanced accuracy, recall at precision,
precision at recall, cost); any other metric is called per threshold, as
scikit-learn does. The thresholds, the interpolation onto a common grid and
the choice (the first best) are scikit-learn's; a test holds that the chosen
thresholds are the same.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

__all__ = ["Thresholded", "tune_threshold"]

N_THRESHOLDS = 100  # TunedThresholdClassifierCV's default


def _positive_column(classes, pos_label):
    """The ``predict_proba`` column scikit-learn thresholds (``pos_label``, else the last)."""
    classes = np.asarray(classes)
    if pos_label is None:
        return len(classes) - 1
    return int(np.flatnonzero(classes == pos_label)[0])


def _labels(y_score, threshold, classes, pos_label):
    """scikit-learn's ``_threshold_scores_to_class_labels``."""
    classes = np.asarray(classes)
    if pos_label is None:
        mapping = np.array([0, 1])
    else:
        mapping = np.array(
            [np.flatnonzero(classes != pos_label)[0], np.flatnonzero(classes == pos_label)[0]]
        )
    return classes[mapping[(y_score >= threshold).astype(int)]]


def _curve(function, kwargs, y_true, y_score, thresholds, classes, pos_label):
    """The metric at each threshold (unsigned), from confusion counts when it is one of
    compare's objectives, else by calling it per threshold."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    from ._objectives import cost_per_1000, precision_at_recall, recall_at_precision

    flagged = y_score[None, :] >= thresholds[:, None]  # the "score >= t" class, per threshold
    # The class predicted at "score >= t": pos_label (or the last class).
    upper = np.asarray(classes)[_positive_column(classes, pos_label)]
    truth = np.asarray(y_true) == upper
    tp = np.sum(flagged & truth, axis=1)
    fp = np.sum(flagged & ~truth, axis=1)
    fn = np.sum(~flagged & truth, axis=1)
    tn = np.sum(~flagged & ~truth, axis=1)
    named = kwargs.get("pos_label", upper) == upper
    if function is f1_score and set(kwargs) == {"pos_label"} and named and truth.any():
        # scikit-learn's binary F1: 2 tp / (true positives' count + predicted positives)
        return 2.0 * tp / (tp + fn + tp + fp)
    if function is balanced_accuracy_score and not kwargs and truth.any() and not truth.all():
        recalls = np.stack([tn / (tn + fp), tp / (tp + fn)])
        return np.mean(recalls, axis=0)
    if function in (recall_at_precision, precision_at_recall) and named:
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
            recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        if function is recall_at_precision:
            return np.where(precision >= kwargs["min_precision"], recall, precision - 1.0)
        return np.where(recall >= kwargs["min_recall"], precision, recall - 1.0)
    if function is cost_per_1000 and named:
        total = kwargs["fp_cost"] * fp + kwargs["fn_cost"] * fn
        return 1000.0 * total.astype(np.float64) / len(truth)
    return np.array(
        [function(y_true, _labels(y_score, t, classes, pos_label), **kwargs) for t in thresholds]
    )


def tune_threshold(models, validations, score_function, classes):
    """The threshold maximising the objective over the inner fits, as scikit-learn's.

    Parameters
    ----------
    models : list of fitted classifiers
        One per inner fold (``predict_proba``).
    validations : list of (X_val, y_val)
        Each inner fit's validation rows.
    score_function : tuple
        ``(function, kwargs, greater_is_better)``, as
        :meth:`imbnet.cli._objectives.Objective.score_function`.
    classes : array-like
        The two classes, in ``classes_`` order.

    Returns
    -------
    threshold : float
        On the probability of ``kwargs["pos_label"]`` (else of the last class).
    """
    function, kwargs, greater_is_better = score_function
    pos_label = kwargs.get("pos_label")
    sign = 1 if greater_is_better else -1
    column = _positive_column(classes, pos_label)
    curves, grids = [], []
    for model, (X_val, y_val) in zip(models, validations):
        y_score = np.asarray(model.predict_proba(X_val))[:, column]
        grid = np.linspace(np.min(y_score), np.max(y_score), N_THRESHOLDS)
        curves.append(sign * _curve(function, kwargs, y_val, y_score, grid, classes, pos_label))
        grids.append(grid)
    if any(np.isclose(grid[0], grid[-1]) for grid in grids):
        raise ValueError(
            "The provided estimator makes constant predictions. Therefore, it is "
            "impossible to optimize the decision threshold."
        )
    common = np.linspace(min(g.min() for g in grids), max(g.max() for g in grids), N_THRESHOLDS)
    mean = np.mean([np.interp(common, g, c) for g, c in zip(grids, curves)], axis=0)
    return float(common[mean.argmax()])


class Thresholded(ClassifierMixin, BaseEstimator):
    """A fitted classifier deciding at ``threshold`` on the probability of ``pos_label``
    (as ``TunedThresholdClassifierCV`` with ``best_threshold_``).

    Parameters
    ----------
    model : fitted classifier
    threshold : float
    pos_label : object, default=None
        None: the last class.
    """

    def __init__(self, model=None, threshold=0.5, pos_label=None):
        self.model = model
        self.threshold = threshold
        self.pos_label = pos_label

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        return self.model.classes_

    @property
    def best_threshold_(self):
        return self.threshold

    def predict_proba(self, X):
        """The model's class probabilities."""
        return self.model.predict_proba(X)

    def predict(self, X):
        """The class at the threshold."""
        column = _positive_column(self.classes_, self.pos_label)
        y_score = np.asarray(self.predict_proba(X))[:, column]
        return _labels(y_score, self.threshold, self.classes_, self.pos_label)
