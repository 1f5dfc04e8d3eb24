"""What a classifier is asked to predict: one object per kind of target.

A target object is made from the ``y`` given to ``fit`` and owns everything
that depends on the kind of target: the classes and their encoding, the
output a network needs (width, activation) and its loss, the weight of each
training entry, the hold-out split, the class prior and its correction, and
turning outputs back into probabilities and labels. The estimators ask it and
never branch on the kind themselves, so a new kind of target is a new class
here.

- :class:`ClassTarget`: one label per row, binary or multiclass.
- :class:`MultilabelTarget`: a 0/1 indicator matrix, one sigmoid unit and one
  binary loss per label.
- :class:`SequenceTarget`: a class per time step (sequence labelling), ``y`` of
  shape (n_samples, n_steps) and a network output of (n_samples, n_steps, n_classes).

This module knows nothing of estimators.
"""

import keras
import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ._class_weight import (
    compute_class_weight,
    compute_label_sample_weight,
    compute_label_weight,
    compute_sample_weight,
)
from ._losses import LabelwiseLoss, make_loss
from ._priors import PriorTally, correct_proba, data_prior, output_bias

__all__ = ["ClassTarget", "MultilabelTarget", "SequenceTarget", "make_target"]


def make_target(y, *, n_steps=None):
    """The target object for the ``y`` given to fit, and ``y`` encoded for it.

    Class labels become positions in ``classes_`` (their sorted unique
    values); a multilabel indicator matrix stays a 0/1 matrix with
    ``classes_ = arange(n_labels)``, as in scikit-learn's ``MLPClassifier``.
    A 2-D ``y`` is one class per time step (sequence labelling) when it is
    not a 0/1 matrix (scikit-learn's "multiclass-multioutput"), or when it
    has one column per step of sequence input (``n_steps``, the second axis of
    a 3-D ``X``).

    Returns
    -------
    target : ClassTarget, MultilabelTarget or SequenceTarget
    y_encoded : ndarray of int
        Shape (n_samples,), or (n_samples, n_labels) for multilabel, or
        (n_samples, n_steps) for a class per time step.
    """
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim == 2:
        if hasattr(y, "toarray"):
            y = y.toarray()
        y = np.asarray(y)
        kind = type_of_target(y)
        if kind == "multiclass-multioutput" or (
            n_steps == y.shape[1] and kind in ("multilabel-indicator", "unknown")
        ):
            classes, y_encoded = _classes(y.ravel())
            return SequenceTarget(classes, y.shape[1]), y_encoded.reshape(y.shape)
        check_classification_targets(y)
        if kind != "multilabel-indicator":
            raise ValueError(
                f"y is 2-D but not a 0/1 indicator matrix ({kind} target): give "
                "1-D class labels, or one 0/1 column per label for a multilabel target."
            )
        y_encoded = (y > 0).astype(np.int64)
        return MultilabelTarget(y_encoded.shape[1]), y_encoded
    check_classification_targets(y)
    classes, y_encoded = _classes(y)
    return ClassTarget(classes), y_encoded


