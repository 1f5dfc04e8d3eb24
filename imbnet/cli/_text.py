"""Free-text columns in ``imbnet compare`` / ``fit`` / ``predict``: the strategies that read them.

A table may hold free text beside its numeric and categorical columns (a claim's
description, a ticket's body). :func:`imbnet.cli._data.split_text_columns` finds
those columns (or takes them from ``--text-columns``). Then:

- the tabular strategies (every MLP, SMOTE, resampling, ``logreg``, ``hgb``)
  use the numeric and categorical columns only: the text columns are left out
  of them (one-hot encoding free text would keep its 50 most frequent
  documents, which says nothing);
- ``text``: :class:`imbnet.CostSensitiveTextClassifier` with
  ``class_weight="balanced"`` on the text (several text columns are joined into
  one document per row, missing text read as empty);
- ``text_tabular``: one network with two inputs
  (:class:`imbnet.ResampledKerasClassifier` with ``inputs=``): the text through
  a bag of word and word-pair embeddings, the numeric columns (imputed,
  standardised) through a dense layer, categorical values as words of the
  document, ``class_weight="balanced"``;
- ``text_logreg``: the reference a user would try first, TF-IDF of the text
  (words and word pairs) beside the tabular columns' usual encoding, then
  ``LogisticRegression(class_weight="balanced")``.

The functions a saved model refers to (:func:`join_text`, :func:`named_frame`,
:func:`build_text_tabular`) are importable from ``imbnet.cli``.
"""

import re

from ._data import make_preprocessor

__all__ = [
    "TEXT_COLUMN",
    "build_text_tabular",
    "join_text",
    "named_frame",
    "runnable_strategies",
    "text_logreg_steps",
    "text_steps",
    "text_tabular_steps",
]

TEXT_COLUMN = "imbnet_text"  # the joined document's column in text_tabular's input
EMPTY_DOCUMENT = "imbnetnotext"  # the one word of a document of none (named_frame)
# What Keras's TextVectorization keeps of a document (its default standardisation
# lower-cases and strips ASCII punctuation): a document without any has no words.
_WORD = re.compile(r"""[^\s!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]""")


def join_text(X, categorical=0, flat=False):
    """One document per row: the text columns of ``X`` joined by spaces, missing ones empty.

    The last ``categorical`` columns are categories: each becomes a word
    ``<column>_<value>`` of the document (used by ``text_tabular``). Returns an
    object array of shape (n, 1), or (n,) with ``flat`` (what ``TfidfVectorizer``
    takes).
    """
    import numpy as np
    import pandas as pd

    frame = X if hasattr(X, "columns") else pd.DataFrame(np.asarray(X, dtype=object))
    names = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype=object)
    missing = pd.isna(values)
    n_text = values.shape[1] - int(categorical)
    documents = []
    for row, absent in zip(values, missing):
        words = [str(v) for v, a in zip(row[:n_text], absent[:n_text]) if not a]
        for name, value, a in zip(names[n_text:], row[n_text:], absent[n_text:]):
            if not a:
                words.append(f"{name}_{value}".replace(" ", "_"))
        documents.append(" ".join(words))
    out = np.array(documents + [None], dtype=object)[:-1]
    return out if flat else out.reshape(-1, 1)


def named_frame(X, columns, mark_empty=False):
    """``X`` (joined text first, then numbers) as a DataFrame with ``columns``: the
    named columns ``text_tabular``'s two-input network reads.

    ``mark_empty``: a document with no words (missing text, only punctuation) reads as
    the one word ``EMPTY_DOCUMENT``. The network averages its words' embeddings, and
    an average of none is NaN: its training stopped as "diverged", and its
    predictions for such a row were NaN. (False: models saved before, unchanged.)"""
    import numpy as np
    import pandas as pd

    X = np.asarray(X, dtype=object)
    documents = X[:, 0].astype(str)
    if mark_empty:
        documents = np.array(
            [d if _WORD.search(d) else EMPTY_DOCUMENT for d in documents], dtype=object
        )
    frame = pd.DataFrame({columns[0]: documents})
    for i, column in enumerate(columns[1:], start=1):
        frame[column] = X[:, i].astype(np.float32)
    return frame


