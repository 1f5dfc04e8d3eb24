"""Class weights for imbalanced targets.

This module knows nothing of estimators: it turns a ``class_weight`` setting and
the training labels into one weight per class, and weights per sample.
"""

import math
import numbers

import numpy as np
from sklearn.utils.class_weight import compute_class_weight as _sklearn_class_weight

__all__ = ["compute_class_weight", "compute_sample_weight"]

CLASS_WEIGHT_STRINGS = ("balanced", "log")


def compute_class_weight(class_weight, *, classes, y, mu=0.15):
    """Resolve a ``class_weight`` setting into one weight per class label.

    Parameters
    ----------
    class_weight : None, "balanced", "log" or dict
        - ``None``: every class weighs 1.
        - ``"balanced"``: ``n_samples / (n_classes * n_c)``, as scikit-learn
          computes it.
        - ``"log"``: ``max(1, ln(mu * n_samples / n_c))``, smoothed weights
          for heavy skew: the majority class keeps weight 1 and rare classes
          grow only logarithmically with their rarity.
        - dict: ``{label: weight}`` keyed by the original class labels;
          classes missing from the dict weigh 1.
    classes : array-like of shape (n_classes,)
        The class labels, sorted as in the estimator's ``classes_``.
    y : array-like of shape (n_samples,)
        Training labels, each one of ``classes``.
    mu : float, default=0.15
        Smoothing factor of ``"log"``; must be positive.

    Returns
    -------
    class_weight : dict
        ``{label: float}`` for every label of ``classes``.

    Raises
    ------
    ValueError
        On an unknown string, a dict with a label not in ``classes``, a
        weight that is not a positive finite number, or a non-positive ``mu``.

    Examples
    --------
    >>> import numpy as np
    >>> from imbnet import compute_class_weight
    >>> y = np.array(["ok"] * 90 + ["fraud"] * 10)
    >>> compute_class_weight("balanced", classes=["fraud", "ok"], y=y)
    {'fraud': 5.0, 'ok': 0.555...}
    >>> weights = compute_class_weight("log", classes=["fraud", "ok"], y=y, mu=1.0)
    >>> {label: round(w, 3) for label, w in weights.items()}
    {'fraud': 2.303, 'ok': 1.0}
    >>> compute_class_weight({"fraud": 20}, classes=["fraud", "ok"], y=y)
    {'fraud': 20.0, 'ok': 1.0}
    """
    classes = np.asarray(classes)
    y = np.asarray(y)
    labels = classes.tolist()
    if class_weight is None:
        return {label: 1.0 for label in labels}
    if isinstance(class_weight, str):
        if class_weight == "balanced":
            weights = _sklearn_class_weight("balanced", classes=classes, y=y)
            return {label: float(w) for label, w in zip(labels, weights)}
        if class_weight == "log":
            return _log_class_weight(classes, y, mu)
        raise ValueError(
            f"class_weight={class_weight!r} is not a known scheme; use None, "
            f"one of {CLASS_WEIGHT_STRINGS} or a dict {{label: weight}}."
        )
    if isinstance(class_weight, dict):
        return _dict_class_weight(class_weight, labels)
    raise TypeError(
        "class_weight must be None, 'balanced', 'log' or a dict {label: weight}; "
        f"got {type(class_weight).__name__}."
    )


def compute_sample_weight(class_weight, y_encoded, sample_weight=None):
    """Per-sample weights: the class weight of each row times ``sample_weight``.

    Parameters
    ----------
    class_weight : array-like of shape (n_classes,)
        Weight of each class, indexed by encoded label.
    y_encoded : ndarray of int of shape (n_samples,)
        Labels encoded as positions in ``classes_``.
    sample_weight : ndarray of shape (n_samples,), default=None
        The caller's weights. Never modified: a new array is returned.

    Returns
    -------
    ndarray of float32 of shape (n_samples,)
    """
    weights = np.asarray(class_weight, dtype=np.float64)[y_encoded]
    if sample_weight is not None:
        weights = weights * sample_weight
    return weights.astype(np.float32)


def _log_class_weight(classes, y, mu):
    if not (isinstance(mu, numbers.Real) and math.isfinite(mu) and mu > 0):
        raise ValueError(f"class_weight_mu must be a positive number; got {mu!r}.")
    counts = np.array([np.count_nonzero(y == label) for label in classes])
    if np.any(counts == 0):
        missing = classes[counts == 0].tolist()
        raise ValueError(f"classes {missing} do not occur in y.")
    weights = np.maximum(1.0, np.log(mu * y.shape[0] / counts))
    return {label: float(w) for label, w in zip(classes.tolist(), weights)}


def _dict_class_weight(class_weight, labels):
    unknown = [key for key in class_weight if key not in labels]
    if unknown:
        raise ValueError(
            f"class_weight has labels {unknown!r} that are not classes of y; "
            f"the classes are {labels!r}: key the dict by these labels."
        )
    resolved = {}
    for label in labels:
        weight = class_weight.get(label, 1.0)
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise ValueError(
                f"class_weight[{label!r}] must be a number; got {weight!r}. "
                "Give each class a positive number, e.g. {label: 10.0}."
            )
        if not (math.isfinite(weight) and weight > 0):
            raise ValueError(
                f"class_weight[{label!r}] must be positive and finite; got {weight!r}. "
                "Give each class a weight > 0 (to leave a class out, drop its samples)."
            )
        resolved[label] = float(weight)
    return resolved
