"""The imbalance strategies ``imbnet compare`` and ``imbnet fit`` know.

Each strategy is a list of pipeline steps placed after the preprocessing: a
network trained with one way of handling the imbalance, or a non-neural
reference a user would try first.
"""

import keras
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import RandomUnderSampler
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier

__all__ = ["STRATEGIES", "build_network", "make_steps"]

HIDDEN_LAYER_SIZES = (64, 32)
BATCH_SIZE = 200


def build_network(meta, hidden_layer_sizes=HIDDEN_LAYER_SIZES):
    """The network of the resampling strategies: the MLP strategies' architecture."""
    n_classes = meta["n_classes_"]
    layers = [keras.Input((meta["n_features_in_"],))]
    layers += [keras.layers.Dense(units, activation="relu") for units in hidden_layer_sizes]
    if n_classes == 2:
        layers.append(keras.layers.Dense(1, activation="sigmoid"))
    else:
        layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(layers)


def _mlp(epochs, random_state, **params):
    return CostSensitiveMLPClassifier(
        hidden_layer_sizes=HIDDEN_LAYER_SIZES,
        max_iter=epochs,
        batch_size=BATCH_SIZE,
        random_state=random_state,
        **params,
    )


def _resampled(epochs, random_state, **params):
    return ResampledKerasClassifier(
        build_network,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        optimizer="adam",
        random_state=random_state,
        **params,
    )


# name -> (description, steps(epochs, random_state))
STRATEGIES = {
    "none": (
        "MLP, no weighting",
        lambda epochs, seed: [("clf", _mlp(epochs, seed))],
    ),
    "balanced": (
        'MLP, class_weight="balanced"',
        lambda epochs, seed: [("clf", _mlp(epochs, seed, class_weight="balanced"))],
    ),
    "log": (
        'MLP, class_weight="log"',
        lambda epochs, seed: [("clf", _mlp(epochs, seed, class_weight="log"))],
    ),
    "focal": (
        "MLP, focal loss",
        lambda epochs, seed: [("clf", _mlp(epochs, seed, loss="focal"))],
    ),
    "logit_adjusted": (
        "MLP, logit-adjusted loss (tau=1)",
        lambda epochs, seed: [("clf", _mlp(epochs, seed, loss="logit_adjusted"))],
    ),
    "ldam_drw": (
        'MLP, LDAM loss, class_weight="effective" from 80% of the epochs (DRW)',
        lambda epochs, seed: [
            (
                "clf",
                _mlp(
                    epochs, seed, loss="ldam", class_weight="effective",
                    class_weight_beta=0.9999, deferred_reweighting=0.8,
                ),
            )
        ],
    ),
    "smote": (
        "SMOTE, then MLP",
        lambda epochs, seed: [
            ("smote", SMOTE(random_state=seed)),
            ("clf", _mlp(epochs, seed)),
        ],
    ),
    "undersample": (
        "random under-sampling, re-drawn every epoch",
        lambda epochs, seed: [
            ("clf", _resampled(epochs, seed, sampler=RandomUnderSampler(), resample="epoch"))
        ],
    ),
    "balanced_batches": (
        "class-balanced mini-batches (1:1)",
        lambda epochs, seed: [("clf", _resampled(epochs, seed, batch_ratio=1.0))],
    ),
    "logreg": (
        'LogisticRegression(class_weight="balanced")',
        lambda epochs, seed: [("clf", LogisticRegression(class_weight="balanced", max_iter=1000))],
    ),
    "hgb": (
        'HistGradientBoostingClassifier(class_weight="balanced")',
        lambda epochs, seed: [
            (
                "clf",
                HistGradientBoostingClassifier(class_weight="balanced", random_state=seed),
            )
        ],
    ),
}


def make_steps(name, epochs, random_state):
    """Fresh pipeline steps of strategy ``name``."""
    return STRATEGIES[name][1](epochs, random_state)