def _classes(y):
    """The sorted classes of labels ``y`` and ``y`` as positions in them; at least two."""
    classes, y_encoded = np.unique(y, return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError(
            f"y contains only one class ({classes[0].item()!r}); a classifier "
            "needs samples of at least two classes. Pass samples of every class (in "
            "cross-validation, StratifiedKFold puts every class in every fold)."
        )
    return classes, y_encoded.reshape(-1)


class ClassTarget:
    """One class label per row: binary (one sigmoid unit) or multiclass (softmax).

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        The sorted class labels.

    Attributes
    ----------
    classes_ : ndarray
    encoding : {"column", "one_hot"}
        How the network's targets look, set by :meth:`bind`: a 0/1 column for
        one sigmoid unit (or integer labels for a sparse categorical loss),
        or one-hot rows for one softmax unit per class.
    """

    multilabel = False
    per_step = False

    def __init__(self, classes):
        self.classes_ = classes
        self.encoding = None

    @property
    def n_classes(self):
        return self.classes_.shape[0]

    @property
    def type_name(self):
        """scikit-learn's name of the target type (``type_of_target``)."""
        return "binary" if self.n_classes == 2 else "multiclass"

    # ---------------------------------------------------------- weights
    def class_weight(self, setting, y_encoded, *, mu, beta):
        """``class_weight`` resolved to ``{label: weight}``."""
        return compute_class_weight(
            setting, classes=self.classes_, y=self.classes_[y_encoded.ravel()], mu=mu, beta=beta
        )

    def class_weight_vector(self, class_weight):
        """The resolved class weights by encoded class, as an array."""
        return np.asarray([class_weight[label] for label in self.classes_.tolist()], np.float32)

    def row_weights(self, class_weight, y_encoded, sample_weight):
        """The loss weight of every training row: class weight × sample weight."""
        return compute_sample_weight(
            self.class_weight_vector(class_weight), y_encoded, sample_weight
        )

    def entry_class_weight(self, class_weight, targets):
        """The class weight of every row of the network's ``targets``."""
        vector = self.class_weight_vector(class_weight)
        if self.encoding == "one_hot":
            return targets @ vector
        return vector[targets[..., 0].astype(np.int64)]

    # --------------------------------------------------- split and prior
    def holdout(self, y_encoded, fraction, rng):
        """Split rows into train and validation with every class in both.

        Each class contributes ``round(fraction * n_c)`` rows to validation,
        at least one, and keeps at least one for training, so the minority
        class is always monitored (a plain stratified split can leave a rare
        class out).
        """
        train, valid = [], []
        for code, label in enumerate(self.classes_.tolist()):
            rows = np.flatnonzero(y_encoded == code)
            if rows.shape[0] < 2:
                raise ValueError(
                    "early_stopping needs at least 2 samples of every class to hold one "
                    f"out for validation; class {label!r} has {rows.shape[0]}. "
                    "Set early_stopping=False or collect more samples."
                )
            rows = rng.permutation(rows)
            n_valid = min(max(1, int(round(fraction * rows.shape[0]))), rows.shape[0] - 1)
            valid.append(rows[:n_valid])
            train.append(rows[n_valid:])
        return np.sort(np.concatenate(train)), np.sort(np.concatenate(valid))

    def prior(self, y_encoded, sample_weight):
        """The class prior of the labels, weighted by ``sample_weight``."""
        return data_prior(y_encoded, sample_weight, n_classes=self.n_classes, multilabel=False)

    def tally(self):
        """A :class:`PriorTally` for the class mix the network is fed."""
        return PriorTally(n_classes=self.n_classes, multilabel=False)

    def minority_rows(self, y_encoded, of=None):
        """Rows of every class but the most frequent one of ``of`` (default:
        ``y_encoded`` itself): the rows to augment."""
        reference = y_encoded if of is None else of
        return y_encoded != np.argmax(np.bincount(reference, minlength=self.n_classes))

    # ------------------------------------------------------------ network
    @property
    def output_width(self):
        """Output units a network built for this target has."""
        return 1 if self.n_classes == 2 else self.n_classes

    @property
    def output_activation(self):
        return "sigmoid" if self.n_classes == 2 else "softmax"

    def loss(self, name, *, width=None, **options):
        """The training loss ``name`` for an output of ``width`` units."""
        width = self.output_width if width is None else width
        return make_loss(name, n_outputs=width, **options)

    def bind(self, model):
        """Check ``model``'s output against the target; set :attr:`encoding`."""
        width = _output_width(model)
        if width not in (1, self.n_classes):
            raise ValueError(
                f"the model has {width} output units, but y has {self.n_classes} classes: "
                f"use 1 sigmoid unit (binary only) or {self.n_classes} softmax units."
            )
        if width == 1 and self.n_classes != 2:
            raise ValueError(
                f"the model has 1 output unit, but y has {self.n_classes} classes: use "
                f"{self.n_classes} softmax units."
            )
        loss = model.loss
        name = loss if isinstance(loss, str) else type(loss).__name__
        sparse = width > 1 and "sparse" in name.lower()
        self.encoding = "column" if width == 1 or sparse else "one_hot"
        self.logits = _check_logits(model, "a sigmoid (binary) or softmax")
        return model

    def encode(self, y_encoded):
        """The network's targets for encoded labels (float32)."""
        if self.encoding == "one_hot":
            return np.eye(self.n_classes, dtype=np.float32)[y_encoded]
        return y_encoded[..., None].astype(np.float32)

    def output_bias(self, training_prior, width):
        """Output-layer bias at which the network starts at ``training_prior``."""
        return output_bias(training_prior, width=width, multilabel=False)

    # ---------------------------------------------------------- predict
    def proba(self, outputs):
        """Class probabilities from the network's outputs (logits or probabilities)."""
        outputs = outputs.astype(np.float64)
        if getattr(self, "logits", False):
            if outputs.shape[1] == 1:
                outputs = _sigmoid(outputs)
            else:
                outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        if outputs.shape[1] == 1:
            positive = outputs[:, 0]
            return np.column_stack([1.0 - positive, positive])
        return outputs / outputs.sum(axis=1, keepdims=True)

    def correct(self, proba, prior, training_prior):
        """Map probabilities learnt under ``training_prior`` back to ``prior``."""
        return correct_proba(proba, prior, training_prior, multilabel=False)

    def score(self, y, y_pred, sample_weight):
        """scikit-learn's accuracy of ``y_pred`` against ``y``."""
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def decide(self, proba):
        """The most probable class of every row."""
        return self.classes_[np.argmax(proba, axis=1)]

    def row_loss(self, proba, y_encoded):
        """Each row's cross-entropy ``-log p(y_i | x_i)``."""
        rows = np.arange(y_encoded.shape[0])
        return -np.log(np.clip(proba[rows, y_encoded], 1e-12, 1.0))


class MultilabelTarget:
    """A 0/1 indicator matrix: one sigmoid unit and one binary loss per label.

    Per-entry weights (a label's class weight × the row's sample weight) need
    a loss evaluated per entry: :meth:`bind` wraps the model's loss in a
    :class:`imbnet.weighting._losses.LabelwiseLoss`.
    """

    multilabel = True
    per_step = False
    type_name = "multilabel-indicator"
    encoding = "multilabel"
    output_activation = "sigmoid"

    def __init__(self, n_labels):
        self.classes_ = np.arange(n_labels)

    @property
    def n_classes(self):
        return self.classes_.shape[0]

    output_width = n_classes

    def class_weight(self, setting, y_encoded, *, mu, beta):
        return compute_label_weight(setting, Y=y_encoded, mu=mu, beta=beta)

    def class_weight_vector(self, class_weight):
        return None  # weights are per (label, value), not per class

    def row_weights(self, class_weight, y_encoded, sample_weight):
        if sample_weight is not None and sample_weight.ndim == 2:
            raise ValueError(
                "sample_weight of shape (n_samples, n_steps) weighs the time steps of a "
                "sequence target; a multilabel y takes one weight per sample (use "
                "class_weight for per-label weights)."
            )
        return compute_label_sample_weight(class_weight, y_encoded, sample_weight)

    def entry_class_weight(self, class_weight, targets):
        negative = np.array([weights[0] for weights in class_weight])
        positive = np.array([weights[1] for weights in class_weight])
        return np.where(targets > 0.5, positive, negative)

    def holdout(self, y_encoded, fraction, rng):
        """Rows split at random (a label matrix has no classes to stratify by)."""
        return _random_holdout(y_encoded.shape[0], fraction, rng)

    def prior(self, y_encoded, sample_weight):
        return data_prior(y_encoded, sample_weight, n_classes=self.n_classes, multilabel=True)

    def tally(self):
        return PriorTally(n_classes=self.n_classes, multilabel=True)

    def minority_rows(self, y_encoded, of=None):
        raise ValueError(
            "minority rows are not defined for a multilabel y: augmentation, samplers "
            "and balanced batches work on one class per sample."
        )

    def loss(self, name, *, width=None, **options):
        return make_loss(name, n_outputs=self.n_classes, multilabel=True, **options)

    def bind(self, model):
        width = _output_width(model)
        if width != self.n_classes:
            raise ValueError(
                f"the model has {width} output units, but y has {self.n_classes} labels: "
                f"a multilabel target needs {self.n_classes} sigmoid units, one per label."
            )
        self.logits = _check_logits(model, "a sigmoid")
        if not isinstance(model.loss, LabelwiseLoss):
            model.compile(optimizer=model.optimizer, loss=LabelwiseLoss(model.loss))
        return model

    def encode(self, y_encoded):
        return y_encoded.astype(np.float32)

    def output_bias(self, training_prior, width):
        return output_bias(training_prior, width=width, multilabel=True)

    def proba(self, outputs):
        """The probability of each label being 1 (``MLPClassifier``'s convention)."""
        outputs = outputs.astype(np.float64)
        return _sigmoid(outputs) if getattr(self, "logits", False) else outputs

    def correct(self, proba, prior, training_prior):
        return correct_proba(proba, prior, training_prior, multilabel=True)

    score = ClassTarget.score

    def decide(self, proba):
        return (proba > 0.5).astype(np.int64)

    def row_loss(self, proba, y_encoded):
        clipped = np.clip(proba, 1e-12, 1 - 1e-12)
        return -np.mean(y_encoded * np.log(clipped) + (1 - y_encoded) * np.log1p(-clipped), axis=1)


class SequenceTarget(ClassTarget):
    """A class per time step: ``y`` of shape (n_samples, n_steps), sequence labelling.

    The network outputs (n_samples, n_steps, n_classes) softmax units (or
    (n_samples, n_steps, 1) sigmoid units for two classes), and is trained
    with Keras's temporal weights: one loss weight per (row, step) entry, the
    class weight of the entry's class times the sample weight of the row, or
    of the entry when ``sample_weight`` has shape (n_samples, n_steps).
    ``classes_`` are the labels found at any step. Probabilities come back in
    scikit-learn's multi-output form: a list of n_steps arrays of shape
    (n_samples, n_classes).
    """

    per_step = True
    type_name = "multiclass-multioutput"

    def __init__(self, classes, n_steps):
        super().__init__(classes)
        self.n_steps = n_steps

    def row_weights(self, class_weight, y_encoded, sample_weight):
        """The loss weight of every (row, step) entry."""
        if sample_weight is not None and sample_weight.ndim == 1:
            sample_weight = sample_weight[:, None]
        return super().row_weights(class_weight, y_encoded, sample_weight)

    def holdout(self, y_encoded, fraction, rng):
        """Rows split at random (a row holds several classes: nothing to stratify by)."""
        return _random_holdout(y_encoded.shape[0], fraction, rng)

    def prior(self, y_encoded, sample_weight):
        """The class shares over all (row, step) entries, weighted."""
        if sample_weight is not None:
            sample_weight = np.broadcast_to(
                sample_weight.reshape(sample_weight.shape[0], -1), y_encoded.shape
            ).ravel()
        return super().prior(y_encoded.ravel(), sample_weight)

    def minority_rows(self, y_encoded, of=None):
        raise ValueError(
            "minority rows are not defined for a y with a class per time step: samplers, "
            "balanced batches and minority augmentation pick whole rows by their one "
            "class. Weigh the steps with class_weight and sample_weight of shape "
            "(n_samples, n_steps) instead."
        )

    def bind(self, model):
        shape = tuple(model.outputs[0].shape) if getattr(model, "outputs", None) else ()
        if len(shape) != 3 or shape[1] not in (None, self.n_steps):
            raise ValueError(
                f"y has a class for each of {self.n_steps} time steps (shape (n_samples, "
                f"{self.n_steps})), so the model must output (n_samples, {self.n_steps}, "
                f"n_classes); it outputs {shape}. End the model with a Dense layer on the "
                "sequence (e.g. after an LSTM with return_sequences=True), or give 1-D y."
            )
        return super().bind(model)

    def proba(self, outputs):
        """Per step, the class probabilities: a list of (n_samples, n_classes) arrays."""
        n_rows, n_steps = outputs.shape[:2]
        flat = super().proba(outputs.reshape(n_rows * n_steps, -1))
        return StepProbabilities(flat.reshape(n_rows, n_steps, -1).transpose(1, 0, 2))

    def correct(self, proba, prior, training_prior):
        return StepProbabilities(
            super(SequenceTarget, self).correct(p, prior, training_prior) for p in proba
        )

    def decide(self, proba):
        """The most probable class of every (row, step): shape (n_samples, n_steps)."""
        return np.column_stack([super(SequenceTarget, self).decide(p) for p in proba])

    def score(self, y, y_pred, sample_weight):
        """The weighted share of (row, step) entries predicted right."""
        right = np.asarray(y) == y_pred
        weight = np.ones(right.shape) if sample_weight is None else np.asarray(sample_weight, float)
        weight = np.broadcast_to(weight.reshape(weight.shape[0], -1), right.shape)
        return float((weight * right).sum() / weight.sum())

    def row_loss(self, proba, y_encoded):
        raise ValueError(
            "a per-row loss is not defined for a y with a class per time step; hard-negative "
            "mining picks rows by their one class."
        )


class StepProbabilities(list):
    """scikit-learn's multi-output form of probabilities: a list of one
    (n_samples, n_classes) array per time step.

    A plain list, except that asking it for an array's ``shape`` (as
    scikit-learn's scorers do, expecting one class per row) raises an error
    that names the scorer to use; scikit-learn shows it in its "Scoring
    failed" warning next to the NaN score.
    """

    @property
    def shape(self):
        raise AttributeError(
            "predict_proba of a classifier of a class per time step returns a list of "
            f"{len(self)} arrays (one per step), which scikit-learn's scorers do not "
            "take. Score the (row, step) entries with imbnet.sequence_scorer, e.g. "
            "cross_val_score(clf, X, y, scoring=imbnet.sequence_scorer('roc_auc'))."
        )


def _random_holdout(n_rows, fraction, rng):
    n_valid = min(max(1, int(round(fraction * n_rows))), n_rows - 1)
    rows = rng.permutation(n_rows)
    return np.sort(rows[n_valid:]), np.sort(rows[:n_valid])


def _output_width(model):
    return model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _check_logits(model, activation):
    """Whether ``model`` outputs logits (its last layer has no activation).

    Logits are fine with a loss that takes them (``from_logits=True``): the
    probabilities are then the sigmoid / softmax of the outputs. With any
    other loss the network would be trained and read as if its outputs were
    probabilities, which they are not: refused.
    """
    layers = getattr(model, "layers", None)
    last = layers[-1] if layers else None
    if getattr(last, "activation", None) is not keras.activations.linear:
        return False
    loss = model.loss.loss if isinstance(model.loss, LabelwiseLoss) else model.loss
    if getattr(loss, "from_logits", False):
        return True
    name = loss if isinstance(loss, str) else type(loss).__name__
    raise ValueError(
        f"the model's last layer {last.name!r} has no activation, so it outputs logits, "
        f"but its loss ({name}) expects probabilities: predict_proba would not return "
        f"probabilities. Give the last layer {activation} activation, or compile the "
        "model with a loss that takes logits, e.g. "
        "keras.losses.BinaryCrossentropy(from_logits=True) (imbnet then applies the "
        "sigmoid or softmax in predict_proba)."
    )
