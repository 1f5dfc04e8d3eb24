"""FancyPCA: AlexNet's colour augmentation as a Keras layer, alone and inside
ResampledKerasClassifier."""

import os

import keras
import numpy as np
import pytest

import imbnet
from imbnet import FancyPCA, ResampledKerasClassifier

RNG = np.random.default_rng(0)
# Colourful images with pixel values well inside [0, 255], so that no shift is clipped.
IMAGES = RNG.uniform(60, 190, (64, 8, 8, 3)).astype("float32")
IMAGES[..., 1] = 0.5 * IMAGES[..., 0] + 0.5 * IMAGES[..., 1]  # correlated channels
# Grey images: every pixel has R = G = B, so the only colour component is (1, 1, 1).
GREY = np.repeat(RNG.uniform(60, 190, (64, 8, 8, 1)), 3, axis=-1).astype("float32")


def adapted(images=IMAGES, **kwargs):
    layer = FancyPCA(**kwargs)
    layer.adapt(images)
    return layer


def shifts(layer, images):
    return np.asarray(layer(images, training=True), dtype=np.float64) - images


@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8"])
def test_shape_and_dtype_are_preserved(dtype):
    layer = adapted(seed=0)
    images = IMAGES.astype(dtype)
    out = layer(images, training=True)
    assert tuple(out.shape) == images.shape
    assert keras.backend.standardize_dtype(out.dtype) == dtype
    assert not np.array_equal(np.asarray(out), images)


def test_adapt_finds_the_principal_components_of_rgb():
    layer = adapted()
    pixels = IMAGES.reshape(-1, 3) / 255.0
    values, vectors = np.linalg.eigh(np.cov(pixels.T))
    np.testing.assert_allclose(layer.eigenvalues.numpy(), values[::-1], rtol=1e-4)
    # The same directions, up to sign.
    cosines = np.abs(np.sum(layer.eigenvectors.numpy() * vectors[:, ::-1], axis=0))
    np.testing.assert_allclose(cosines, 1.0, atol=1e-4)


def test_shift_is_one_colour_per_image():
    shift = shifts(adapted(seed=0), IMAGES)
    per_image = shift.reshape(len(IMAGES), -1, 3)
    np.testing.assert_allclose(per_image, per_image[:, :1, :].repeat(64, axis=1), atol=1e-3)
    assert np.ptp(per_image[:, 0, :], axis=0).min() > 0.1  # images get different shifts


def test_shift_lies_along_the_principal_components():
    # Grey images vary only along (1, 1, 1): every shift must keep R = G = B.
    shift = shifts(adapted(GREY, seed=0), GREY)[:, 0, 0, :]
    assert np.abs(shift).max() > 0.5
    np.testing.assert_allclose(shift[:, 0], shift[:, 1], atol=1e-3)
    np.testing.assert_allclose(shift[:, 0], shift[:, 2], atol=1e-3)


def test_shift_is_eigvecs_times_alpha_times_eigvals():
    # alpha recovered from the shifts has the standard deviation asked for.
    layer = adapted(seed=0, std=0.2)
    many = np.repeat(IMAGES[:1], 2000, axis=0)
    shift = shifts(layer, many)[:, 0, 0, :] / 255.0
    alpha = (shift @ layer.eigenvectors.numpy()) / layer.eigenvalues.numpy()
    np.testing.assert_allclose(alpha.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(alpha.std(axis=0), 0.2, rtol=0.1)


def test_value_range_scales_the_shift_and_clips():
    unit = adapted(IMAGES / 255.0, seed=0, value_range=(0, 1))
    full = adapted(seed=0)
    np.testing.assert_allclose(
        shifts(unit, IMAGES / 255.0) * 255.0, shifts(full, IMAGES), rtol=1e-3, atol=1e-2
    )
    strong = adapted(seed=0, std=50.0)
    out = np.asarray(strong(IMAGES, training=True))
    assert out.min() == 0.0 and out.max() == 255.0


def test_same_seed_same_shifts_other_seed_other_shifts():
    first = adapted(seed=3)(IMAGES, training=True)
    again = adapted(seed=3)(IMAGES, training=True)
    other = adapted(seed=4)(IMAGES, training=True)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
    assert not np.allclose(np.asarray(first), np.asarray(other))


def test_unseeded_layer_leaves_global_random_state_alone():
    import random

    numpy_state, python_state = np.random.get_state()[1].copy(), random.getstate()
    first, second = adapted(), adapted()
    assert not np.allclose(shifts(first, IMAGES), shifts(second, IMAGES))
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    assert random.getstate() == python_state


def test_identity_at_inference():
    layer = adapted(seed=0)
    model = keras.Sequential([keras.Input((8, 8, 3)), layer])
    np.testing.assert_array_equal(np.asarray(layer(IMAGES)), IMAGES)
    np.testing.assert_array_equal(np.asarray(layer(IMAGES, training=False)), IMAGES)
    np.testing.assert_array_equal(model.predict(IMAGES, verbose=0), IMAGES)


def test_training_without_adapt_is_a_clear_error():
    with pytest.raises(ValueError, match=r"adapt\(train_images\)"):
        FancyPCA(seed=0)(IMAGES, training=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"std": -1}, "std"),
        ({"value_range": (1, 0)}, "value_range"),
        ({"eigenvalues": [1, 1, 1]}, "together"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FancyPCA(**kwargs)


def test_adapt_refuses_images_that_are_not_rgb():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        FancyPCA().adapt(IMAGES[..., :2])


def test_adapt_takes_a_dataset_of_batches():
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((IMAGES, np.zeros(64))).batch(10)
    from_dataset = FancyPCA()
    from_dataset.adapt(dataset)
    np.testing.assert_allclose(
        from_dataset.eigenvalues.numpy(), adapted().eigenvalues.numpy(), rtol=1e-4
    )


def test_saves_and_loads_in_keras_format(tmp_path):
    layer = adapted(seed=5, std=0.3)
    model = keras.Sequential([keras.Input((8, 8, 3)), layer])
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path).layers[0]
    assert isinstance(loaded, FancyPCA)
    assert loaded.std == 0.3
    np.testing.assert_array_equal(loaded.eigenvalues.numpy(), layer.eigenvalues.numpy())
    np.testing.assert_array_equal(loaded.eigenvectors.numpy(), layer.eigenvectors.numpy())
    np.testing.assert_array_equal(  # the random stream continues where it was saved
        np.asarray(loaded(IMAGES, training=True)), np.asarray(layer(IMAGES, training=True))
    )


