"""Training losses for binary and multiclass outputs.

Keras's own losses are used as they are. The focal losses are configured for
imbalanced classification rather than object detection: Keras's focal losses
default to ``alpha=0.25`` (a detection-tuned down-weighting of positives); here
class balancing comes from ``class_weight`` instead, so alpha is neutral.
"""

import keras

__all__ = ["LOSSES", "make_loss"]

LOSSES = ("log_loss", "focal")


def make_loss(name, *, n_outputs, focal_gamma=2.0):
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

    Returns
    -------
    keras.losses.Loss
    """
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
