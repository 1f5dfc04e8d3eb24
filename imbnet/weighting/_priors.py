"""Class priors: what the data has, what the network trained under, and the map between.

Class weights and resampling change the class mix a network learns from. A
network trained to minimise cross-entropy on that mix estimates
``p'(c|x) ∝ p(c|x) · π'_c / π_c``, where ``π`` is the class prior of the data
and ``π'`` the *training prior*: the share of each class in the total weight
the network was fed (class weight × sample weight × rows, over the rows each
epoch actually trained on, resampled or balanced-batched). Multiplying by
``π_c / π'_c`` and renormalising undoes the shift (Saerens et al., 2002, "Adjusting
the outputs of a classifier to new a priori probabilities"). For a multilabel
target each label is a binary problem with its own pair of priors.

The same training prior gives the output bias at which a network starts out
predicting the base rate it is trained under: ``log(π'_1 / π'_0)`` for a single
sigmoid unit, ``log π'_c`` for softmax units, the log-odds of each label for
multilabel sigmoid units.

This module knows nothing of estimators.
"""

import keras
import numpy as np

__all__ = [
    "PriorTally",
    "correct_proba",
    "data_prior",
    "output_bias",
    "set_output_bias",
]

# Priors are clipped away from 0 and 1 before logs and divisions: a class the
# network never saw has no defined correction, and log(0) no finite bias.
_EPS = 1e-12


def data_prior(y_encoded, sample_weight, *, n_classes, multilabel):
    """The class prior of the training labels, weighted by ``sample_weight``.

    Returns an array of shape (n_classes,) summing to 1, or for a multilabel
    indicator matrix the positive rate of each label, shape (n_labels,).
    """
    weight = np.ones(y_encoded.shape[0]) if sample_weight is None else sample_weight
    if multilabel:
        return (weight @ y_encoded) / weight.sum()
    return _normalised(np.bincount(y_encoded, weights=weight, minlength=n_classes))


class PriorTally:
    """The training prior, accumulated over the epochs a network is fed.

    ``add`` takes what one epoch trains on, as the fit loop gets it: the
    epoch's number, the encoded targets ("column": a 0/1 column or integer
    labels; "one_hot"; "multilabel": the 0/1 matrix), the per-row (or
    per-entry) loss weights, and the row order of the epoch (rows can repeat
    or be left out; an order of shape (n, k) feeds k rows per slot). A row
    counts with its weight each time the epoch order feeds it. An epoch drawn
    again replaces its earlier draw, and
    ``prior(n_epochs)`` counts only the epochs that were trained (a data
    pipeline may draw ahead).
    """

    def __init__(self, *, n_classes, multilabel):
        self.n_classes = n_classes
        self.multilabel = multilabel
        # Per epoch: the weight of each class (multilabel: of the positive
        # entries and of all entries, per label).
        self._epochs = {}

    def add(self, epoch, targets, weights, order, encoding):
        y, w = targets[order], np.asarray(weights, dtype=np.float64)[order]
        if self.multilabel:
            self._epochs[epoch] = ((w * y).sum(axis=0), w.sum(axis=0))
            return
        # Entries beyond one per row (time steps, ensemble members) count alike.
        y, w = y.reshape(-1, y.shape[-1]), w.reshape(-1)
        if encoding == "one_hot":
            self._epochs[epoch] = w @ y
        else:
            ids = y[:, 0].astype(np.int64)
            self._epochs[epoch] = np.bincount(ids, weights=w, minlength=self.n_classes)

    def mass(self, epoch):
        """What :meth:`add` recorded for ``epoch``."""
        return self._epochs[epoch]

    def set_mass(self, epoch, mass):
        """Record ``mass`` (from :meth:`mass`) for ``epoch``: an epoch with the same class mix."""
        self._epochs[epoch] = mass

    def prior(self, n_epochs=None, first=0):
        """Class shares of the weight fed in epochs ``first .. n_epochs - 1`` (all if
        None); the weighted positive rate of each label if multilabel."""
        epochs = [e for e in self._epochs if first <= e and (n_epochs is None or e < n_epochs)]
        if self.multilabel:
            positive = sum(self._epochs[e][0] for e in epochs)
            total = sum(self._epochs[e][1] for e in epochs)
            return np.asarray(positive / np.maximum(total, _EPS), dtype=np.float64)
        return _normalised(sum(self._epochs[e] for e in epochs))


