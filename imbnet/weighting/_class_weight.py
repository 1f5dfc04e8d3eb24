"""Class weights for imbalanced targets.

This module knows nothing of estimators: it turns a ``class_weight`` setting and
the training labels into one weight per class, and weights per sample.
"""

import math
import numbers

import numpy as np
from sklearn.utils.class_weight import compute_class_weight as _sklearn_class_weight

__all__ = [
    "class_weight_from_counts",
    "compute_class_weight",
    "compute_label_weight",
    "compute_label_sample_weight",
    "compute_sample_weight",
]

CLASS_WEIGHT_STRINGS = ("balanced", "log", "effective")


def compute_class_weight(class_weight, *, classes, y, mu=0.15, beta=0.999):
    """Resolve a ``class_weight`` setting into one weight per class label.

    Parameters
    ----------
    class_weight : None, "balanced", "log", "effective" or dict
        - ``None``: every class weighs 1.
        - ``"balanced"``: ``n_samples / (n_classes * n_c)``, as scikit-learn
          computes it.
        - ``"log"``: ``max(1, ln(mu * n_samples / n_c))``, smoothed weights
          for heavy skew: the majority class keeps weight 1 and rare classes
          grow only logarithmically with their rarity.
        - ``"effective"``: the inverse effective number of samples (Cui et
          al., 2019, "Class-balanced loss based on effective number of
          samples"): ``w_c ∝ (1 - beta) / (1 - beta^n_c)``, normalised as in
          the paper so that the weights sum to the number of classes (their
          mean is 1). ``beta = 0`` weighs every class 1; as ``beta`` nears 1
          the weights approach ``1 / n_c`` (``"balanced"``, up to scale).
        - dict: ``{label: weight}`` keyed by the original class labels;
          classes missing from the dict weigh 1.
    classes : array-like of shape (n_classes,)
        The class labels, sorted as in the estimator's ``classes_``.
    y : array-like of shape (n_samples,)
        Training labels, each one of ``classes``.
    mu : float, default=0.15
        Smoothing factor of ``"log"``; must be positive.
    beta : float, default=0.999
        ``beta`` of ``"effective"``, in ``[0, 1)``.

    Returns
    -------
    class_weight : dict
        ``{label: float}`` for every label of ``classes``.

    Raises
    ------
    ValueError
        On an unknown string, a dict with a label not in ``classes``, a
        weight that is not a positive finite number, a non-positive ``mu`` or
        a ``beta`` outside ``[0, 1)``.

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
    >>> weights = compute_class_weight("effective", classes=["fraud", "ok"], y=y, beta=0.99)
    >>> {label: round(w, 3) for label, w in weights.items()}
    {'fraud': 1.723, 'ok': 0.277}
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
            return _log_class_weight(classes, _class_counts(classes, y), mu)
        if class_weight == "effective":
            return _effective_class_weight(classes, _class_counts(classes, y), beta)
        raise ValueError(
            f"class_weight={class_weight!r} is not a known scheme; use None, "
            f"one of {CLASS_WEIGHT_STRINGS} or a dict {{label: weight}}."
        )
    if isinstance(class_weight, dict):
        return _dict_class_weight(class_weight, labels)
    if isinstance(class_weight, (list, tuple)):
        raise TypeError(
            "class_weight must be None, 'balanced', 'log', 'effective' or a dict "
            "{label: weight} for a y of one class per sample; a list (one dict per label) is for "
            "multilabel targets."
        )
    raise TypeError(
        "class_weight must be None, 'balanced', 'log', 'effective' or a dict "
        f"{{label: weight}}; got {type(class_weight).__name__}."
    )


def compute_label_weight(class_weight, *, Y, mu=0.15, beta=0.999):
    """Per-label class weights for a multilabel 0/1 indicator matrix.

    Every label is a binary problem of its own; its negative (0) and positive
    (1) entries get a weight each, computed on that label's column.

    Parameters
    ----------
    class_weight : None, "balanced", "log", "effective" or list of dict
        - ``None``: every entry weighs 1.
        - ``"balanced"``, ``"log"`` or ``"effective"``:
          :func:`compute_class_weight` on each column, so a label's rare
          positives weigh more (``"log"`` leaves the frequent value at 1;
          ``"effective"`` weights of a label sum to 2). A value that does not
          occur in a column weighs 1.
        - a list of one dict per label, ``{0: w_negative, 1: w_positive}``, as
          scikit-learn takes multi-output class weights; missing keys weigh 1.
    Y : ndarray of shape (n_samples, n_labels)
        The 0/1 indicator matrix.
    mu : float, default=0.15
        Smoothing factor of ``"log"``.
    beta : float, default=0.999
        ``beta`` of ``"effective"``.

    Returns
    -------
    list of dict
        ``[{0: w0, 1: w1}, ...]``, one per label.

    Examples
    --------
    >>> import numpy as np
    >>> from imbnet import compute_label_weight
    >>> Y = np.array([[1, 0]] * 2 + [[0, 0]] * 6 + [[0, 1]] * 2)
    >>> compute_label_weight("balanced", Y=Y)
    [{0: 0.625, 1: 2.5}, {0: 0.625, 1: 2.5}]
    >>> compute_label_weight([{1: 4}, None], Y=Y)
    [{0: 1.0, 1: 4.0}, {0: 1.0, 1: 1.0}]
    """
    Y = np.asarray(Y)
    n_labels = Y.shape[1]
    if isinstance(class_weight, dict):
        raise ValueError(
            "for a multilabel y, class_weight is None, 'balanced', 'log', 'effective' or a list of "
            f"{n_labels} dicts, one per label, e.g. [{{0: 1, 1: 5}}, ...]; got a dict."
        )
    if class_weight is None or isinstance(class_weight, str):
        settings = [class_weight] * n_labels
    elif isinstance(class_weight, (list, tuple)):
        if len(class_weight) != n_labels:
            raise ValueError(
                f"class_weight has {len(class_weight)} entries but y has {n_labels} "
                "labels: give one dict {0: w_negative, 1: w_positive} per label."
            )
        settings = list(class_weight)
    else:
        raise TypeError(
            "class_weight must be None, 'balanced', 'log', 'effective' or a list of dicts; "
            f"got {type(class_weight).__name__}."
        )
    weights = []
    for position, setting in enumerate(settings):
        column = Y[:, position]
        resolved = {0: 1.0, 1: 1.0}
        if isinstance(setting, dict):
            try:
                resolved = _dict_class_weight(setting, [0, 1])
            except ValueError as error:
                raise ValueError(f"class_weight[{position}] (label {position}): {error}") from None
        elif setting is not None:
            if not isinstance(setting, str):
                raise TypeError(
                    f"class_weight[{position}] must be a dict {{0: w, 1: w}} or None; "
                    f"got {type(setting).__name__}."
                )
            present = np.unique(column)
            resolved.update(
                compute_class_weight(setting, classes=present, y=column, mu=mu, beta=beta)
            )
        weights.append({0: float(resolved[0]), 1: float(resolved[1])})
    return weights


def compute_label_sample_weight(label_weight, Y, sample_weight=None):
    """Per-entry weights of a multilabel target: the label weight of each entry
    times the ``sample_weight`` of its row.

    Returns
    -------
    ndarray of float32 of shape (n_samples, n_labels)
    """
    negative = np.array([weights[0] for weights in label_weight])
    positive = np.array([weights[1] for weights in label_weight])
    weights = np.where(np.asarray(Y) == 1, positive, negative)
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight)[:, None]
    return weights.astype(np.float32)


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


def class_weight_from_counts(class_weight, *, classes, counts, mu=0.15, beta=0.999):
    """:func:`compute_class_weight` from the number of rows of each class.

    For labels that are never gathered in one array (a Dask collection): the
    same weights as ``compute_class_weight`` on a ``y`` with ``counts[i]``
    rows of ``classes[i]``.
    """
    classes = np.asarray(classes)
    counts = np.asarray(counts, dtype=np.float64)
    if class_weight == "balanced":
        if np.any(counts == 0):
            raise ValueError(f"classes {classes[counts == 0].tolist()} do not occur in y.")
        weights = counts.sum() / (classes.shape[0] * counts)
        return {label: float(w) for label, w in zip(classes.tolist(), weights)}
    if class_weight == "log":
        return _log_class_weight(classes, counts, mu)
    if class_weight == "effective":
        return _effective_class_weight(classes, counts, beta)
    return compute_class_weight(class_weight, classes=classes, y=classes[:0])


def _class_counts(classes, y):
    return np.array([np.count_nonzero(y == label) for label in classes], dtype=np.float64)


def _log_class_weight(classes, counts, mu):
    if not (isinstance(mu, numbers.Real) and math.isfinite(mu) and mu > 0):
        raise ValueError(f"class_weight_mu must be a positive number; got {mu!r}.")
    if np.any(counts == 0):
        missing = classes[counts == 0].tolist()
        raise ValueError(f"classes {missing} do not occur in y.")
    weights = np.maximum(1.0, np.log(mu * counts.sum() / counts))
    return {label: float(w) for label, w in zip(classes.tolist(), weights)}


def _effective_class_weight(classes, counts, beta):
    if isinstance(beta, bool) or not (isinstance(beta, numbers.Real) and 0 <= beta < 1):
        raise ValueError(
            f"class_weight_beta must be a number in [0, 1) (Cui et al. use 0.9 to "
            f"0.9999); got {beta!r}."
        )
    if np.any(counts == 0):
        missing = classes[counts == 0].tolist()
        raise ValueError(f"classes {missing} do not occur in y.")
    if beta == 0:
        weights = np.ones_like(counts)
    else:
        # (1 - beta) / (1 - beta^n), with 1 - beta^n = -expm1(n log beta) accurate near 1.
        weights = (1.0 - beta) / -np.expm1(counts * np.log(beta))
    weights *= counts.shape[0] / weights.sum()
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
