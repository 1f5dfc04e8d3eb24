"""Tables in, features and target out: reading files, the default dataset, preprocessing.

Preprocessing is scikit-learn's own transformers in a ``ColumnTransformer``:
numeric columns imputed (median) and standardised, other columns imputed (most
frequent) and one-hot encoded. Free-text columns (:func:`split_text_columns`) are
left out of it: the text strategies (``imbnet.cli._text``) read them. It is the
first step of every pipeline, so each cross-validation fold learns it from its
own training rows. Strategies that
resample before the network (SMOTE) encode the categories after resampling
instead: see :func:`make_imputer` and :func:`make_encoder`.

Importing this module is light (the command line's ``--help`` needs it); reading
and checking a file needs only pandas: scikit-learn is imported when a
preprocessor is built, so a bad file is reported at once.
"""

import os

from ._errors import CommandError

__all__ = [
    "DEFAULT_DATASET",
    "DEFAULT_TARGET",
    "as_text",
    "check_features",
    "column_kinds",
    "data_code",
    "default_dataset",
    "input_notes",
    "make_encoder",
    "make_imputer",
    "make_preprocessor",
    "numeric_text",
    "precheck",
    "read_table",
    "split_target",
    "split_text_columns",
]

DEFAULT_DATASET = "tutorial 1:100 (imbnet.make_tutorial_data: 10000 rows, 2 features)"
DEFAULT_TARGET = "y"
MAX_CATEGORIES = 50
# A non-numeric column is free text when at least this share of its values hold two
# or more words, and it has more than MAX_CATEGORIES distinct values, at least
# TEXT_DISTINCT of its non-missing values.
TEXT_MULTI_WORD = 0.5
TEXT_DISTINCT = 0.3


def default_dataset():
    """The cost-sensitive tutorial's 1:100 dataset, as a table with target ``y``."""
    import pandas as pd

    from imbnet import make_tutorial_data

    X, y = make_tutorial_data()
    frame = pd.DataFrame(X, columns=["x0", "x1"])
    frame[DEFAULT_TARGET] = y
    return frame


def data_code(path, target):
    """Python source that loads the same ``X`` and ``y`` as the command line does."""
    if path is None:
        return [
            "from imbnet import make_tutorial_data",
            "",
            "X, y = make_tutorial_data()",
            'X = pd.DataFrame(X, columns=["x0", "x1"])',
        ]
    path = os.path.abspath(path)
    reader = "read_parquet" if path.lower().endswith((".parquet", ".pq")) else "read_csv"
    return [
        f"data = pd.{reader}({path!r})",
        f"data = data[data[{target!r}].notna()]",
        f"X, y = data.drop(columns=[{target!r}]), data[{target!r}].to_numpy()",
        "if y.dtype == object:",
        "    y = y.astype(str)",
    ]


def precheck(path, target):
    """The errors a CSV file's first lines show, found before pandas is imported."""
    if not os.path.isfile(path):
        raise CommandError(f"{path}: no such file")
    if str(path).lower().endswith((".parquet", ".pq")):
        return
    import csv

    with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
        rows = (row for row in csv.reader(file) if any(cell.strip() for cell in row))
        header, first = next(rows, None), next(rows, None)
    if header is None:
        raise CommandError(f"{path}: cannot read it as a table (the file is empty)")
    if first is None:
        raise CommandError(f"{path}: the table has no rows")
    # pandas renames repeated columns "name.1": leave those to it.
    if target is not None and header and target not in header and target.rpartition(".")[0] == "":
        columns = ", ".join(header[:20])
        raise CommandError(f"target column {target!r} not found; the columns are: {columns}")


def read_table(path):
    """A CSV or Parquet file as a DataFrame; a clear error for anything else."""
    import pandas as pd

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
    import numpy as np

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


