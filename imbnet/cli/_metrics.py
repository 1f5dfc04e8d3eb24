"""The numbers of one held-out fold, calibration measures, and the paired fold test."""

import math

import numpy as np

__all__ = [
    "RANKING",
    "corrected_paired_t_test",
    "decision_scores",
    "expected_calibration_error",
    "probability_scores",
    "ranking_scores",
    "reliability_curve",
]

# key -> heading
RANKING = {"roc_auc": "ROC AUC", "average_precision": "avg precision"}
N_BINS = 10


def ranking_scores(y_true, proba, classes, pos_label):
    """ROC AUC and average precision: of ``pos_label`` (binary), macro one-vs-rest otherwise."""
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.preprocessing import label_binarize

    if len(classes) == 2:
        column = list(classes).index(pos_label)
        truth = y_true == pos_label
        return {
            "roc_auc": roc_auc_score(truth, proba[:, column]),
            "average_precision": average_precision_score(truth, proba[:, column]),
        }
    indicator = label_binarize(y_true, classes=classes)
    return {
        "roc_auc": roc_auc_score(y_true, proba, multi_class="ovr", labels=classes),
        "average_precision": average_precision_score(indicator, proba, average="macro"),
    }


def decision_scores(y_true, y_pred, classes, pos_label, cost=None):
    """Scores of the decisions ``y_pred``: of ``pos_label``, per class and, with ``cost``, costs."""
    from sklearn.metrics import (
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0
    )
    k = list(classes).index(pos_label)
    scores = {
        "recall": recall[k],
        "precision": precision[k],
        "f1": f1[k],
        "macro_f1": float(np.mean(f1)),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
    }
    for label, value in zip(classes, recall):
        scores[f"recall[{label}]"] = value
    if cost is not None:
        fp_cost, fn_cost = cost
        truth, flagged = y_true == pos_label, y_pred == pos_label
        n = len(y_true)
        errors = fp_cost * np.sum(flagged & ~truth) + fn_cost * np.sum(truth & ~flagged)
        scores["cost"] = 1000 * errors / n
        scores["cost_flag_nothing"] = 1000 * fn_cost * np.sum(truth) / n
        scores["cost_flag_everything"] = 1000 * fp_cost * np.sum(~truth) / n
    matrix = confusion_matrix(y_true, y_pred, labels=classes)
    return {k: float(v) for k, v in scores.items()}, matrix


def expected_calibration_error(y_true, proba, classes, n_bins=N_BINS):
    """Class-wise expected calibration error with equal-count bins.

    For each class: the rows are sorted by its predicted probability and cut into
    ``n_bins`` bins of equal size; the error is the size-weighted mean of
    ``|mean predicted - observed frequency|`` over the bins. Averaged over the
    classes (for two classes both give the same value). Equal-count bins keep
    the bins populated when nearly every probability is close to 0.
    """
    errors = []
    for k, label in enumerate(classes):
        predicted, observed, sizes = _bins(proba[:, k], y_true == label, n_bins)
        errors.append(float(np.sum(sizes * np.abs(predicted - observed)) / sizes.sum()))
    return float(np.mean(errors))


def _bins(score, truth, n_bins):
    order = np.argsort(score, kind="stable")
    chunks = [c for c in np.array_split(order, n_bins) if len(c)]
    predicted = np.array([score[c].mean() for c in chunks])
    observed = np.array([truth[c].mean() for c in chunks])
    return predicted, observed, np.array([len(c) for c in chunks])


def reliability_curve(score, truth, n_bins=N_BINS):
    """``(mean predicted, observed frequency)`` of equal-count bins of ``score``."""
    return _bins(np.asarray(score), np.asarray(truth), n_bins)[:2]


def probability_scores(y_true, proba, classes):
    """Brier score (multiclass: summed over classes), log loss and expected calibration error."""
    from sklearn.metrics import log_loss

    indicator = (np.asarray(y_true)[:, None] == np.asarray(classes)[None, :]).astype(float)
    squared = np.sum((proba - indicator) ** 2, axis=1)
    if len(classes) == 2:
        squared = squared / 2  # binary Brier score: of one class's probability
    clipped = np.clip(proba, 1e-15, 1 - 1e-15)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return {
        "brier": float(np.mean(squared)),
        "log_loss": float(log_loss(y_true, clipped, labels=classes)),
        "ece": expected_calibration_error(np.asarray(y_true), proba, classes),
    }


def corrected_paired_t_test(differences, test_fraction):
    """Nadeau and Bengio's corrected resampled t-test of fold-wise differences.

    Folds share training rows, so their scores are correlated and the plain
    paired t-test is over-confident; the variance is inflated by
    ``1/k + n_test/n_train``. Returns ``(t, two-sided p)``; ``p`` is 1 when every
    difference is 0, and NaN for fewer than two folds.
    """
    from scipy import stats

    d = np.asarray(differences, dtype=float)
    k = len(d)
    if k < 2:
        return math.nan, math.nan
    variance = np.var(d, ddof=1)
    if variance == 0:
        return (0.0, 1.0) if d.mean() == 0 else (math.copysign(math.inf, d.mean()), 0.0)
    ratio = test_fraction / (1 - test_fraction)
    t = d.mean() / math.sqrt((1 / k + ratio) * variance)
    return float(t), float(2 * stats.t.sf(abs(t), df=k - 1))
