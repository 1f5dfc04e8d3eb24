"""Tables in, features and target out: reading files, the default dataset, preprocessing.

Preprocessing is scikit-learn's own transformers in a ``ColumnTransformer``:
numeric columns imputed (median) and standardised, other columns imputed (most
frequent) and one-hot encoded. It is the first step of every pipeline, so each
cross-validation fold learns it from its own training rows.
"""

import os

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ._errors import CommandError

__all__ = [
    "DEFAULT_DATASET",
    "as_text",
    "check_features",
    "default_dataset",
    "make_preprocessor",
    "read_table",
    "split_target",
]

DEFAULT_DATASET = "tutorial 1:100 (make_classification, 10000 rows, 2 features, random_state=4)"
DEFAULT_TARGET = "y"


def default_dataset():
    """The cost-sensitive tutorial's 1:100 dataset, as a table with target ``y``."""
    X, y = make_classification(
        n_samples=10000,
        n_features=2,
        n_redundant=0,
        n_clusters_per_class=2,
        weights=[0.99],
        flip_y=0,
        random_state=4,
    )
    frame = pd.DataFrame(X, columns=["x0", "x1"])
    frame[DEFAULT_TARGET] = y
    return frame


def read_table(path):
    """A CSV or Parquet file as a DataFrame; a clear error for anything else."""
    if not os.path.isfile(path):
        raise CommandError(f"{path}: no such file")
    try:
        if str(path).lower().endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except ImportError as exc:
        raise CommandError(f"{path}: reading Parquet needs pyarrow ({exc})") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        reason = "the file is empty" if isinstance(exc, pd.errors.EmptyDataError) else exc
        raise CommandError(f"{path}: cannot read it as a table ({reason})") from None
    if frame.shape[0] == 0:
        raise CommandError(f"{path}: the table has no rows")
    return frame


def split_target(frame, target, min_per_class=2):
    """Features and target of ``frame``; rows without a target are dropped (and said)."""
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:20]))
        raise CommandError(f"target column {target!r} not found; the columns are: {columns}")
    missing = frame[target].isna()
    notes = []
    if missing.any():
        notes.append(f"dropped {int(missing.sum())} rows without a value in {target!r}")
        frame = frame.loc[~missing]
    y = frame[target].to_numpy()
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        raise CommandError(f"the table has no feature columns besides {target!r}")
    labels, counts = np.unique(y.astype(str) if y.dtype == object else y, return_counts=True)
    if len(labels) < 2:
        which = f"only {str(labels[0])!r}" if len(labels) else "no values"
        raise CommandError(f"target column {target!r} has {which}: a classifier needs two classes")
    rare = labels[counts < min_per_class]
    if len(rare):
        raise CommandError(
            f"class {str(rare[0])!r} of {target!r} has {counts.min()} row(s); cross-validation "
            f"with {min_per_class} folds needs at least {min_per_class} per class "
            "(lower --cv, or drop the class)"
        )
    if y.dtype == object:
        y = y.astype(str)
    return X, y, notes


def make_preprocessor(X):
    """An unfitted ``ColumnTransformer`` for the columns of ``X``; refuses useless tables."""
    is_number = pd.api.types.is_numeric_dtype
    is_bool = pd.api.types.is_bool_dtype
    numeric = [c for c in X.columns if is_number(X[c]) and not is_bool(X[c]) and X[c].notna().any()]
    other = [c for c in X.columns if c not in numeric and X[c].notna().any()]
    if not numeric and not other:
        raise CommandError("every feature column is empty: nothing to learn from")
    transformers = []
    if numeric:
        transformers.append(
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
        )
    if other:
        encode = make_pipeline(
            FunctionTransformer(as_text, feature_names_out="one-to-one"),
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(
                handle_unknown="infrequent_if_exist", max_categories=50, sparse_output=False
            ),
        )
        transformers.append(("categorical", encode, other))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def check_features(preprocessor, X):
    """Fit ``preprocessor`` once on all of ``X`` to fail early on unusable features."""
    try:
        encoded = preprocessor.fit_transform(X)
    except (ValueError, TypeError) as exc:
        raise CommandError(f"cannot encode the feature columns ({exc})") from None
    if encoded.shape[1] == 0:
        raise CommandError("no usable feature column after encoding")
    return encoded.shape[1]


def as_text(X):
    """Non-numeric columns as text, missing values kept (for the imputer)."""
    values = np.asarray(X, dtype=object)
    missing = pd.isna(values)
    text = values.astype(str).astype(object)
    text[missing] = np.nan
    return text