def test_config_carries_the_decomposition():
    layer = adapted(seed=0)
    clone = FancyPCA.from_config(layer.get_config())
    np.testing.assert_allclose(clone.eigenvectors.numpy(), layer.eigenvectors.numpy())
    clone(IMAGES, training=True)  # adapted: no error


# ------------------------------------------ ResampledKerasClassifier end to end
# Tiny 8x8 RGB images; the minority class is redder.
N_IMAGES = 160
Y_IMAGES = (np.arange(N_IMAGES) % 8 == 0).astype(int)
X_IMAGES = RNG.uniform(40, 200, (N_IMAGES, 8, 8, 3)).astype("float32")
X_IMAGES[Y_IMAGES == 1, :, :, 0] += 40.0


def small_cnn(meta):
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def image_classifier(augment, random_state=0):
    return ResampledKerasClassifier(
        small_cnn,
        augment=augment,
        epochs=5,
        batch_size=32,
        optimizer__learning_rate=0.01,
        random_state=random_state,
    )


@pytest.fixture(scope="module")
def fitted_with_fancy_pca():
    return image_classifier(adapted(X_IMAGES, seed=0, std=0.5)).fit(X_IMAGES, Y_IMAGES)


def test_resampled_classifier_trains_with_fancy_pca(fitted_with_fancy_pca):
    proba = fitted_with_fancy_pca.predict_proba(X_IMAGES)
    assert proba.shape == (N_IMAGES, 2) and np.all(np.isfinite(proba))
    # std=0 shifts nothing, through the same code: the shifts changed what was learnt.
    unshifted = image_classifier(adapted(X_IMAGES, seed=0, std=0.0)).fit(X_IMAGES, Y_IMAGES)
    assert np.abs(proba - unshifted.predict_proba(X_IMAGES)).max() > 1e-4


def test_resampled_classifier_with_fancy_pca_is_reproducible(fitted_with_fancy_pca):
    again = image_classifier(adapted(X_IMAGES, seed=0, std=0.5)).fit(X_IMAGES, Y_IMAGES)
    np.testing.assert_array_equal(
        again.predict_proba(X_IMAGES), fitted_with_fancy_pca.predict_proba(X_IMAGES)
    )


def test_resampled_classifier_refuses_an_unadapted_fancy_pca():
    with pytest.raises(ValueError, match="adapt"):
        image_classifier(FancyPCA(seed=0)).fit(X_IMAGES, Y_IMAGES)


def test_saved_classifier_keeps_the_adapted_augmentation(fitted_with_fancy_pca, tmp_path):
    path = os.path.join(tmp_path, "clf.imbnet")
    imbnet.save(fitted_with_fancy_pca, path)
    loaded = imbnet.load(path, trusted=[f"{__name__}.small_cnn"])
    np.testing.assert_array_equal(
        loaded.predict_proba(X_IMAGES), fitted_with_fancy_pca.predict_proba(X_IMAGES)
    )
    np.testing.assert_allclose(
        loaded.augment.eigenvalues.numpy(), fitted_with_fancy_pca.augment.eigenvalues.numpy()
    )
