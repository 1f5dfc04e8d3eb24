"""Raw text as ``X``: recognising it, checking it, and the preprocessing layers
a model learns from it.

A text ``X`` is one document per row: a list of ``str``, a 1-D array of
strings, a pandas ``Series``, or a one-column ``DataFrame``. It is held as an
object array of shape (n_samples, 1), the shape a ``keras.Input((1,),
dtype="string")`` takes, so that rows are selected, split and resampled like
any other array. Keras preprocessing layers that a builder leaves un-adapted
(``TextVectorization``, ``StringLookup``, ...) learn their vocabulary or
statistics from the training rows of each fit (:func:`adapt_preprocessing`),
never from validation or test rows. This module knows nothing of estimators.
"""

import numbers

import keras
import numpy as np
from sklearn.utils.validation import check_array, check_consistent_length

from .._compat import check_sample_weight
from ..engine._keras_fit import model_input

__all__ = ["adapt_preprocessing", "is_text", "check_text", "takes_text", "ADAPTED_LAYERS"]

# Keras preprocessing layers whose state comes from data (``adapt``).
ADAPTED_LAYERS = tuple(
    getattr(keras.layers, name)
    for name in ("TextVectorization", "StringLookup", "IntegerLookup", "Normalization")
)


def _column(X):
    """``X`` as a 1-D object array if it has the shape of one text column, else None."""
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # a DataFrame
        if X.shape[1] != 1 or not _is_text_dtype(X.dtypes.iloc[0]):
            return None
        return X.iloc[:, 0].to_numpy(dtype=object)
    if hasattr(X, "iloc"):  # a Series
        return X.to_numpy(dtype=object) if _is_text_dtype(X.dtype) else None
    if isinstance(X, (list, tuple)):
        if not X or not any(isinstance(x, str) for x in X):
            return None
        return np.array(list(X) + [None], dtype=object)[:-1]  # never an array of lists
    if isinstance(X, np.ndarray) and X.dtype.kind in "OUS":
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        if X.ndim != 1 or X.size == 0:
            return None
        if X.dtype.kind == "O" and not any(isinstance(x, str) for x in X):
            return None
        return X.astype(object)
    return None


def _is_text_dtype(dtype):
    return getattr(dtype, "kind", None) == "O" or str(dtype) in ("string", "str")


def is_text(X):
    """Whether ``X`` is one text column: a list of str, a 1-D string array, a
    ``Series`` or a one-column ``DataFrame`` of strings."""
    return _column(X) is not None


def check_text(X, *, name="X"):
    """``X`` as an object array of shape (n_samples, 1) of ``str``; a clear error
    for missing, non-text or all-empty documents.

    Examples
    --------
    >>> from imbnet.data._text import check_text
    >>> check_text(["a cat", "a dog"]).shape
    (2, 1)
    """
    column = _column(X)
    if column is None:
        raise TypeError(
            f"{name} must be text, one document per row (a list of str, a 1-D array of "
            f"strings, a pandas Series or a one-column DataFrame); got {_describe(X)}."
        )
    missing = [i for i, x in enumerate(column) if x is None or _is_nan(x)]
    if missing:
        raise ValueError(
            f"{name} holds {len(missing)} missing documents (None or NaN), e.g. row "
            f"{missing[0]}: fill them with text, e.g. X.fillna(''), or drop those rows."
        )
    other = [i for i, x in enumerate(column) if not isinstance(x, str)]
    if other:
        first = column[other[0]]
        raise TypeError(
            f"{name} mixes text with other types: row {other[0]} is "
            f"{type(first).__name__} {first!r} ({len(other)} such rows). Convert the "
            "column to str first, e.g. X.astype(str)."
        )
    if not any(x.strip() for x in column):
        raise ValueError(f"every document in {name} is empty: there is no text to learn from.")
    return column.reshape(-1, 1)


def _is_nan(x):
    return isinstance(x, numbers.Real) and x != x


def _describe(X):
    if isinstance(X, np.ndarray):
        return f"an array of dtype {X.dtype} and shape {X.shape}"
    if hasattr(X, "columns"):
        return f"a DataFrame with columns {list(X.columns)[:5]}"
    return type(X).__name__


def check_text_fit_data(estimator, X, y, sample_weight):
    """Text ``X``, ``y`` and ``sample_weight`` checked for fit; sets ``n_features_in_``
    (1) and, for a DataFrame, ``feature_names_in_``."""
    names = list(X.columns) if hasattr(X, "columns") else None
    X = check_text(X)
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    check_consistent_length(X, y)
    if sample_weight is not None:
        sample_weight = check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if not np.any(sample_weight):
            raise ValueError("Sample weights must contain at least one non-zero number.")
    estimator.n_features_in_ = 1
    if names is not None:
        estimator.feature_names_in_ = np.asarray(names, dtype=object)
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    return X, y, sample_weight


def takes_text(model):
    """Whether ``model`` reads strings: one of its inputs has a string dtype."""
    return any(getattr(t, "dtype", None) == "string" for t in getattr(model, "inputs", None) or ())


def adapt_preprocessing(model, X):
    """Adapt every preprocessing layer of ``model`` that is not adapted yet
    (``TextVectorization``, ``StringLookup``, ``IntegerLookup``, ``Normalization``)
    on the values ``X`` (the training rows) give it. Returns the layers adapted.

    A layer fed straight from the model's input adapts on ``X`` itself; a
    deeper one on what the layers before it make of ``X``.
    """
    adapted = []
    for layer in _layers(model):
        if not isinstance(layer, ADAPTED_LAYERS) or _is_adapted(layer):
            continue
        try:
            feed = keras.Model(model.inputs, layer.input)
        except (ValueError, AttributeError, TypeError) as error:
            raise ValueError(
                f"the {type(layer).__name__} layer {layer.name!r} has no vocabulary yet and "
                "imbnet cannot tell which data reaches it (a subclassed model?): adapt "
                "it in the builder, e.g. layer.adapt(texts), or build the model with "
                "keras.Input."
            ) from error
        if any(feed.outputs[0] is t for t in model.inputs):
            values = X
        else:
            values = feed.predict(model_input(X), verbose=0)
        values = np.asarray(values)
        if values.dtype.kind in "OUS":  # text: the layers adapt on a string tensor
            values = model_input(values.reshape(len(values), -1)[:, 0])
        layer.adapt(values)
        adapted.append(layer)
    return adapted


def _is_adapted(layer):
    """Whether the layer has its vocabulary or statistics (adapted, or given)."""
    if isinstance(layer, keras.layers.Normalization):
        if layer.input_mean is not None:  # statistics given to the layer
            return True
        # Built but never adapted, a layer holds its initial mean 0 and variance 1.
        mean = keras.ops.convert_to_numpy(layer.mean) if layer.built else np.zeros(1)
        variance = keras.ops.convert_to_numpy(layer.variance) if layer.built else np.ones(1)
        return bool(np.any(mean != 0) or np.any(variance != 1))
    if isinstance(layer, keras.layers.TextVectorization):
        # "int" output reserves the padding id and one out-of-vocabulary id
        reserved = 2 if layer.get_config()["output_mode"] == "int" else 1
    else:
        reserved = layer.num_oov_indices + (layer.mask_token is not None)
    return layer.vocabulary_size() > reserved


def _layers(model):
    stack = list(getattr(model, "layers", []))
    seen = []
    while stack:
        layer = stack.pop(0)
        seen.append(layer)
        if isinstance(layer, keras.Model):
            stack.extend(layer.layers)
    return seen
