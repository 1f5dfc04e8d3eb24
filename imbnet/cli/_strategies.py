"""The imbalance strategies ``imbnet compare`` and ``imbnet fit`` know.

Each strategy builds the whole pipeline (preprocessing included) from a
:class:`Context`: a network trained with one way of handling the imbalance, or a
non-neural reference a user would try first. Importing this module is light:
estimators (and Keras) are imported when a pipeline is built.

To add a strategy, add a :class:`Strategy` to ``STRATEGIES``; its ``build`` returns
the pipeline's steps, usually ``[preprocess(ctx), ("clf", mlp(ctx, ...))]``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from ._data import make_encoder, make_imputer, make_preprocessor
from ._text import text_logreg_steps, text_steps, text_tabular_steps

__all__ = [
    "STRATEGIES",
    "Context",
    "Strategy",
    "build_network",
    "describe",
    "make_pipeline",
    "mlp",
    "preprocess",
    "resampled",
]

HIDDEN_LAYER_SIZES = (64, 32)
BATCH_SIZE = 200


@dataclass(frozen=True)
class Context:
    """What a strategy's pipeline depends on besides the strategy."""

    epochs: int
    random_state: int
    numeric: tuple = ()
    categorical: tuple = ()
    text: tuple = ()  # free-text columns (see ``_text``)


@dataclass(frozen=True)
class Strategy:
    """One row of the comparison.

    ``description`` is text, or a function of the context; ``build(ctx)``
    returns the pipeline steps; ``network`` says whether it trains a
    Keras network (whose epochs a time budget may shorten); ``prior_correction``
    whether its classifier changes the class mix it learns from, so that
    ``clf__prior_correction=True`` changes its probabilities; ``note(y)`` returns
    a remark about this strategy on these labels, or None; ``reads`` the
    columns it needs: "tabular" (numeric or categorical), "text", or
    "text+numeric".
    """

    description: str
    build: Callable
    network: bool = True
    prior_correction: bool = False
    note: Callable = field(default=lambda y: None)
    reads: str = "tabular"


def build_network(meta, hidden_layer_sizes=(64, 32)):
    """The network of the resampling strategies: the MLP strategies' architecture."""
    import keras

    n_classes = meta["n_classes_"]
    layers = [keras.Input((meta["n_features_in_"],))]
    layers += [keras.layers.Dense(units, activation="relu") for units in hidden_layer_sizes]
    if n_classes == 2:
        layers.append(keras.layers.Dense(1, activation="sigmoid"))
    else:
        layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(layers)


def preprocess(ctx):
    """The standard first step: impute, scale, one-hot encode."""
    return ("preprocess", make_preprocessor(ctx.numeric, ctx.categorical))


def mlp(ctx, **params):
    """``CostSensitiveMLPClassifier`` with the comparison's architecture."""
    from imbnet import CostSensitiveMLPClassifier

    return CostSensitiveMLPClassifier(
        hidden_layer_sizes=HIDDEN_LAYER_SIZES,
        max_iter=ctx.epochs,
        batch_size=BATCH_SIZE,
        random_state=ctx.random_state,
        **params,
    )


def resampled(ctx, **params):
    """``ResampledKerasClassifier`` on :func:`build_network`."""
    from imbnet import ResampledKerasClassifier

    return ResampledKerasClassifier(
        build_network,
        epochs=ctx.epochs,
        batch_size=BATCH_SIZE,
        optimizer="adam",
        random_state=ctx.random_state,
        **params,
    )


def _smote(ctx):
    """SMOTE on numeric data; SMOTENC / SMOTEN before one-hot encoding with categories."""
    from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC

    seed = ctx.random_state
    if not ctx.categorical:
        return [preprocess(ctx), ("smote", SMOTE(random_state=seed)), ("clf", mlp(ctx))]
    n_numeric, n_categorical = len(ctx.numeric), len(ctx.categorical)
    if n_numeric:
        categorical = list(range(n_numeric, n_numeric + n_categorical))
        sampler = SMOTENC(categorical_features=categorical, random_state=seed)
    else:
        sampler = SMOTEN(random_state=seed)
    return [
        ("preprocess", make_imputer(ctx.numeric, ctx.categorical)),
        ("smote", sampler),
        ("encode", make_encoder(n_numeric, n_categorical)),
        ("clf", mlp(ctx)),
    ]


def _smote_description(ctx):
    if not ctx.categorical:
        return "SMOTE, then MLP"
    kind = "SMOTENC" if ctx.numeric else "SMOTEN"
    return f"{kind} on the raw categories, one-hot after, then MLP"


