"""Input checks: scikit-learn's own, with the fix added where its message lacks one.

scikit-learn's ``validate_data`` and ``_check_sample_weight`` find the
problems (NaN, infinity, strings, sparse matrices, length mismatches,
negative weights, feature names); their messages name the problem but not
always what to do. The same exception object is raised, its message extended
by one sentence.
"""

import difflib

import numpy as np
from sklearn.utils import check_array, get_tags
from sklearn.utils.validation import validate_data

from ._compat import check_sample_weight

__all__ = ["add_hint", "did_you_mean", "validate_fit_data", "validate_predict_data"]

# (text in scikit-learn's message, the fix to add); the first match applies.
_X_Y_HINTS = (
    (
        "X contains infinity",
        "Replace or clip the infinite values before fitting, e.g. with np.clip.",
    ),
    (
        "y contains NaN",
        "Drop the samples whose label is missing, e.g. X[~np.isnan(y)], y[~np.isnan(y)].",
    ),
    ("y contains infinity", "Class labels must be finite values."),
    (
        "inconsistent numbers of samples",
        "X and y need one row per sample: filter or split them together.",
    ),
    (
        "could not convert",
        "X must be numeric: encode string or categorical columns first, e.g. "
        "with OneHotEncoder or OrdinalEncoder in a ColumnTransformer or Pipeline.",
    ),
    (
        "is not compatible with arrays of bytes/strings",
        "X must be numeric: encode string or "
        "categorical columns first, e.g. with OneHotEncoder or OrdinalEncoder.",
    ),
    ("0 sample(s)", "Pass a non-empty X with samples of at least two classes."),
)
_PREDICT_HINTS = (
    ("X contains infinity", "Replace or clip the infinite values, as for the training data."),
    ("features, but", "Pass the same columns, in the same order, as at fit."),
    ("feature names should match", "Pass the same columns, in the same order, as at fit."),
) + _X_Y_HINTS[4:]
_WEIGHT_HINTS = (
    ("sample_weight.shape", "Pass one weight per sample of X (or None)."),
    ("Negative values", "Weights must be >= 0; to ignore a sample give it weight 0."),
    ("contains NaN", "Give every sample a finite weight >= 0."),
    ("contains infinity", "Give every sample a finite weight >= 0."),
    ("at least one non-zero", "Give at least one sample a positive weight."),
    ("must be 1D", "Pass one weight per sample of X, as a 1-D array."),
)


def add_hint(error, hints):
    """Append to ``error``'s message the fix of the first matching hint; return it."""
    message = str(error.args[0]) if error.args else ""
    for text, fix in hints:
        if text in message:
            if fix not in message:
                message = message.rstrip()
                separator = " " if message.endswith((".", "!", "?", ":")) else ". "
                error.args = (f"{message}{separator}{fix}",) + tuple(error.args[1:])
            break
    return error


def did_you_mean(name, candidates):
    """`` Did you mean 'x'?`` for the closest of ``candidates``, or ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _accepted_sparse(estimator):
    """CSR (other sparse formats converted to it) if the estimator's tags accept
    sparse input, else False (scikit-learn's error)."""
    return "csr" if get_tags(estimator).input_tags.sparse else False


def validate_fit_data(estimator, X, y, sample_weight, *, allow_nd, reset=True):
    """``validate_data`` and ``_check_sample_weight`` with fixes in their messages.

    Returns X (float32; CSR if sparse and the estimator's tags accept it), y
    and sample_weight (float64 or None). Resets ``n_features_in_`` and
    ``feature_names_in_`` (unless ``reset=False``: then checks X against them).
    """
    try:
        X, y = validate_data(
            estimator,
            X,
            y,
            dtype=[np.float64, np.float32],
            allow_nd=allow_nd,
            multi_output=True,
            reset=reset,
            accept_sparse=_accepted_sparse(estimator),
        )
    except (ValueError, TypeError) as error:
        add_hint(error, _X_Y_HINTS if reset else _PREDICT_HINTS[:3] + _X_Y_HINTS)
        raise
    if sample_weight is not None:
        try:
            if np.asarray(sample_weight).ndim == 2 and np.ndim(y) == 2:
                sample_weight = _check_step_weight(sample_weight, y)
            else:
                sample_weight = check_sample_weight(
                    sample_weight, X, dtype=np.float64, ensure_non_negative=True
                )
            if not np.any(sample_weight):  # scikit-learn < 1.7 lets all-zero weights through
                raise ValueError("Sample weights must contain at least one non-zero number.")
        except (ValueError, TypeError) as error:
            add_hint(error, _WEIGHT_HINTS)
            raise
    return X.astype(np.float32, copy=False), y, sample_weight


def _check_step_weight(sample_weight, y):
    """A weight per (row, step) of a 2-D ``y``: same shape, finite, non-negative."""
    sample_weight = check_array(sample_weight, dtype=np.float64, input_name="sample_weight")
    if sample_weight.shape != np.shape(y):
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape} but y has shape {np.shape(y)}: "
            "give one weight per sample, shape (n_samples,), or one per time step, the "
            "shape of y."
        )
    if np.any(sample_weight < 0):
        raise ValueError("Negative values in data passed to sample_weight.")
    return sample_weight


def validate_predict_data(estimator, X, *, allow_nd, check_rank=True):
    """``validate_data`` against what fit saw, with fixes in its messages."""
    try:
        X = validate_data(
            estimator,
            X,
            dtype=[np.float64, np.float32],
            allow_nd=allow_nd,
            reset=False,
            accept_sparse=_accepted_sparse(estimator),
        )
    except (ValueError, TypeError) as error:
        add_hint(error, _PREDICT_HINTS)
        raise
    # 2-D estimators refuse other ranks in validate_data already; an ensemble's
    # stacked model has an axis of members the rows do not have (check_rank=False).
    if allow_nd and check_rank:
        _check_row_shape(estimator, X)
    return X.astype(np.float32, copy=False)


def _check_row_shape(estimator, X):
    """Rows of another rank than the fitted network's input (3-D X for a 2-D model)."""
    inputs = getattr(getattr(estimator, "model_", None), "inputs", None)
    if not inputs or len(inputs) != 1:
        return
    expected = tuple(inputs[0].shape[1:])
    if len(expected) != X.ndim - 1:
        raise ValueError(
            f"X has {X.ndim} dimensions (shape {X.shape}), but the model was fitted on rows "
            f"of shape {expected}: pass X of shape (n_samples, {', '.join(map(str, expected))})"
        )
