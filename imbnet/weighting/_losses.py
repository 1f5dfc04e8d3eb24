"""Training losses for binary, multiclass and multilabel outputs.

Keras's own losses are used as they are. The long-tail losses (logit-adjusted,
balanced softmax, LDAM) live in :mod:`imbnet.weighting._long_tail_losses` and need the
class prior of the training data. The focal losses are configured for
imbalanced classification rather than object detection: Keras's focal losses
default to ``alpha=0.25`` (a detection-tuned down-weighting of positives); here
class balancing comes from ``class_weight`` instead, so alpha is neutral.

Multilabel targets are trained with one binary loss per label, weighted entry
by entry: :class:`LabelwiseLoss` evaluates any Keras loss on each (row, label)
entry, so that weights of shape (batch, n_labels) weigh each entry (Keras's
losses average over the labels first and only accept a weight per row).
"""

import keras
import numpy as np

from ._long_tail_losses import BalancedSoftmaxLoss, LDAMLoss, LogitAdjustedLoss

__all__ = ["LOSSES", "PRIOR_LOSSES", "LabelwiseLoss", "make_loss"]

LOSSES = ("log_loss", "focal", "logit_adjusted", "balanced_softmax", "ldam")
# The losses that need the class prior of the training data.
PRIOR_LOSSES = ("logit_adjusted", "balanced_softmax", "ldam")


def make_loss(
    name,
    *,
    n_outputs,
    focal_gamma=2.0,
    multilabel=False,
    class_prior=None,
    logit_tau=1.0,
    ldam_margin=0.5,
):
    """Return the Keras loss object for ``name``.

    Parameters
    ----------
    name : {"log_loss", "focal", "logit_adjusted", "balanced_softmax", "ldam"}
        Cross-entropy; focal cross-entropy that down-weights easy rows; the
        logit-adjusted loss (:class:`imbnet.LogitAdjustedLoss`); balanced
        softmax (:class:`imbnet.BalancedSoftmaxLoss`); or the label-distribution-
        aware margin loss (:class:`imbnet.LDAMLoss`).
    n_outputs : int
        1 for a single sigmoid unit (binary), otherwise the width of a
        softmax output with one-hot targets (or the number of labels).
    focal_gamma : float, default=2.0
        Focusing parameter of the focal loss; 0 gives plain cross-entropy.
    multilabel : bool, default=False
        ``n_outputs`` sigmoid units, one per label: the binary loss, per entry
        (a :class:`LabelwiseLoss`).
    class_prior : array-like, default=None
        The class prior of the rows the network trains on, needed by the
        long-tail losses: shape (n_classes,) (two entries for a single sigmoid
        unit), or the positive rate of each label for a multilabel target.
    logit_tau : float, default=1.0
        ``τ`` of the logit-adjusted loss.
    ldam_margin : float, default=0.5
        Margin of the rarest class in the LDAM loss.

    Returns
    -------
    keras.losses.Loss
    """
    if name in PRIOR_LOSSES:
        return _prior_loss(name, n_outputs, multilabel, class_prior, logit_tau, ldam_margin)
    if multilabel:
        return LabelwiseLoss(make_loss(name, n_outputs=1, focal_gamma=focal_gamma))
    binary = n_outputs == 1
    if name == "log_loss":
        if binary:
            return keras.losses.BinaryCrossentropy()
        return keras.losses.CategoricalCrossentropy()
    if name == "focal":
        if binary:
            return keras.losses.BinaryFocalCrossentropy(
                apply_class_balancing=False, gamma=focal_gamma
            )
        return keras.losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=focal_gamma)
    raise ValueError(f"loss={name!r} is not one of {LOSSES}.")


def _prior_loss(name, n_outputs, multilabel, class_prior, logit_tau, ldam_margin):
    if class_prior is None:
        raise ValueError(
            f"loss={name!r} adjusts the logits by the class prior of the training "
            "data: pass class_prior (the share of each class, or each label's "
            "positive rate)."
        )
    output = "multilabel" if multilabel else "sigmoid" if n_outputs == 1 else "softmax"
    expected = 2 if output == "sigmoid" else n_outputs
    width = np.shape(class_prior)[0] if np.ndim(class_prior) == 1 else None
    if width != expected:
        raise ValueError(
            f"class_prior has shape {np.shape(class_prior)}, but a {output} output of "
            f"{n_outputs} unit(s) needs {expected} values"
            + (" (π_0, π_1)." if output == "sigmoid" else ", one per unit.")
        )
    if name == "logit_adjusted":
        loss = LogitAdjustedLoss(class_prior, tau=logit_tau, output=output)
    elif name == "balanced_softmax":
        loss = BalancedSoftmaxLoss(class_prior, output=output)
    else:
        loss = LDAMLoss(class_prior, max_margin=ldam_margin, output=output)
    return LabelwiseLoss(loss) if multilabel else loss


@keras.saving.register_keras_serializable(package="imbnet")
class LabelwiseLoss(keras.losses.Loss):
    """``loss`` evaluated on every (row, label) entry of a multilabel target.

    Keras losses average over the last axis, the labels, before weighting, so
    they take one weight per row. This wrapper gives ``loss`` each entry as a
    one-element row (targets and predictions with a trailing axis of 1), which
    leaves one loss value per entry: a ``sample_weight`` of shape
    (batch, n_labels) then weighs each entry, and the batch loss is the mean of
    the weighted entries. With unit weights it equals ``loss`` itself. A loss
    that is per entry already (the long-tail losses with a multilabel output)
    is called as it is.

    Parameters
    ----------
    loss : keras loss, name or function
        A per-row binary loss, e.g. ``"binary_crossentropy"`` or
        ``keras.losses.BinaryFocalCrossentropy(gamma=2)``.
    """

    def __init__(self, loss="binary_crossentropy", name="labelwise", **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = loss if isinstance(loss, LabelwiseLoss) else keras.losses.get(loss)

    def call(self, y_true, y_pred):
        if isinstance(self.loss, LabelwiseLoss) or getattr(self.loss, "per_entry", False):
            return self.loss.call(y_true, y_pred)
        entry = self.loss.call if isinstance(self.loss, keras.losses.Loss) else self.loss
        y_true = keras.ops.expand_dims(keras.ops.cast(y_true, y_pred.dtype), -1)
        return entry(y_true, keras.ops.expand_dims(y_pred, -1))

    def get_config(self):
        return {**super().get_config(), "loss": keras.losses.serialize(self.loss)}

    # The compiled program's view of the loss (see imbnet.weighting._long_tail_losses):
    # a long-tail loss inside reads its adjustments as data.
    @property
    def program_config_values(self):
        return getattr(self.loss, "program_config_values", ())

    def __getattr__(self, name):
        if name in ("program_values", "set_program_values") and "loss" in self.__dict__:
            return getattr(self.__dict__["loss"], name)  # AttributeError if the loss has none
        raise AttributeError(name)

    def for_program(self):
        """A copy whose inner long-tail loss reads its adjustments from variables."""
        inner = self.loss.for_program() if hasattr(self.loss, "for_program") else self.loss
        copy = type(self)(inner, name=self.name, reduction=self.reduction)
        return copy

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = keras.losses.deserialize(config["loss"])
        return cls(**config)
