"""What ``imbnet compare --optimize`` optimises: objectives, costs and their scorers.

Each objective is a scikit-learn scorer on predicted labels, so that
``TunedThresholdClassifierCV`` can choose the decision threshold that maximises it.
The metric functions below are self-contained (they import what they use), so the
recommended snippet can carry their source.
"""

import argparse
from dataclasses import dataclass

__all__ = [
    "OBJECTIVES",
    "Objective",
    "cost_per_1000",
    "parse_cost",
    "parse_objective",
    "precision_at_recall",
    "recall_at_precision",
]

OBJECTIVES = "f1|balanced_accuracy|recall@precision=P|precision@recall=R|cost"


def recall_at_precision(y_true, y_pred, *, min_precision, pos_label):
    """Recall of ``pos_label`` if its precision reaches ``min_precision``, else precision - 1.

    The penalty ranks every decision that misses the precision below every one
    that meets it, and still prefers the ones that come closer.
    """
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, _, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=[pos_label], zero_division=0
    )
    if precision[0] >= min_precision:
        return float(recall[0])
    return float(precision[0]) - 1.0


def precision_at_recall(y_true, y_pred, *, min_recall, pos_label):
    """Precision of ``pos_label`` if its recall reaches ``min_recall``, else recall - 1."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, _, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=[pos_label], zero_division=0
    )
    if recall[0] >= min_recall:
        return float(precision[0])
    return float(recall[0]) - 1.0


def cost_per_1000(y_true, y_pred, *, fp_cost, fn_cost, pos_label):
    """Cost of the decisions per 1,000 cases: ``fp_cost`` per false alarm, ``fn_cost`` per miss."""
    import numpy as np

    truth = np.asarray(y_true) == pos_label
    flagged = np.asarray(y_pred) == pos_label
    total = fp_cost * np.sum(flagged & ~truth) + fn_cost * np.sum(truth & ~flagged)
    return 1000.0 * float(total) / len(truth)


@dataclass(frozen=True)
class Objective:
    """``name`` is f1, balanced_accuracy, recall@precision, precision@recall or cost."""

    name: str
    target: float = None

    def label(self, multiclass=False):
        """Heading of the objective's column."""
        if self.name == "f1":
            return "macro F1" if multiclass else "F1"
        if self.name == "balanced_accuracy":
            return "balanced acc"
        if self.name == "cost":
            return "cost/1000"
        measured, _, bound = self.name.partition("@")
        return f"{measured}@{bound[:4]}≥{self.target:g}"

    def text(self, multiclass=False):
        """The objective in words."""
        if self.name == "cost":
            return "the expected cost per 1,000 cases"
        if "@" in self.name:
            measured, _, bound = self.name.partition("@")
            return f"{measured} at {bound} ≥ {self.target:g}"
        return self.label(multiclass)

    @property
    def greater_is_better(self):
        return self.name != "cost"

    def check(self, n_classes, cost):
        """A one-line reason this objective cannot be used, or None."""
        if n_classes > 2 and cost is not None:
            return f"--cost FP,FN is defined for two classes; the target has {n_classes}"
        if self.name == "cost" and cost is None:
            return "--optimize cost needs --cost FP,FN (the cost of a false positive and a miss)"
        if n_classes > 2 and self.name not in ("f1", "balanced_accuracy"):
            return (
                f"--optimize {self.name} is defined for a positive class; with "
                f"{n_classes} classes use --optimize f1 (macro) or balanced_accuracy"
            )
        return None

    def score_function(self, pos_label, multiclass, cost=None):
        """``(function, keyword arguments, greater_is_better)`` of the scorer."""
        from sklearn.metrics import balanced_accuracy_score, f1_score

        if self.name == "balanced_accuracy":
            return balanced_accuracy_score, {}, True
        if self.name == "f1":
            # pos_label=None: scikit-learn 1.6 checks the default 1 against string labels.
            kwargs = (
                {"average": "macro", "pos_label": None} if multiclass else {"pos_label": pos_label}
            )
            return f1_score, kwargs, True
        if self.name == "recall@precision":
            return recall_at_precision, {"min_precision": self.target, "pos_label": pos_label}, True
        if self.name == "precision@recall":
            return precision_at_recall, {"min_recall": self.target, "pos_label": pos_label}, True
        fp_cost, fn_cost = cost
        kwargs = {"fp_cost": fp_cost, "fn_cost": fn_cost, "pos_label": pos_label}
        return cost_per_1000, kwargs, False


def make_scorer(function, kwargs, greater_is_better):
    """The scikit-learn scorer of :meth:`Objective.score_function`'s output."""
    from sklearn.metrics import make_scorer as sklearn_make_scorer

    return sklearn_make_scorer(function, greater_is_better=greater_is_better, **kwargs)


def parse_objective(text):
    """``--optimize`` text as an :class:`Objective` (argparse type)."""
    text = text.strip().lower()
    if text in ("f1", "balanced_accuracy", "cost"):
        return Objective(text)
    measured, _, rest = text.partition("@")
    bound, equals, value = rest.partition("=")
    pairs = {("recall", "precision"), ("precision", "recall")}
    if (measured, bound) not in pairs or not equals:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {OBJECTIVES}")
    try:
        target = float(value)
    except ValueError:
        target = -1.0
    if not 0 < target <= 1:
        raise argparse.ArgumentTypeError(f"{bound} in {text!r} must be a number in (0, 1]")
    return Objective(f"{measured}@{bound}", target)


def parse_cost(text):
    """``--cost FP,FN`` as a pair of non-negative floats, not both zero (argparse type)."""
    parts = text.split(",")
    try:
        fp_cost, fn_cost = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not FP,FN: two numbers, the cost of a false positive and of a "
            "false negative (e.g. --cost 1,20)"
        ) from None
    if (
        fp_cost < 0
        or fn_cost < 0
        or fp_cost + fn_cost == 0
        or not all(c < float("inf") for c in (fp_cost, fn_cost))
    ):
        raise argparse.ArgumentTypeError(f"{text!r}: costs must be finite, >= 0 and not both 0")
    return fp_cost, fn_cost
