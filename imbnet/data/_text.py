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

from .._compat import check_sample_weight, to_numpy
from ..engine._keras_fit import PREPROCESSING_LAYERS, model_input, nested_layers

__all__ = [
    "NamedInputs",
    "adapt_preprocessing",
    "check_model_inputs",
    "check_named_inputs",
    "check_rows_target",
    "check_text",
    "check_text_fit_data",
    "is_text",
]


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


def check_text_fit_data(estimator, X, y, sample_weight, *, inputs=None):
    """Text ``X`` (or, with ``inputs``, a DataFrame split into :class:`NamedInputs`),
    ``y`` and ``sample_weight`` checked for fit; sets ``n_features_in_`` and, for a
    DataFrame, ``feature_names_in_``."""
    names = list(X.columns) if hasattr(X, "columns") else None
    X = check_text(X) if inputs is None else check_named_inputs(X, inputs)
    y, sample_weight = check_rows_target(X, y, sample_weight)
    estimator.n_features_in_ = 1 if names is None else len(names)
    if names is not None:
        estimator.feature_names_in_ = np.asarray(names, dtype=object)
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    return X, y, sample_weight


def check_rows_target(X, y, sample_weight):
    """``y`` (1-D unless multilabel) and ``sample_weight`` (float64 or None) checked
    against the rows of an already checked text ``X``."""
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    check_consistent_length(np.empty(len(X)), y)
    if sample_weight is not None:
        sample_weight = check_sample_weight(
            sample_weight, np.empty((len(X), 1)), dtype=np.float64, ensure_non_negative=True
        )
        if not np.any(sample_weight):
            raise ValueError("Sample weights must contain at least one non-zero number.")
    return y, sample_weight


def adapt_preprocessing(model, X):
    """Adapt every preprocessing layer of ``model`` that is not adapted yet
    (``TextVectorization``, ``StringLookup``, ``IntegerLookup``, ``Normalization``)
    on the values ``X`` (the training rows) give it. Returns the layers adapted.

    A layer fed straight from the model's input adapts on ``X`` itself; a
    deeper one on what the layers before it make of ``X``.
    """
    adapted = []
    for layer in nested_layers(model):
        if not isinstance(layer, PREPROCESSING_LAYERS) or _is_adapted(layer):
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
        direct = [i for i, t in enumerate(model.inputs) if feed.outputs[0] is t]
        if direct and isinstance(X, NamedInputs):
            values = X.arrays[model.inputs[direct[0]].name.split(":")[0]]
        elif direct:
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
        mean = to_numpy(layer.mean) if layer.built else np.zeros(1)
        variance = to_numpy(layer.variance) if layer.built else np.ones(1)
        return bool(np.any(mean != 0) or np.any(variance != 1))
    if isinstance(layer, keras.layers.TextVectorization):
        # "int" output reserves the padding id and one out-of-vocabulary id
        reserved = 2 if layer.get_config()["output_mode"] == "int" else 1
    else:
        reserved = layer.num_oov_indices + (layer.mask_token is not None)
    return layer.vocabulary_size() > reserved


class NamedInputs:
    """DataFrame columns mapped to a model's named inputs: ``{input name: array}``,
    each array of shape (n_samples, n_columns), text as ``str`` objects, numbers as
    float32. Rows are selected like an array's (``inputs[rows]``), so folds,
    hold-outs, samplers and batches work on it; ``keras_inputs()`` is the dict a
    multi-input Keras model takes."""

    def __init__(self, arrays):
        self.arrays = dict(arrays)

    def __len__(self):
        return len(next(iter(self.arrays.values())))

    @property
    def shape(self):
        return (len(self), sum(a.shape[1] for a in self.arrays.values()))

    ndim = 2
    dtype = np.dtype(object)

    def __getitem__(self, rows):
        return NamedInputs({name: array[rows] for name, array in self.arrays.items()})

    def keras_inputs(self):
        return dict(self.arrays)


def check_inputs_param(inputs):
    """``inputs`` as ``{input name: [column, ...]}``; a clear error for any other form."""
    if not isinstance(inputs, dict) or not inputs:
        raise TypeError(
            "inputs must map each of the model's input names to DataFrame columns, e.g. "
            f"inputs={{'text': ['title'], 'numeric': ['amount', 'age']}}; got {inputs!r}."
        )
    mapping = {}
    for name, columns in inputs.items():
        columns = [columns] if isinstance(columns, str) else list(columns)
        if not isinstance(name, str) or not columns:
            raise TypeError(f"inputs: {name!r} must be an input name with at least one column.")
        mapping[name] = columns
    return mapping


def check_named_inputs(X, inputs):
    """The DataFrame ``X`` split into :class:`NamedInputs` by ``inputs``."""
    mapping = check_inputs_param(inputs)
    if not hasattr(X, "columns"):
        raise TypeError(
            "with inputs=..., X must be a pandas DataFrame holding the columns it names; "
            f"got {_describe(X)}."
        )
    arrays = {}
    for name, columns in mapping.items():
        missing = [c for c in columns if c not in X.columns]
        if missing:
            raise ValueError(
                f"X has no column {missing[0]!r} (named for the model input {name!r}); "
                f"its columns are {list(X.columns)[:10]}."
            )
        part = X[columns]
        if all(_is_text_dtype(dtype) for dtype in part.dtypes):
            arrays[name] = np.concatenate(
                [check_text(part[[c]], name=f"column {c!r}") for c in columns], axis=1
            )
        else:
            try:
                arrays[name] = check_array(part, dtype=np.float32, input_name=f"X[{columns}]")
            except ValueError as error:
                raise ValueError(
                    f"{error} The columns of model input {name!r} must be all text or all numeric."
                ) from None
    return NamedInputs(arrays)


def check_model_inputs(model, inputs):
    """The model's named inputs are those ``inputs`` maps columns to."""
    names = sorted(getattr(t, "name", "").split(":")[0] for t in model.inputs)
    if names != sorted(inputs):
        raise ValueError(
            f"the model's inputs are named {names}, but inputs= maps columns to "
            f"{sorted(inputs)}: name each keras.Input as the key it gets, e.g. "
            "keras.Input((1,), dtype='string', name='text')."
        )
