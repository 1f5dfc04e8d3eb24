"""Fancy PCA: AlexNet's colour augmentation along the principal components of RGB.

This module knows nothing of imbnet's estimators. :class:`FancyPCA` is a
Keras preprocessing layer; it works in any Keras model, and as the
``augment`` of :class:`imbnet.ResampledKerasClassifier`, which applies it to
the minority rows of every training batch.
"""

from numbers import Real

import keras
import numpy as np

from .._random import fit_seed

__all__ = ["FancyPCA"]


@keras.saving.register_keras_serializable(package="imbnet")
class FancyPCA(keras.layers.Layer):
    """Shift the colour of each image along the principal components of RGB.

    Krizhevsky, Sutskever and Hinton (2012, "ImageNet classification with
    deep convolutional neural networks") add to every pixel of an image the
    same colour offset ``eigvecs @ (alpha * eigvals)``, where ``eigvecs`` and
    ``eigvals`` are the eigenvectors and eigenvalues of the 3x3 covariance of
    the RGB values of all pixels of the training images, and ``alpha`` is
    drawn from ``N(0, std)`` once per image (three values). Colours thus
    change the way they vary across the data set (brighter, or more or less
    saturated along its dominant hues), and not along directions the data
    never shows.

    ``adapt(images)`` computes the decomposition; ``call`` shifts each image
    of a batch when ``training`` is true and returns the input unchanged
    otherwise (so a model can keep the layer for inference). Pixel values are
    measured in units of ``value_range`` (the covariance is that of the values
    scaled to [0, 1], as in the usual implementations, so ``std`` means the
    same for images in [0, 1] and in [0, 255]), and shifted pixels are clipped
    to it. The output has the input's shape and dtype (integer images are
    rounded).

    Parameters
    ----------
    std : float >= 0, default=0.1
        Standard deviation of ``alpha`` (AlexNet used 0.1).
    value_range : tuple of two floats, default=(0, 255)
        Lowest and highest pixel value.
    seed : int or None, default=None
        Seeds the draws of ``alpha``; None seeds them from the operating
        system's entropy (no global random state is read). :class:`imbnet.ResampledKerasClassifier`
        restarts them from its ``random_state`` at every fit.
    eigenvalues, eigenvectors : array-like of shape (3,) and (3, 3), default=None
        A decomposition to use instead of ``adapt`` (columns of
        ``eigenvectors`` are the components; values in [0, 1] units). A
        fitted layer's configuration carries them.
    **kwargs
        Keras layer arguments (``name``, ...).

    Attributes
    ----------
    eigenvalues, eigenvectors : keras.Variable
        Non-trainable weights, largest component first; zero before ``adapt``.

    Examples
    --------
    >>> import numpy as np
    >>> from imbnet import FancyPCA
    >>> images = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 3))
    >>> layer = FancyPCA(std=0.1, seed=0)
    >>> layer.adapt(images)
    >>> shifted = layer(images, training=True)
    >>> shifted.shape, bool((np.asarray(layer(images)) == images).all())
    (TensorShape([16, 8, 8, 3]), True)
    """

    def __init__(
        self,
        std=0.1,
        value_range=(0, 255),
        seed=None,
        eigenvalues=None,
        eigenvectors=None,
        **kwargs,
    ):
        # autocast=False: float64 or uint8 images keep their dtype.
        super().__init__(autocast=False, **kwargs)
        if not isinstance(std, Real) or isinstance(std, bool) or not std >= 0:
            raise ValueError(f"std must be a number >= 0, got {std!r}.")
        try:
            low, high = (float(v) for v in value_range)
        except (TypeError, ValueError):
            low = high = None
        if low is None or not low < high:
            raise ValueError(
                f"value_range must be (low, high) with low < high, e.g. (0, 255) or (0, 1); "
                f"got {value_range!r}."
            )
        self.std = float(std)
        self.value_range = (low, high)
        self.seed = seed
        # seed=None: fresh entropy from the operating system, not Python's global random.
        self.seed_generator = keras.random.SeedGenerator(fit_seed(seed))
        self.eigenvalues = self.add_weight(
            shape=(3,), initializer="zeros", trainable=False, name="eigenvalues"
        )
        self.eigenvectors = self.add_weight(
            shape=(3, 3), initializer="zeros", trainable=False, name="eigenvectors"
        )
        self._adapted = False
        if (eigenvalues is None) != (eigenvectors is None):
            raise ValueError("pass eigenvalues and eigenvectors together, or neither.")
        if eigenvalues is not None:
            self._set_decomposition(np.asarray(eigenvalues), np.asarray(eigenvectors))
        self.built = True

    def adapt(self, data):
        """Compute the RGB covariance of all pixels of ``data`` and its eigen-decomposition.

        Parameters
        ----------
        data : array-like of shape (n_images, ..., 3), or a ``tf.data.Dataset``
            The training images, channels last; a dataset yields batches of
            images (or ``(images, labels)`` tuples).
        """
        count, total, outer = 0, np.zeros(3), np.zeros((3, 3))
        low, high = self.value_range
        for batch in _batches(data):
            pixels = np.asarray(batch, dtype=np.float64).reshape(-1, batch.shape[-1]) - low
            pixels /= high - low
            if pixels.shape[1] != 3:
                raise ValueError(
                    "FancyPCA works on RGB images with the channels last, shape (..., 3); "
                    f"got images of shape {tuple(batch.shape)}."
                )
            if not np.all(np.isfinite(pixels)):
                raise ValueError("FancyPCA.adapt got images with NaN or infinite values.")
            count += pixels.shape[0]
            total += pixels.sum(axis=0)
            outer += pixels.T @ pixels
        if count < 2:
            raise ValueError("FancyPCA.adapt needs images with at least 2 pixels in all.")
        mean = total / count
        covariance = (outer - count * np.outer(mean, mean)) / (count - 1)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1]
        self._set_decomposition(np.clip(eigenvalues[order], 0, None), eigenvectors[:, order])

    def _set_decomposition(self, eigenvalues, eigenvectors):
        if eigenvalues.shape != (3,) or eigenvectors.shape != (3, 3):
            raise ValueError(
                "eigenvalues must have shape (3,) and eigenvectors (3, 3); got "
                f"{eigenvalues.shape} and {eigenvectors.shape}."
            )
        self.eigenvalues.assign(eigenvalues.astype("float32"))
        self.eigenvectors.assign(eigenvectors.astype("float32"))
        self._adapted = True

    def load_own_variables(self, store):
        super().load_own_variables(store)
        # Eigenvectors are orthonormal once adapted, all zero before.
        self._adapted = bool(np.any(self.eigenvectors.numpy() != 0))

    def call(self, inputs, training=None):
        if not training:
            return inputs
        if not self._adapted:
            raise ValueError(
                "FancyPCA has no colour components yet: call layer.adapt(train_images) "
                "before training (or pass eigenvalues= and eigenvectors=)."
            )
        ops = keras.ops
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        images = ops.cast(inputs, "float32")
        low, high = self.value_range
        alpha = keras.random.normal(
            (ops.shape(images)[0], 3), stddev=self.std, seed=self.seed_generator
        )
        # One offset per image: sum_i alpha_i * eigval_i * eigvec_i, in pixel units.
        offset = ops.matmul(alpha * self.eigenvalues, ops.transpose(self.eigenvectors))
        offset = ops.reshape(offset * (high - low), (-1,) + (1,) * (len(images.shape) - 2) + (3,))
        shifted = ops.clip(images + offset, low, high)
        if "int" in dtype:
            shifted = ops.round(shifted)
        return ops.cast(shifted, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(std=self.std, value_range=list(self.value_range), seed=self.seed)
        if self._adapted:
            config.update(
                eigenvalues=self.eigenvalues.numpy().tolist(),
                eigenvectors=self.eigenvectors.numpy().tolist(),
            )
        return config


def _batches(data):
    """The image batches of an array or of a dataset yielding arrays or (x, y) tuples."""
    if hasattr(data, "as_numpy_iterator"):
        for batch in data.as_numpy_iterator():
            yield np.asarray(batch[0] if isinstance(batch, tuple) else batch)
    else:
        yield np.asarray(data)
