"""imbnet.save / imbnet.load: exact round trips, no pickle, and refusal of code."""

import io
import os
import pickle
import zipfile

import keras
import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import imbnet
from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier

X, y = make_classification(n_samples=240, n_features=6, weights=[0.85], random_state=0)
X = X.astype(np.float32)


from _networks import build  # noqa: E402


def build_with_lambda(meta):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Lambda(lambda t: t * 2.0),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


@keras.saving.register_keras_serializable(package="imbnet_tests")
class Doubling(keras.layers.Layer):
    def call(self, inputs):
        return inputs * 2.0


def build_with_custom_layer(meta):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            Doubling(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def mlp(**params):
    return CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0, **params)


@pytest.fixture(scope="module")
def fitted():
    return {
        "mlp": mlp(class_weight="balanced").fit(X, y),
        "pipeline": Pipeline(
            [("scale", StandardScaler()), ("smote", SMOTE(random_state=0)), ("clf", mlp())]
        ).fit(X, y),
        "resampled": ResampledKerasClassifier(
            build, sampler=RandomUnderSampler(), model__units=4, epochs=2, random_state=0
        ).fit(X, y),
        "calibrated": CalibratedClassifierCV(mlp(loss="focal"), cv=2).fit(X, y),
    }


@pytest.mark.parametrize("name", ["mlp", "pipeline", "resampled", "calibrated"])
def test_round_trip_predicts_exactly_as_before(fitted, name, tmp_path, monkeypatch):
    estimator = fitted[name]
    before = estimator.predict_proba(X)
    state = {k: v for k, v in vars(estimator).items()}
    path = tmp_path / "model.imbnet"
    imbnet.save(estimator, path)
    # Saving leaves the estimator untouched.
    assert {k: v for k, v in vars(estimator).items()} == state

    def no_unpickling(*args, **kwargs):
        raise AssertionError("imbnet.load unpickled")

    monkeypatch.setattr(pickle, "loads", no_unpickling)
    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "Unpickler", no_unpickling)
    trusted = ["_networks.build"] if name == "resampled" else ()
    loaded = imbnet.load(path, trusted=trusted)
    assert type(loaded) is type(estimator)
    np.testing.assert_array_equal(loaded.predict_proba(X), before)
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))


def test_loaded_estimator_keeps_its_parameters_and_refits(fitted, tmp_path):
    path = tmp_path / "model.imbnet"
    imbnet.save(fitted["resampled"], path)
    loaded = imbnet.load(path, trusted=["_networks.build"])
    assert loaded.get_params()["model__units"] == 4
    assert isinstance(loaded.sampler, RandomUnderSampler)
    assert loaded.model is build
    refit = loaded.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(refit, fitted["resampled"].predict_proba(X))


def test_untrusted_python_names_are_refused(fitted, tmp_path):
    path = tmp_path / "model.imbnet"
    imbnet.save(fitted["resampled"], path)
    with pytest.raises(ValueError, match=r"not trusted: \[._networks.build.\]"):
        imbnet.load(path)


def test_a_function_from_elsewhere_is_refused(tmp_path):
    """A file naming os.system (say, as a FunctionTransformer's func) is not loaded."""
    pipe = Pipeline([("f", FunctionTransformer()), ("clf", mlp())]).fit(X, y)
    pipe.steps[0] = ("f", FunctionTransformer(os.system))  # swapped in after fit
    path = tmp_path / "evil.imbnet"
    imbnet.save(pipe, path)
    with pytest.raises(ValueError, match=r"not trusted: \['(posix|nt)\.system'\]"):
        imbnet.load(path)


@pytest.mark.parametrize(
    "builder, code",
    [(build_with_lambda, "a Lambda layer"), (build_with_custom_layer, "Doubling")],
)
def test_keras_code_needs_safe_mode_off(builder, code, tmp_path):
    clf = ResampledKerasClassifier(builder, epochs=1, random_state=0).fit(X, y)
    path = tmp_path / "code.imbnet"
    imbnet.save(clf, path)
    trusted = [f"{__name__}.{builder.__name__}"]
    with pytest.raises(ValueError, match=f"carries code .*{code}.*safe_mode=False"):
        imbnet.load(path, trusted=trusted)
    loaded = imbnet.load(path, trusted=trusted, safe_mode=False)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def _rewrite(path, change):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    change(members)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_tampered_truncated_and_foreign_files_are_clear_errors(fitted, tmp_path):
    path = tmp_path / "model.imbnet"
    imbnet.save(fitted["mlp"], path)
    data = path.read_bytes()

    truncated = tmp_path / "truncated.imbnet"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        imbnet.load(truncated)

    tampered = tmp_path / "tampered.imbnet"
    tampered.write_bytes(data)

    def flip_weights(members):
        weights = bytearray(members["keras/0.keras"])
        weights[len(weights) // 2] ^= 0xFF
        members["keras/0.keras"] = bytes(weights)

    _rewrite(tampered, flip_weights)
    with pytest.raises(ValueError, match=r"altered or is incomplete.*keras/0.keras"):
        imbnet.load(tampered)

    missing = tmp_path / "missing.imbnet"
    missing.write_bytes(data)
    _rewrite(missing, lambda members: members.pop("keras/0.keras"))
    with pytest.raises(ValueError, match="altered or is incomplete"):
        imbnet.load(missing)

    foreign = tmp_path / "foreign.imbnet"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.pkl", pickle.dumps(fitted["mlp"].classes_))
    foreign.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="not an imbnet model file"):
        imbnet.load(foreign)


