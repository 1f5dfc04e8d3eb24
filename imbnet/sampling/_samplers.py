"""Applying an imbalanced-learn sampler to training data of any rank.

This module knows nothing of estimators: it runs one ``fit_resample`` and
says which weight each returned row carries.
"""

import inspect
import numbers
import warnings
from collections.abc import Mapping

import numpy as np
from sklearn.base import clone

from .._validation import add_hint

__all__ = [
    "check_row_sampler",
    "check_sampler",
    "in_codes",
    "resample",
    "seeded_clone",
    "stack_draws",
    "takes_sample_loss",
]


def check_sampler(sampler):
    """Raise a ``TypeError`` unless ``sampler`` can ``fit_resample``."""
    if not callable(getattr(sampler, "fit_resample", None)):
        raise TypeError(
            f"sampler must have a fit_resample method, as imbalanced-learn's samplers "
            f"(SMOTE, RandomUnderSampler, ...) do; got {type(sampler).__name__}."
        )


def seeded_clone(sampler, seed):
    """A clone of ``sampler`` whose ``random_state`` (if it has one) is ``seed``: each
    draw of a fit its own, from the fit's seeds."""
    sampler = clone(sampler)
    if "random_state" in sampler.get_params(deep=False):
        sampler.set_params(random_state=seed)
    return sampler


def in_codes(sampler, classes):
    """``sampler`` for the encoded labels it is given (each class's position in
    ``classes``): a clone whose ``sampling_strategy`` dict names the classes by
    position instead of by label (``{"fraud": 50}`` becomes ``{1: 50}``); ``sampler``
    itself when it has no such dict. A callable ``sampling_strategy`` is called with
    the labels of ``y`` and its dict translated the same way. The caller writes labels
    as in ``y``, as in an imbalanced-learn pipeline, where the sampler sees them.

    Raises ``ValueError`` naming a key that is not a class label.

    Examples
    --------
    >>> import numpy as np
    >>> from imblearn.under_sampling import RandomUnderSampler
    >>> in_codes(RandomUnderSampler(sampling_strategy={"ok": 50}), np.array(["fraud", "ok"]))
    RandomUnderSampler(sampling_strategy={1: 50})
    """
    get_params = getattr(sampler, "get_params", None)
    strategy = get_params(deep=False).get("sampling_strategy") if get_params else None
    if isinstance(strategy, Mapping):
        coded_strategy = _coded(strategy, np.asarray(classes), type(sampler).__name__)
    elif callable(strategy):
        coded_strategy = _LabelledStrategy(strategy, np.asarray(classes), type(sampler).__name__)
    else:
        return sampler
    coded = clone(sampler)
    coded.set_params(sampling_strategy=coded_strategy)
    return coded


def _coded(strategy, classes, sampler_name):
    """``strategy`` (a dict keyed by class labels) keyed by the classes' positions."""
    labels = classes.tolist()
    unknown = [key for key in strategy if key not in labels]
    if unknown:
        raise ValueError(
            f"{sampler_name}'s sampling_strategy names {unknown!r}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not among the class labels of y "
            f"{labels!r}."
        )
    return {labels.index(k): n for k, n in strategy.items()}


class _LabelledStrategy:
    """A callable ``sampling_strategy`` as the caller wrote it, for a sampler that is
    given encoded labels: called with the labels of ``y``, its dict is keyed by code."""

    def __init__(self, strategy, classes, sampler_name):
        self.strategy = strategy
        self.classes = classes
        self.sampler_name = sampler_name

    def __call__(self, y, **kwargs):
        wanted = self.strategy(self.classes[np.asarray(y)], **kwargs)
        if not isinstance(wanted, Mapping):
            return wanted  # imbalanced-learn says what it expected
        return _coded(wanted, self.classes, self.sampler_name)


def check_row_sampler(sampler, y, *, data="text"):
    """Raise a ``ValueError`` unless ``sampler`` only selects rows (says which in
    ``sample_indices_``): the data has no numeric features to make synthetic rows
    from. Tried on a column of row numbers with the real ``y``."""
    trial = clone(sampler)
    rows = np.arange(len(y), dtype=np.float64).reshape(-1, 1)
    params = {"sample_loss": np.ones(len(y))} if takes_sample_loss(trial) else {}
    try:
        trial.fit_resample(rows, y, **params)
    except (ValueError, TypeError):
        pass
    if getattr(trial, "sample_indices_", None) is None:
        raise ValueError(
            f"{type(sampler).__name__} makes new rows from numeric features, and {data} "
            "has none: use a sampler that selects rows, RandomOverSampler (repeats "
            "minority rows) or RandomUnderSampler, or weigh the classes with "
            "class_weight='balanced'."
        )


def takes_sample_loss(sampler):
    """Whether ``sampler.fit_resample`` takes the current per-row loss as ``sample_loss``."""
    try:
        return "sample_loss" in inspect.signature(sampler.fit_resample).parameters
    except (TypeError, ValueError):
        return False


