"""Determinism: random_state alone decides the model, and global random state is left alone.

Same seed: exactly the same probabilities, in this process and in a new one,
for both estimators, with dropout, early stopping, samplers re-drawn every
epoch, balanced batches and augmentation. Different seeds: different models.
Fitting never draws from or reseeds the caller's Python, NumPy, TensorFlow or
Keras generators.
"""

import os
import random
import subprocess
import sys
from pathlib import Path

import _networks as networks
import keras
import numpy as np
import pytest
import tensorflow as tf
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import RandomUnderSampler
from sklearn.datasets import make_classification

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier

X, Y = make_classification(
    n_samples=240, n_features=4, n_informative=3, n_redundant=0, weights=[0.85], random_state=3
)


def build(meta, units=6):
    """Unseeded layers and dropout: their seeds must come from random_state."""
    return networks.build(meta, units, dropout=0.2)


class CountBatches(keras.callbacks.Callback):
    """A per-batch hook: the fit runs through model.fit instead of the compiled loop."""

    def on_train_batch_end(self, batch, logs=None):
        self.batches = getattr(self, "batches", 0) + 1


CONFIGS = {
    "mlp, dropout, early stopping": lambda seed: CostSensitiveMLPClassifier(
        hidden_layer_sizes=(6,),
        max_iter=4,
        batch_size=32,
        dropout=0.2,
        early_stopping=True,
        class_weight="balanced",
        random_state=seed,
    ),
    "resampled, unseeded layers": lambda seed: ResampledKerasClassifier(
        build, epochs=3, batch_size=32, random_state=seed
    ),
    "resampled, SMOTE every epoch": lambda seed: ResampledKerasClassifier(
        build, sampler=SMOTE(k_neighbors=3), epochs=3, batch_size=32, random_state=seed
    ),
    "resampled, RandomUnderSampler every epoch": lambda seed: ResampledKerasClassifier(
        build, sampler=RandomUnderSampler(), epochs=3, batch_size=16, random_state=seed
    ),
    "resampled, batch_ratio": lambda seed: ResampledKerasClassifier(
        build, batch_ratio=2.0, epochs=3, batch_size=32, random_state=seed
    ),
    "resampled, random augmentation": lambda seed: ResampledKerasClassifier(
        build, augment=keras.layers.GaussianNoise(0.3), epochs=3, batch_size=32, random_state=seed
    ),
    "resampled, SMOTE, model.fit path": lambda seed: ResampledKerasClassifier(
        build,
        sampler=SMOTE(k_neighbors=3),
        callbacks=[CountBatches()],
        epochs=3,
        batch_size=32,
        random_state=seed,
    ),
}


def fit_all(seed):
    """predict_proba of every configuration fitted with ``seed``."""
    return {name: make(seed).fit(X, Y).predict_proba(X) for name, make in CONFIGS.items()}


@pytest.fixture(scope="module")
def seed0():
    return fit_all(0)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_same_seed_same_model_different_seed_different_model(seed0, name):
    np.testing.assert_array_equal(CONFIGS[name](0).fit(X, Y).predict_proba(X), seed0[name])
    assert not np.allclose(CONFIGS[name](1).fit(X, Y).predict_proba(X), seed0[name])


def test_refitting_one_estimator_gives_the_same_model_and_leaves_its_parameters_alone():
    optimizer = keras.optimizers.Adam(0.01)
    noise = keras.layers.GaussianNoise(0.3)
    clf = ResampledKerasClassifier(
        build,
        optimizer=optimizer,
        augment=noise,
        sampler=RandomUnderSampler(),
        epochs=2,
        random_state=0,
    )
    first = clf.fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(clf.fit(X, Y).predict_proba(X), first)
    assert clf.model_.optimizer is not optimizer and int(optimizer.iterations.numpy()) == 0


@pytest.mark.slow
def test_same_seed_same_model_in_a_new_process(seed0, tmp_path):
    """One child process fits every configuration; its arrays must be equal, bit for bit."""
    out = tmp_path / "proba.npz"
    code = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[1]);"
        "import test_determinism as t; np.savez(sys.argv[2], **t.fit_all(0))"
    )
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    subprocess.run(
        [sys.executable, "-c", code, str(root / "tests"), str(out)],
        check=True,
        env=env,
        capture_output=True,
    )
    with np.load(out) as child:
        assert sorted(child.files) == sorted(seed0)
        for name, proba in seed0.items():
            np.testing.assert_array_equal(child[name], proba, err_msg=name)


# ------------------------------------------------------- global state
def seed_everything(seed):
    keras.utils.set_random_seed(seed)  # Python, NumPy, TensorFlow, Keras's global SeedGenerator
    tf.random.set_global_generator(tf.random.Generator.from_seed(seed))
    # Keras < 3.13's set_random_seed keeps its global SeedGenerator: drop it, as newer Keras does,
    # so that it is made anew from the Python seed above.
    from keras.src.backend.common import global_state

    global_state.set_global_attribute("global_seed_generator", None)


def global_draws():
    """One draw from each global generator a fit could disturb."""
    dense = keras.layers.Dense(2)  # an unseeded initializer: Keras's default seeds
    dense.build((None, 2))
    return {
        "python random": random.random(),
        "numpy global": np.random.rand(),
        "numpy legacy state": np.random.get_state()[1][:4].tolist(),
        "tf.random.uniform after tf.random.set_seed": float(tf.random.uniform([])),
        "tf global Generator": float(tf.random.get_global_generator().normal([])),
        "keras.random without seed": float(keras.random.uniform(())),
        "keras unseeded initializer": keras.ops.convert_to_numpy(dense.kernel).tolist(),
    }


GLOBAL_STATE_FITS = {
    **CONFIGS,
    "mlp, random_state=None": lambda seed: CostSensitiveMLPClassifier(
        hidden_layer_sizes=(6,), max_iter=2, random_state=None
    ),
    "resampled, random_state=None, SMOTE": lambda seed: ResampledKerasClassifier(
        build, sampler=SMOTE(k_neighbors=3), epochs=2, random_state=None
    ),
}


def test_fitting_leaves_global_random_state_alone():
    # Built first: constructing a Keras random layer (GaussianNoise) draws a default seed.
    estimators = [make(5) for make in GLOBAL_STATE_FITS.values()]
    seed_everything(11)
    global_draws()  # first use creates Keras's global generator
    seed_everything(11)
    expected = global_draws()
    seed_everything(11)
    for clf in estimators:
        clf.fit(X, Y).predict_proba(X)
    assert global_draws() == expected
