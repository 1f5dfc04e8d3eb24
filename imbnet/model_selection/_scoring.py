"""Ranking scores of side-by-side fits without scikit-learn's per-call checks.

scikit-learn's ``"roc_auc"`` and ``"average_precision"`` scorers validate
their input on every call (target type, array checks, label binarisation):
a few milliseconds each, more than predicting a small network's test fold.
A search scores every candidate x fold, so for the fits trained side by side
(:mod:`imbnet.model_selection._members`, whose classes and probabilities are
known to be well formed) :class:`FastScorer` computes the same numbers
directly from ``predict_proba``: the area under the ROC curve as the
Mann-Whitney statistic (ties counted one half, which is the trapezoidal
area scikit-learn computes), average precision as scikit-learn's step sum
over distinct thresholds. Anything else (sample weights, another estimator,
a target that is not binary, one class only) goes to scikit-learn's scorer.
"""

import numpy as np
from scipy.stats import rankdata

__all__ = ["FastScorer", "average_precision", "fast_scoring", "roc_auc", "unwrap"]


def roc_auc(positive, score):
    """Area under the ROC curve of ``score`` for the boolean ``positive``."""
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    ranks = rankdata(score)  # ties get their average rank
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(positive, score):
    """Average precision of ``score`` for the boolean ``positive``:
    ``sum_k (R_k - R_{k-1}) P_k`` over the distinct thresholds, highest first."""
    order = np.argsort(score, kind="mergesort")[::-1]
    ordered = score[order]
    last = np.r_[np.flatnonzero(np.diff(ordered)), ordered.size - 1]
    tps = np.cumsum(positive[order], dtype=np.float64)[last]
    precision = tps / (last + 1.0)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


# scoring name -> (metric, whether the positive class must be the label 1)
_METRICS = {"roc_auc": (roc_auc, False), "average_precision": (average_precision, True)}


class FastScorer:
    """scikit-learn's scorer ``name``, computed directly for side-by-side fits.

    Parameters
    ----------
    name : str
        "roc_auc" or "average_precision".
    scorer : callable
        scikit-learn's scorer of that name, used for every other case.
    is_member_fit : callable
        ``is_member_fit(estimator)``: whether ``estimator`` holds a fit
        trained side by side.
    """

    def __init__(self, name, scorer, is_member_fit):
        self.name = name
        self.scorer = scorer
        self.is_member_fit = is_member_fit

    def __call__(self, estimator, X, y_true, **kwargs):
        if not kwargs and self.is_member_fit(estimator):
            score = self._direct(estimator, X, y_true)
            if score is not None:
                return score
        return self.scorer(estimator, X, y_true, **kwargs)

    def _direct(self, estimator, X, y_true):
        metric, needs_one = _METRICS[self.name]
        classes = estimator.classes_
        y = np.asarray(y_true)
        if len(classes) != 2 or y.ndim != 1 or (needs_one and classes[1] != 1):
            return None
        positive = y == classes[1]
        n_pos = int(positive.sum())
        if n_pos in (0, y.size) or not np.all(positive | (y == classes[0])):
            return None
        proba = np.asarray(estimator.predict_proba(X))
        return metric(positive, proba[:, 1])

    def _accept_sample_weight(self):
        return self.scorer._accept_sample_weight()

    def __repr__(self):
        return repr(self.scorer)


def fast_scoring(scoring, scorers, is_member_fit):
    """``scorers`` (what scikit-learn made of ``scoring``: one scorer or a dict
    of them) with the ones named "roc_auc" / "average_precision" in
    ``scoring`` replaced by :class:`FastScorer`; None if none is."""
    if isinstance(scoring, str):
        if scoring not in _METRICS:
            return None
        return FastScorer(scoring, scorers, is_member_fit)
    if isinstance(scoring, (list, tuple, set)):
        names = {name: name for name in scoring}
    elif isinstance(scoring, dict):
        names = {key: value for key, value in scoring.items() if isinstance(value, str)}
    else:
        return None
    fast = {key: name for key, name in names.items() if name in _METRICS and key in scorers}
    if not fast:
        return None
    return {
        key: FastScorer(fast[key], scorer, is_member_fit) if key in fast else scorer
        for key, scorer in scorers.items()
    }


def unwrap(scorers):
    """scikit-learn's scorers again: :class:`FastScorer` replaced by its own."""
    if isinstance(scorers, FastScorer):
        return scorers.scorer
    if isinstance(scorers, dict):
        return {key: unwrap(scorer) for key, scorer in scorers.items()}
    return scorers