def resample(
    sampler, X, y, weights, class_weight, *, seed, user_weights, sample_loss=None, fitted=None
):
    """Resample ``(X, y)`` with a fresh clone of ``sampler`` seeded by ``seed``.

    ``X`` may have any rank: samplers get a 2-D view (one row per sample, all
    other axes flattened) and their rows are reshaped back, so SMOTE works on
    images and sequences.

    The weight of each returned row follows the row it came from: through the
    sampler's ``sample_indices_`` where it has one (random over/under-sampling,
    NearMiss, ...); otherwise, when the sampler returns the original rows first
    and appends synthetic ones (SMOTE and its variants), the original rows keep
    their weights and each synthetic row gets its class's weight. A sampler
    that does neither gives every row its class's weight; if ``sample_weight``
    was passed (``user_weights``), a ``UserWarning`` says it was not used.

    Parameters
    ----------
    sampler : imbalanced-learn sampler (not modified)
    X : ndarray of shape (n_samples, ...)
    y : ndarray of int of shape (n_samples,)
        Encoded labels.
    weights : ndarray of shape (n_samples,)
        Per-row weights (class weight times sample weight).
    class_weight : ndarray of shape (n_classes,)
        Weight of each encoded class, for synthetic rows.
    seed : int
        Replaces the sampler's ``random_state``, so each call draws anew.
    user_weights : bool
        Whether ``weights`` hold a caller's ``sample_weight``.
    sample_loss : ndarray of shape (n_samples,), default=None
        Current loss of each row, passed to samplers that take it (see
        :func:`takes_sample_loss`).
    fitted : list, default=None
        For a sampler that can draw again from its fit without refitting (one
        with a ``redraw`` method, such as :class:`imbnet.GANOverSampler`): an
        empty list at a fit's first draw, to which the fitted sampler is
        appended; at later draws, the list holding it, whose
        ``redraw(seed)`` then gives the rows (the same ``X`` and ``y``).

    Returns
    -------
    X_resampled, y_resampled, weights_resampled : ndarrays
    """
    # Text and named inputs have no features a sampler could read: it sees the row
    # numbers and says which rows it kept (check_row_sampler made sure it does).
    rows_only = not isinstance(X, np.ndarray) or X.dtype.kind in "OUS"
    if fitted:
        sampler = fitted[0]
        X_new, y_new = sampler.redraw(seed)
    else:
        sampler = seeded_clone(sampler, seed)
        X_flat = (
            np.arange(len(X), dtype=np.float64)[:, None] if rows_only else X.reshape(len(X), -1)
        )
        fit_params = {} if sample_loss is None else {"sample_loss": sample_loss}
        try:
            X_new, y_new = sampler.fit_resample(X_flat, y, **fit_params)
        except ValueError as error:
            add_hint(error, [("n_neighbors", _neighbours_fix(sampler, y))])
            raise
        if fitted is not None:
            fitted.append(sampler)
    if rows_only:
        indices = sampler.sample_indices_
        return X[indices], np.asarray(y_new), weights[indices]
    X_new = np.asarray(X_new, dtype=X.dtype).reshape((-1,) + X.shape[1:])
    y_new = np.asarray(y_new)

    indices = getattr(sampler, "sample_indices_", None)
    if indices is not None:
        return X_new, y_new, weights[indices]
    n = X.shape[0]
    w_new = np.asarray(class_weight, dtype=np.float32)[y_new]
    if X_new.shape[0] >= n and np.array_equal(X_new[:n], X) and np.array_equal(y_new[:n], y):
        w_new[:n] = weights
    elif user_weights:
        warnings.warn(
            f"{type(sampler).__name__} does not say which rows it kept (no "
            "sample_indices_) and does not keep the original rows first, so "
            "sample_weight cannot follow the rows: the resampled rows carry "
            "their class weights only.",
            UserWarning,
            stacklevel=3,
        )
    return X_new, y_new, w_new


def _neighbours_fix(sampler, y):
    """What to do when a class is smaller than the sampler's neighbourhood."""
    params = sampler.get_params(deep=False)
    setting = next((p for p in ("k_neighbors", "n_neighbors", "m_neighbors") if p in params), None)
    smallest = int(np.bincount(y).min())
    name = type(sampler).__name__
    if setting is not None and isinstance(params[setting], numbers.Integral):
        name = f"{name}({setting}={params[setting]})"
    needs = f"{name} needs more samples in a class than neighbours it looks for"
    if setting is not None and smallest >= 2:
        return (
            f"{needs}, and the smallest class here has {smallest}: lower "
            f"sampler__{setting} to at most {smallest - 1}, or use RandomOverSampler, "
            "which needs no neighbours."
        )
    return (
        f"{needs}, and the smallest class here has {smallest}: use RandomOverSampler, "
        "which needs no neighbours, or collect more samples of that class."
    )


def stack_draws(draws, rng):
    """Several draws ``(X, y, w)`` side by side: arrays of shape (n, n_draws, ...).

    Each draw's rows are shuffled; a draw shorter than the longest is padded
    with copies of its own rows at weight 0, which train nothing.
    """
    n_rows = max(X.shape[0] for X, _, _ in draws)
    columns = []
    for X, y, w in draws:
        order = rng.permutation(X.shape[0])
        extra = rng.integers(0, X.shape[0], n_rows - X.shape[0])
        rows = np.concatenate([order, extra])
        weight = np.asarray(w, np.float32)[rows]
        weight[X.shape[0] :] = 0.0
        columns.append((X[rows], y[rows], weight))
    return tuple(np.stack(parts, axis=1) for parts in zip(*columns))