def _log_weights_note(y):
    """Say so when 'log' weights leave every class at 1 (no class rare enough)."""
    import numpy as np

    from imbnet import compute_class_weight

    classes, counts = np.unique(y, return_counts=True)
    weights = compute_class_weight("log", classes=classes, y=y)
    if all(w == 1 for w in weights.values()):
        share = counts.min() / counts.sum()
        return (
            f"class_weight='log' leaves every class at weight 1 here: the rarest class is "
            f"{share:.1%} of the rows, above mu/e = {0.15 / np.e:.1%} (mu=0.15), so 'log' "
            "trains the same network as 'none'"
        )
    return None


# name -> Strategy; the default comparison runs them all, in this order
STRATEGIES = {
    "none": Strategy("MLP, no weighting", lambda ctx: [preprocess(ctx), ("clf", mlp(ctx))]),
    "balanced": Strategy(
        'MLP, class_weight="balanced"',
        lambda ctx: [preprocess(ctx), ("clf", mlp(ctx, class_weight="balanced"))],
        prior_correction=True,
    ),
    "log": Strategy(
        'MLP, class_weight="log"',
        lambda ctx: [preprocess(ctx), ("clf", mlp(ctx, class_weight="log"))],
        prior_correction=True,
        note=_log_weights_note,
    ),
    "focal": Strategy(
        "MLP, focal loss", lambda ctx: [preprocess(ctx), ("clf", mlp(ctx, loss="focal"))]
    ),
    "logit_adjusted": Strategy(
        "MLP, logit-adjusted loss (tau=1)",
        lambda ctx: [preprocess(ctx), ("clf", mlp(ctx, loss="logit_adjusted"))],
        prior_correction=True,
    ),
    "ldam_drw": Strategy(
        'MLP, LDAM loss, class_weight="effective" from 80% of the epochs (DRW)',
        lambda ctx: [
            preprocess(ctx),
            (
                "clf",
                mlp(
                    ctx,
                    loss="ldam",
                    class_weight="effective",
                    class_weight_beta=0.9999,
                    deferred_reweighting=0.8,
                ),
            ),
        ],
        prior_correction=True,
    ),
    "smote": Strategy(_smote_description, _smote),
    "undersample": Strategy(
        "random under-sampling, re-drawn every epoch",
        lambda ctx: [
            preprocess(ctx),
            ("clf", resampled(ctx, sampler=_random_under_sampler(), resample="epoch")),
        ],
        prior_correction=True,
    ),
    "balanced_batches": Strategy(
        "class-balanced mini-batches (1:1)",
        lambda ctx: [preprocess(ctx), ("clf", resampled(ctx, batch_ratio=1.0))],
        prior_correction=True,
    ),
    "logreg": Strategy(
        'LogisticRegression(class_weight="balanced")',
        lambda ctx: [preprocess(ctx), ("clf", _logistic_regression())],
        network=False,
    ),
    "hgb": Strategy(
        'HistGradientBoostingClassifier(class_weight="balanced")',
        lambda ctx: [preprocess(ctx), ("clf", _gradient_boosting(ctx.random_state))],
        network=False,
    ),
    # with a free-text column only (see _text)
    "text": Strategy(
        'CostSensitiveTextClassifier(class_weight="balanced") on the text',
        text_steps,
        prior_correction=True,
        reads="text",
    ),
    "text_tabular": Strategy(
        'two-input network: text (word embeddings) + numeric columns, class_weight="balanced"',
        text_tabular_steps,
        prior_correction=True,
        reads="text+numeric",
    ),
    "text_logreg": Strategy(
        'TF-IDF of the text + the other columns, LogisticRegression(class_weight="balanced")',
        text_logreg_steps,
        network=False,
        reads="text",
    ),
}


def _random_under_sampler():
    from imblearn.under_sampling import RandomUnderSampler

    return RandomUnderSampler()


def _logistic_regression():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(class_weight="balanced", max_iter=1000)


def _gradient_boosting(seed):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(class_weight="balanced", random_state=seed)


def describe(name, ctx):
    """The one-line description of strategy ``name`` on this data."""
    description = STRATEGIES[name].description
    return description(ctx) if callable(description) else description


def make_pipeline(name, ctx):
    """A fresh, unfitted imbalanced-learn ``Pipeline`` of strategy ``name``."""
    from imblearn.pipeline import Pipeline

    return Pipeline(STRATEGIES[name].build(ctx))
