"""Every sampler and option of imbnet's estimators, on the Keras backend this process runs.

Run as a script in a fresh interpreter whose ``KERAS_BACKEND`` is set
(Keras picks its backend at its first import): ``python tests/_backend_cases.py
[case ...]``. It prints one JSON line: the backend, and for every case what
was measured, or the error it raised. ``tests/test_backends.py`` asserts on
the cases per backend; ``benchmarks/backends.py`` times them.

A case trains on small data for a few epochs and returns:

- ``proba_valid``: ``predict_proba`` has one finite column per class, rows in
  [0, 1] (summing to 1 but for multilabel targets);
- ``auc``: ROC AUC on held-out rows (None where it does not apply);
- ``reproducible``: two fits with the same ``random_state`` predict the same
  (None where not checked: the cases with their own randomness are);
- ``checks``: named facts the option promises (True when kept).
"""

import json
import os
import sys
import tempfile
import time
import traceback
import warnings

import keras
import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import RandomUnderSampler
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import imbnet
from imbnet import (
    CostSensitiveMLPClassifier,
    FancyPCA,
    GANOverSampler,
    HardNegativeSampler,
    ResampledKerasClassifier,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The cases train for a few epochs on purpose (as pyproject.toml's pytest settings say).
warnings.filterwarnings("ignore", category=ConvergenceWarning)
from _networks import build  # noqa: E402

X, y = make_classification(
    n_samples=800,
    n_features=6,
    n_informative=4,
    n_redundant=2,
    weights=[0.9],
    class_sep=2.0,
    random_state=0,
)
X_TRAIN, X_TEST, Y_TRAIN, Y_TEST = train_test_split(X, y, stratify=y, random_state=0)
X3, y3 = make_classification(
    n_samples=900,
    n_features=6,
    n_informative=4,
    n_classes=3,
    weights=[0.7, 0.2, 0.1],
    class_sep=2.0,
    random_state=1,
)
XM, YM = make_multilabel_classification(n_samples=600, n_features=6, n_classes=2, random_state=0)
RNG = np.random.default_rng(0)
N_IMAGES = 160
Y_IMAGES = (np.arange(N_IMAGES) % 8 == 0).astype(int)
X_IMAGES = RNG.uniform(40, 200, (N_IMAGES, 8, 8, 3)).astype("float32")
X_IMAGES[Y_IMAGES == 1, :, :, 0] += 40.0


def mlp(**params):
    return CostSensitiveMLPClassifier(
        hidden_layer_sizes=(8,), max_iter=15, learning_rate_init=0.01, random_state=0, **params
    )


def resampled(model=build, **params):
    params = {"epochs": 8, "random_state": 0, "optimizer__learning_rate": 0.01, **params}
    return ResampledKerasClassifier(model, **params)


def _valid(proba, n_columns, multilabel=False):
    return bool(
        proba.shape[1] == n_columns
        and np.all(np.isfinite(proba))
        and proba.min() >= 0
        and proba.max() <= 1
        and (multilabel or np.allclose(proba.sum(axis=1), 1, atol=1e-5))
    )


def binary(make, *, repeat=False, checks=None):
    """Fit on the binary data; AUC on held-out rows; optionally refit and compare."""
    clf = make().fit(X_TRAIN, Y_TRAIN)
    proba = clf.predict_proba(X_TEST)
    result = {
        "proba_valid": _valid(proba, 2),
        "auc": float(roc_auc_score(Y_TEST, proba[:, 1])),
        "reproducible": None,
        "checks": {} if checks is None else checks(clf, proba),
    }
    if repeat:
        again = make().fit(X_TRAIN, Y_TRAIN).predict_proba(X_TEST)
        result["reproducible"] = bool(np.array_equal(proba, again))
    return result


# ------------------------------------------------------------------ cases
def case_mlp():
    return binary(lambda: mlp(class_weight="balanced"), repeat=True)


def case_sampler_per_epoch():
    # RandomUnderSampler redrawn each epoch: the network saw balanced classes.
    return binary(
        lambda: resampled(sampler=RandomUnderSampler()),
        repeat=True,
        checks=lambda clf, _: {
            "balanced_training_prior": bool(abs(clf.training_prior_[1] - 0.5) < 0.02)
        },
    )


def case_smote_once():
    return binary(lambda: resampled(sampler=SMOTE(), resample="once"))


def case_hard_negative():
    return binary(lambda: resampled(sampler=HardNegativeSampler()), repeat=True)


def case_gan():
    sampler = GANOverSampler(epochs=30, hidden_units=(16,))
    if keras.backend.backend() == "tensorflow":
        return binary(lambda: resampled(sampler=sampler, epochs=4), repeat=True)
    # The GAN's training step is TensorFlow code: elsewhere a clear error, before training.
    try:
        resampled(sampler=sampler, epochs=4).fit(X_TRAIN, Y_TRAIN)
    except RuntimeError as error:
        message = str(error)
    else:
        message = ""
    return {
        "proba_valid": True,
        "auc": None,
        "reproducible": None,
        "checks": {"clear_error_off_tensorflow": "KERAS_BACKEND=tensorflow" in message},
    }


def case_batch_ratio():
    return binary(
        lambda: resampled(batch_ratio=1),
        repeat=True,
        checks=lambda clf, _: {
            "balanced_training_prior": bool(abs(clf.training_prior_[1] - 0.5) < 0.05)
        },
    )


def case_augment_layer():
    plain = resampled().fit(X_TRAIN, Y_TRAIN).predict_proba(X_TEST)
    return binary(
        lambda: resampled(augment=keras.layers.GaussianNoise(0.3)),
        repeat=True,
        checks=lambda clf, proba: {
            "augment_changed_training": bool(np.abs(proba - plain).max() > 1e-6)
        },
    )


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


def case_augment_fancy_pca():
    def make(std):
        layer = FancyPCA(std=std, seed=0)
        layer.adapt(X_IMAGES)
        return resampled(small_cnn, augment=layer, epochs=4, batch_size=32)

    first = make(0.5).fit(X_IMAGES, Y_IMAGES).predict_proba(X_IMAGES)
    again = make(0.5).fit(X_IMAGES, Y_IMAGES).predict_proba(X_IMAGES)
    unshifted = make(0.0).fit(X_IMAGES, Y_IMAGES).predict_proba(X_IMAGES)
    return {
        "proba_valid": _valid(first, 2),
        "auc": None,
        "reproducible": bool(np.array_equal(first, again)),
        "checks": {"augment_changed_training": bool(np.abs(first - unshifted).max() > 1e-6)},
    }


def case_focal():
    return binary(lambda: mlp(loss="focal"))


def _multiclass(make):
    X_train, X_test, y_train, y_test = train_test_split(X3, y3, stratify=y3, random_state=0)
    proba = make().fit(X_train, y_train).predict_proba(X_test)
    return {
        "proba_valid": _valid(proba, 3),
        "auc": float(roc_auc_score(y_test, proba, multi_class="ovr")),
        "reproducible": None,
        "checks": {},
    }


def case_logit_adjusted():
    return _multiclass(lambda: mlp(loss="logit_adjusted"))


def case_balanced_softmax():
    return _multiclass(lambda: resampled(loss="balanced_softmax"))


def case_ldam():
    return _multiclass(lambda: mlp(loss="ldam"))


def case_deferred_reweighting():
    return binary(
        lambda: mlp(class_weight="balanced", deferred_reweighting=5),
        checks=lambda clf, _: {"all_epochs_ran": len(clf.loss_curve_) == 15},
    )


def case_early_stopping():
    def stopped(clf, _):
        return {
            "validation_scores_recorded": len(clf.history_.get("val_loss", [])) == clf.n_iter_,
            "stopped_before_max_iter": clf.n_iter_ < 200,
        }

    return binary(
        lambda: mlp(early_stopping=True, n_iter_no_change=3, tol=1e-2).set_params(max_iter=200),
        checks=stopped,
    )


def case_prior_correction():
    balanced_mean = float(
        mlp(class_weight="balanced").fit(X_TRAIN, Y_TRAIN).predict_proba(X_TEST)[:, 1].mean()
    )
    return binary(
        lambda: mlp(class_weight="balanced", prior_correction=True),
        checks=lambda clf, proba: {
            "mean_moves_to_prior": bool(
                abs(proba[:, 1].mean() - Y_TRAIN.mean()) < abs(balanced_mean - Y_TRAIN.mean())
            )
        },
    )


def case_output_bias_prior():
    # With a learning rate too small to move anything, the output bias stays
    # where it started: the log-odds of the class prior.
    clf = CostSensitiveMLPClassifier(
        hidden_layer_sizes=(8,),
        max_iter=1,
        learning_rate_init=1e-9,
        random_state=0,
        output_bias_init="prior",
    ).fit(X_TRAIN, Y_TRAIN)
    proba = clf.predict_proba(X_TEST)
    bias = float(keras.ops.convert_to_numpy(clf.model_.layers[-1].bias)[0])
    log_odds = float(np.log(Y_TRAIN.mean() / (1 - Y_TRAIN.mean())))
    return {
        "proba_valid": _valid(proba, 2),
        "auc": None,
        "reproducible": None,
        "checks": {"bias_starts_at_prior": abs(bias - log_odds) < 1e-3},
    }


def case_multilabel():
    X_train, X_test, y_train, y_test = train_test_split(XM, YM, random_state=0)
    clf = resampled(class_weight="balanced", epochs=20).fit(X_train, y_train)
    proba = clf.predict_proba(X_test)
    return {
        "proba_valid": _valid(proba, 2, multilabel=True),
        "auc": float(min(roc_auc_score(y_test[:, k], proba[:, k]) for k in range(2))),
        "reproducible": None,
        "checks": {},
    }


def _compiled(activation, from_logits):
    def builder(meta):
        model = keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(1, activation=activation),
            ]
        )
        loss = keras.losses.BinaryCrossentropy(from_logits=from_logits)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
        return model

    return builder


