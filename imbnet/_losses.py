"""Training losses for binary and multiclass outputs.

Keras's own losses are used as they are. The focal losses are configured for
imbalanced classification rather than object detection: Keras's focal losses
default to ``alpha=0.25`` (a detection-tuned down-weighting of positives); here
class balancing comes from ``class_weight`` instead, so alpha is neutral.

Multilabel targets are trained with one binary loss per label, weighted entry
by entry: :class:`LabelwiseLoss` evaluates any Keras loss on each (row, label)
entry, so that weights of shape (batch, n_labels) weigh each entry (Keras's
losses average over the labels first and only accept a weight per row).
"""

import keras

__all__ = ["LOSSES", "LabelwiseLoss", "make_loss"]

LOSSES = ("log_loss", "focal")


def make_loss(name, *, n_outputs, focal_gamma=2.0, multilabel=False):
    """Return the Keras loss object for ``name``.

    Parameters
    ----------
    name : {"log_loss", "focal"}
        Cross-entropy, or focal cross-entropy that down-weights easy rows.
    n_outputs : int
        1 for a single sigmoid unit (binary), otherwise the width of a
        softmax output with one-hot targets.
    focal_gamma : float, default=2.0
        Focusing parameter of the focal loss; 0 gives plain cross-entropy.
    multilabel : bool, default=False
        ``n_outputs`` sigmoid units, one per label: the binary loss, per entry
        (a :class:`LabelwiseLoss`).

    Returns
    -------
    keras.losses.Loss
    """
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


@keras.saving.register_keras_serializable(package="imbnet")
class LabelwiseLoss(keras.losses.Loss):
    """``loss`` evaluated on every (row, label) entry of a multilabel target.

    Keras losses average over the last axis, the labels, before weighting, so
    they take one weight per row. This wrapper gives ``loss`` each entry as a
    one-element row (targets and predictions with a trailing axis of 1), which
    leaves one loss value per entry: a ``sample_weight`` of shape
    (batch, n_labels) then weighs each entry, and the batch loss is the mean of
    the weighted entries. With unit weights it equals ``loss`` itself.

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
        if isinstance(self.loss, LabelwiseLoss):
            return self.loss.call(y_true, y_pred)
        entry = self.loss.call if isinstance(self.loss, keras.losses.Loss) else self.loss
        y_true = keras.ops.expand_dims(keras.ops.cast(y_true, y_pred.dtype), -1)
        return entry(y_true, keras.ops.expand_dims(y_pred, -1))

    def get_config(self):
        return {**super().get_config(), "loss": keras.losses.serialize(self.loss)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = keras.losses.deserialize(config["loss"])
        return cls(**config)