def column_kinds(X):
    """``(numeric, categorical)`` column names of ``X``; empty columns are in neither."""
    import pandas as pd

    is_number = pd.api.types.is_numeric_dtype
    is_bool = pd.api.types.is_bool_dtype
    numeric = [c for c in X.columns if is_number(X[c]) and not is_bool(X[c]) and X[c].notna().any()]
    other = [c for c in X.columns if c not in numeric and X[c].notna().any()]
    if not numeric and not other:
        raise CommandError("every feature column is empty: nothing to learn from")
    return numeric, other


def is_free_text(values):
    """Whether a non-numeric column holds free text rather than categories.

    The rule: among its non-missing values, at least half hold two or more
    words (separated by whitespace), and there are more than ``MAX_CATEGORIES``
    (50) distinct values, making up at least 30 % of the values. So a ticket's
    description or a message is text; a country, a product code, or a category
    of a few words that repeats ("New York") is not.
    """
    import pandas as pd

    present = values.dropna()
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    if len(present) == 0:
        return False
    present = present.astype(str)
    multi_word = present.str.strip().str.split().str.len() >= 2
    distinct = present.nunique()
    return bool(
        multi_word.mean() >= TEXT_MULTI_WORD
        and distinct > MAX_CATEGORIES
        and distinct >= TEXT_DISTINCT * len(present)
    )


def split_text_columns(X, numeric, categorical, named=None):
    """``(categorical, text)``: the free-text columns taken out of ``categorical``.

    ``named`` is ``--text-columns``: None detects them (:func:`is_free_text`);
    ``"none"`` switches detection off; otherwise a comma-separated list of
    columns, each of which must exist and not be numeric.
    """
    if named is None:
        text = [c for c in categorical if is_free_text(X[c])]
    elif named.strip().lower() == "none":
        text = []
    else:
        text = [c.strip() for c in named.split(",") if c.strip()]
        if not text:
            raise CommandError("--text-columns: give column names, e.g. --text-columns title,body")
        for column in text:
            if column not in X.columns:
                columns = ", ".join(map(str, X.columns[:20]))
                raise CommandError(
                    f"--text-columns: no column {column!r}; the feature columns are: {columns}"
                )
            if column in numeric:
                raise CommandError(
                    f"--text-columns: column {column!r} is numeric; name free-text columns only"
                )
            if column not in categorical:
                raise CommandError(f"--text-columns: column {column!r} is empty")
    return [c for c in categorical if c not in text], text


def _numeric_pipeline():
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler())


def _text_imputer():
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return make_pipeline(
        FunctionTransformer(as_text, feature_names_out="one-to-one"),
        SimpleImputer(strategy="most_frequent"),
    )


def _one_hot():
    from sklearn.preprocessing import OneHotEncoder

    return OneHotEncoder(
        handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES, sparse_output=False
    )


def make_preprocessor(numeric, categorical):
    """An unfitted ``ColumnTransformer``: numeric columns scaled, the others one-hot encoded."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    transformers = []
    if numeric:
        transformers.append(("numeric", _numeric_pipeline(), list(numeric)))
    if categorical:
        encode = make_pipeline(_text_imputer(), _one_hot())
        transformers.append(("categorical", encode, list(categorical)))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def make_imputer(numeric, categorical):
    """Like :func:`make_preprocessor` but categories stay text (for SMOTENC / SMOTEN).

    Its output holds the numeric columns first, then the categorical ones.
    """
    from sklearn.compose import ColumnTransformer

    transformers = []
    if numeric:
        transformers.append(("numeric", _numeric_pipeline(), list(numeric)))
    transformers.append(("categorical", _text_imputer(), list(categorical)))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def make_encoder(n_numeric, n_categorical):
    """One-hot encodes the last ``n_categorical`` columns of :func:`make_imputer`'s output."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import StandardScaler

    categorical = list(range(n_numeric, n_numeric + n_categorical))
    transformers = [("categorical", _one_hot(), categorical)]
    if n_numeric:
        # The resampled array holds objects: make the numeric columns numbers again.
        transformers.insert(0, ("numeric", StandardScaler(), list(range(n_numeric))))
    return ColumnTransformer(transformers, remainder="drop")