def correct_proba(proba, prior, training_prior, *, multilabel):
    """Map probabilities learnt under ``training_prior`` back to ``prior``.

    ``p(c|x) ∝ p'(c|x) · π_c / π'_c``, renormalised over the classes; for
    multilabel positive-class probabilities, the same per label with the two
    classes "positive" and "negative". The map is strictly increasing in each
    binary probability, so rankings (ROC AUC) are unchanged.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
    prior, training_prior : ndarray of shape (n_classes,) or (n_labels,)
    multilabel : bool

    Returns
    -------
    ndarray of the shape of ``proba``

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.5, 0.5]])
    >>> correct_proba(p, np.array([0.9, 0.1]), np.array([0.5, 0.5]), multilabel=False)
    array([[0.9, 0.1]])
    """
    prior = np.clip(np.asarray(prior, dtype=np.float64), _EPS, 1.0)
    training_prior = np.clip(np.asarray(training_prior, dtype=np.float64), _EPS, 1.0)
    if multilabel:
        positive = proba * (prior / training_prior)
        negative = (1.0 - proba) * (
            np.clip(1.0 - prior, _EPS, 1.0) / np.clip(1.0 - training_prior, _EPS, 1.0)
        )
        return positive / (positive + negative)
    corrected = proba * (prior / training_prior)
    return corrected / corrected.sum(axis=1, keepdims=True)


def output_bias(training_prior, *, width, multilabel):
    """Output-layer bias at which a network predicts ``training_prior`` for any input.

    ``width`` is the number of output units: 1 (one sigmoid unit, binary:
    the log-odds ``log(π'_1 / π'_0)``), the number of classes (softmax:
    ``log π'_c``), or the number of labels (multilabel sigmoid units: the
    log-odds of each label).
    """
    prior = np.clip(np.asarray(training_prior, dtype=np.float64), _EPS, 1.0 - _EPS)
    if multilabel:
        return np.log(prior) - np.log1p(-prior)
    if width == 1:
        return np.array([np.log(prior[1]) - np.log(prior[0])])
    return np.log(prior)


def set_output_bias(model, bias):
    """Set the bias of ``model``'s output layer (its last ``Dense`` layer) to ``bias``.

    Raises
    ------
    ValueError
        If the last layer with weights is not a ``Dense`` layer with a bias of
        ``len(bias)`` units.
    """
    layer = _last_layer_with_weights(model)
    bias = np.asarray(bias, dtype=np.float32)
    if (
        not isinstance(layer, keras.layers.Dense)
        or layer.bias is None
        or tuple(layer.bias.shape) != bias.shape
    ):
        found = "none" if layer is None else f"{type(layer).__name__} {layer.name!r}"
        raise ValueError(
            "output_bias_init='prior' sets the bias of the model's output layer: the "
            f"last layer with weights must be a Dense layer with a bias of {bias.shape[0]} "
            f"unit(s) (the model's output width); found {found}. Use a Dense output "
            "layer with use_bias=True, or leave output_bias_init='zeros'."
        )
    layer.bias.assign(bias)


def _last_layer_with_weights(model):
    last = None
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None):  # a nested model or block
            inner = _last_layer_with_weights(layer)
            last = inner if inner is not None else last
        elif layer.weights:
            last = layer
    return last


def _normalised(mass):
    mass = np.asarray(mass, dtype=np.float64)
    total = mass.sum()
    return mass / total if total > 0 else np.full(mass.shape, 1.0 / mass.shape[0])