def case_logits_model():
    # A logits output with a from_logits loss trains and predicts as the sigmoid model.
    sigmoid = resampled(_compiled("sigmoid", False)).fit(X_TRAIN, Y_TRAIN).predict_proba(X_TEST)
    return binary(
        lambda: resampled(_compiled(None, True)),
        checks=lambda clf, proba: {
            "same_as_sigmoid_output": bool(np.allclose(proba, sigmoid, atol=1e-4))
        },
    )


class _Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def case_callbacks():
    epochs, batches = _Count(), []
    lam = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(1))
    return binary(
        lambda: resampled(callbacks=[epochs, lam], epochs=3),
        checks=lambda clf, _: {
            "epoch_hook_every_epoch": epochs.epochs == 3,
            "batch_hook_called": len(batches) > 0,
        },
    )


def _saved_and_loaded(clf, proba, X_test):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "clf.imbnet")
        imbnet.save(clf, path)
        loaded = imbnet.load(path, trusted=["_networks.build"])
    return {
        "loaded_predicts_the_same": bool(
            np.allclose(loaded.predict_proba(X_test), proba, atol=1e-6)
        )
    }


def case_save_load_mlp():
    return binary(lambda: mlp(), checks=lambda clf, proba: _saved_and_loaded(clf, proba, X_TEST))


def case_save_load_resampled():
    return binary(
        lambda: resampled(sampler=RandomUnderSampler()),
        checks=lambda clf, proba: _saved_and_loaded(clf, proba, X_TEST),
    )


CASES = {
    name[len("case_") :]: f for name, f in sorted(globals().items()) if name.startswith("case_")
}


def run(names):
    results = {"backend": keras.backend.backend(), "cases": {}}
    for name in names:
        start = time.perf_counter()
        try:
            result = CASES[name]()
        except Exception as error:  # reported per case, so that one failure hides no other
            result = {
                "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc()[-3000:],
            }
        result["seconds"] = round(time.perf_counter() - start, 2)
        results["cases"][name] = result
    return results


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1:] or list(CASES))))