def check_features(preprocessor, X):
    """Fit ``preprocessor`` once on all of ``X`` to fail early on unusable features."""
    try:
        encoded = preprocessor.fit_transform(X)
    except (ValueError, TypeError) as exc:
        raise CommandError(f"cannot encode the feature columns ({exc})") from None
    if encoded.shape[1] == 0:
        raise CommandError("no usable feature column after encoding")
    return encoded.shape[1]


def numeric_text(frame, columns):
    """``(column, value, row)`` of the first text value in a column that must be numeric."""
    import numpy as np
    import pandas as pd

    for column in columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            continue
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna() & values.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            return column, values.iloc[row], row
    return None


def as_text(X):
    """Non-numeric columns as text, missing values kept (for the imputer)."""
    import numpy as np
    import pandas as pd

    values = np.asarray(X, dtype=object)
    missing = pd.isna(values)
    text = values.astype(str).astype(object)
    text[missing] = np.nan
    return text


def input_notes(pipeline, X):
    """What the saved ``pipeline`` will do to rows of ``X`` unlike any it trained on.

    One line each: the rows with missing values (the preprocessing fills them, as in
    training), and the values of a categorical column the one-hot encoder never saw
    (encoded as its infrequent category if it has one, else as no category). Both
    are scikit-learn's behaviour and give a prediction; a user deploying a model
    should hear that some rows got one from filled-in or unknown values.
    """
    import numpy as np

    notes = []
    missing = X.isna()
    rows = int(missing.any(axis=1).sum())
    if rows:
        columns = [c for c in X.columns if missing[c].any()]
        notes.append(
            f"{_rows(rows, len(X))} missing values (in {_names(columns)}): filled by the "
            "model's preprocessing, as in training"
        )
    for column, (seen, rare) in _seen_categories(pipeline).items():
        if column not in X.columns:
            continue
        values = X[column]
        text = values.astype(str)
        unseen = values.notna().to_numpy() & ~text.isin(seen).to_numpy()
        if unseen.any():
            example = text.to_numpy()[np.flatnonzero(unseen)[0]]
            notes.append(
                f"{_rows(int(unseen.sum()), len(X))} a value of {column!r} not seen in "
                f"training (e.g. {example!r}): encoded as "
                + ("the column's rare values" if rare else "none of its training values")
            )
    return notes


def _rows(n, total):
    return f"{n} of {total} rows " + ("has" if n == 1 else "have")


def _names(columns):
    shown = ", ".join(repr(c) for c in columns[:5])
    return shown + (f" and {len(columns) - 5} more" if len(columns) > 5 else "")


def _seen_categories(pipeline):
    """Column name -> (the values, as text, that the one-hot encoders of ``pipeline``
    learnt; whether unknown values join an infrequent category), for the column
    transformers of :func:`make_preprocessor`, :func:`make_imputer` and
    :func:`make_encoder` (the last names columns by position in the imputer's output)."""
    import numpy as np

    seen, names = {}, None
    for _, step in getattr(pipeline, "steps", []):
        transformers = getattr(step, "transformers_", None)
        if transformers is None:
            continue
        output = []
        for _, transformer, columns in transformers:
            if isinstance(transformer, str):  # "drop" / "passthrough" remainder
                continue
            columns = [columns] if isinstance(columns, str) else list(columns)
            if names is not None and all(isinstance(c, (int, np.integer)) for c in columns):
                columns = [names[c] for c in columns]
            output.extend(columns)
            encoder = transformer.steps[-1][1] if hasattr(transformer, "steps") else transformer
            categories = getattr(encoder, "categories_", [])
            rare = getattr(encoder, "infrequent_categories_", None) or [None] * len(categories)
            for column, values, infrequent in zip(columns, categories, rare):
                seen[column] = ({str(v) for v in values}, infrequent is not None)
        names = output
    return seen