def test_callbacks_have_no_safe_form(tmp_path):
    clf = ResampledKerasClassifier(
        build, epochs=1, callbacks=[keras.callbacks.TerminateOnNaN()], random_state=0
    ).fit(X, y)
    with pytest.raises(TypeError, match="cannot save 'callbacks'.*set_params"):
        imbnet.save(clf, tmp_path / "model.imbnet")
    clf.set_params(callbacks=None)
    imbnet.save(clf, tmp_path / "model.imbnet")
    assert os.path.getsize(tmp_path / "model.imbnet") > 0


def test_tuned_threshold_classifier_with_default_scoring_round_trips(tmp_path):
    """Its scorer holds scikit-learn's balanced_accuracy_score: a trusted metric function."""
    from sklearn.model_selection import TunedThresholdClassifierCV

    tuned = TunedThresholdClassifierCV(mlp(class_weight="balanced"), cv=2).fit(X, y)
    path = tmp_path / "tuned.imbnet"
    imbnet.save(tuned, path)
    loaded = imbnet.load(path)
    assert loaded.best_threshold_ == tuned.best_threshold_
    np.testing.assert_array_equal(loaded.predict(X), tuned.predict(X))


def test_functions_outside_the_metrics_stay_untrusted(tmp_path):
    """Trusting metric functions does not trust every scikit-learn function."""
    from sklearn.utils import shuffle

    pipe = Pipeline([("f", FunctionTransformer(shuffle)), ("clf", mlp())]).fit(X, y)
    path = tmp_path / "shuffle.imbnet"
    imbnet.save(pipe, path)
    with pytest.raises(ValueError, match=r"not trusted: \['sklearn\.utils\..*shuffle'\]"):
        imbnet.load(path)


MAIN_SCRIPT = """
import warnings
import keras
import numpy as np
import imbnet

def build(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(1, activation="sigmoid")])

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 3)).astype("float32")
y = (X[:, 0] > 0.5).astype(int)
clf = imbnet.ResampledKerasClassifier(build, epochs=1, random_state=0).fit(X, y)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    imbnet.save(clf, {path!r})
print("WARNED:", [str(w.message) for w in caught if w.category is UserWarning])
"""


@pytest.mark.slow
def test_builder_from_a_script_warns_at_save_and_names_itself_at_load(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "script.imbnet"
    script = tmp_path / "train.py"
    script.write_text(MAIN_SCRIPT.format(path=str(path)))
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    warned = next(line for line in done.stdout.splitlines() if line.startswith("WARNED:"))
    assert "__main__.build" in warned and "only a program that defines" in warned
    # Another program (this one) has no __main__.build.
    with pytest.raises(ImportError, match=r"needs __main__\.build.*define or import build"):
        imbnet.load(path, trusted=["__main__.build"])


def test_builder_from_a_missing_module_is_a_clear_import_error(tmp_path, monkeypatch):
    import importlib
    import sys

    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    (module_dir / "imbnet_test_builders.py").write_text(
        "import keras\n\n"
        "def build(meta):\n"
        "    return keras.Sequential([keras.Input((meta['n_features_in_'],)),\n"
        "                             keras.layers.Dense(1, activation='sigmoid')])\n"
    )
    monkeypatch.syspath_prepend(str(module_dir))
    builders = importlib.import_module("imbnet_test_builders")
    clf = ResampledKerasClassifier(builders.build, epochs=1, random_state=0).fit(X, y)
    path = tmp_path / "module.imbnet"
    imbnet.save(clf, path)
    # The module is gone: as on a machine where it is not installed.
    monkeypatch.delitem(sys.modules, "imbnet_test_builders")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(module_dir)])
    with pytest.raises(ImportError, match=r"needs imbnet_test_builders\.build.*sys\.path"):
        imbnet.load(path, trusted=["imbnet_test_builders.build"])