def build_text_tabular(meta, embedding_dim=16, hidden=16, max_tokens=20000):
    """Text and numeric inputs, one output: the network of ``text_tabular``.

    Input ``"text"`` (one string per row): word and word-pair ids
    (``TextVectorization``, adapted by imbnet on each fit's training rows),
    averaged embeddings. Input ``"numeric"`` (every other column): a ReLU layer.
    Both are joined, then the output layer.
    """
    import keras

    n_numeric = meta["n_features_in_"] - 1
    text = keras.Input((1,), dtype="string", name="text")
    numeric = keras.Input((n_numeric,), name="numeric")
    ids = keras.layers.TextVectorization(max_tokens=max_tokens, ngrams=2, output_mode="int")(text)
    words = keras.layers.Embedding(max_tokens, embedding_dim, mask_zero=True)(ids)
    words = keras.layers.GlobalAveragePooling1D()(words)
    numbers = keras.layers.Dense(hidden, activation="relu")(numeric)
    joined = keras.layers.Concatenate()([words, numbers])
    if meta["n_classes_"] == 2:
        output = keras.layers.Dense(1, activation="sigmoid")(joined)
    else:
        output = keras.layers.Dense(meta["n_classes_"], activation="softmax")(joined)
    return keras.Model({"text": text, "numeric": numeric}, output)


def _join(text, categorical=0, flat=False):
    from sklearn.preprocessing import FunctionTransformer

    kw_args = {}
    if categorical:
        kw_args["categorical"] = categorical
    if flat:
        kw_args["flat"] = True
    return FunctionTransformer(join_text, kw_args=kw_args or None)


def text_steps(ctx):
    """``text``: CostSensitiveTextClassifier(class_weight="balanced") on the text columns."""
    from sklearn.compose import ColumnTransformer

    from imbnet import CostSensitiveTextClassifier

    columns = list(ctx.text)
    preprocess = ColumnTransformer([("text", _join(columns), columns)], remainder="drop")
    clf = CostSensitiveTextClassifier(
        class_weight="balanced", epochs=ctx.epochs, random_state=ctx.random_state
    )
    return [("preprocess", preprocess), ("clf", clf)]


def text_tabular_steps(ctx, batch_size=200):
    """``text_tabular``: the two-input network on the text and the numeric columns."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from imbnet import ResampledKerasClassifier

    words = list(ctx.text) + list(ctx.categorical)
    numeric = list(ctx.numeric)
    preprocess = ColumnTransformer(
        [
            ("text", _join(words, categorical=len(ctx.categorical)), words),
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ],
        remainder="drop",
    )
    columns = [TEXT_COLUMN, *map(str, numeric)]
    name = FunctionTransformer(named_frame, kw_args={"columns": columns, "mark_empty": True})
    clf = ResampledKerasClassifier(
        build_text_tabular,
        inputs={"text": [TEXT_COLUMN], "numeric": columns[1:]},
        class_weight="balanced",
        epochs=ctx.epochs,
        batch_size=batch_size,
        optimizer="adam",
        optimizer__learning_rate=0.01,
        random_state=ctx.random_state,
    )
    return [("preprocess", preprocess), ("name", name), ("clf", clf)]


def text_logreg_steps(ctx):
    """``text_logreg``: TF-IDF of the text beside the usual encoding of the other
    columns, then a balanced logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    columns = list(ctx.text)
    tfidf = make_pipeline(
        _join(columns, flat=True), TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    )
    tabular = make_preprocessor(ctx.numeric, ctx.categorical).transformers
    preprocess = ColumnTransformer([("text", tfidf, columns), *tabular], remainder="drop")
    clf = LogisticRegression(class_weight="balanced", max_iter=1000)
    return [("preprocess", preprocess), ("clf", clf)]


def runnable_strategies(names, strategies, *, numeric, categorical, text, explicit):
    """``(names, notes)``: the strategies of ``names`` that these columns allow, and what
    the comparison says about the columns.

    A strategy ``strategies[name].reads`` "tabular", "text" or "text+numeric"
    columns. Those the columns do not allow are left out of the default list;
    named (``explicit``), they are an error.
    """
    from ._errors import CommandError

    have = {
        "tabular": bool(numeric or categorical),
        "text": bool(text),
        "text+numeric": bool(text and numeric),
    }
    why = {
        "tabular": "numeric or categorical columns (this table has free text only)",
        "text": "a free-text column (none was detected: name one with --text-columns)",
        "text+numeric": "a free-text column and a numeric one",
    }
    missing = [n for n in names if not have[strategies[n].reads]]
    if missing and explicit:
        first = missing[0]
        raise CommandError(f"strategy {first!r} needs {why[strategies[first].reads]}")
    names = [n for n in names if n not in missing]
    if not names:
        raise CommandError("no strategy can run on these columns")
    notes = []
    if text:
        listed = ", ".join(repr(str(c)) for c in text)
        readers = [n for n in names if strategies[n].reads != "tabular"]
        others = len(numeric) + len(categorical)
        tabular = f"the other {others} column(s) only" if others else "nothing (no other columns)"
        notes.append(
            f"free-text column(s) {listed}: read by the text strategies "
            f"({', '.join(readers) or 'none chosen'}); the tabular strategies use {tabular}"
        )
    return names, notes
