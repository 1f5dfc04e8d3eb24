"""Safe saving and loading of fitted estimators and pipelines: no pickle.

An ``.imbnet`` file is a zip archive of three kinds of member:

- ``manifest.json``: the format name and version, the versions that wrote it and
  the SHA-256 of every other member (a tampered or truncated file is refused);
- ``estimator.skops``: the estimator or pipeline in skops's format (plain data
  and arrays; loading constructs only the types it trusts), with every Keras
  object replaced by a reference;
- ``keras/<i>.keras``: each Keras model in Keras's own format, loaded with
  Keras's safe mode after a scan of its configuration refuses code (``Lambda``
  layers, lambdas, classes from outside Keras and imbnet) unless the caller trusts it.

This module knows nothing of imbnet's estimators: they call
:func:`keras_to_references` / :func:`references_to_keras` from their
``__getstate__`` / ``__setstate__``, which only act while :func:`save` or
:func:`load` runs (pickling keeps scikeras's behaviour).
"""

import contextvars
import hashlib
import importlib
import io
import json
import os
import tempfile
import warnings
import zipfile

import keras
import sklearn

from ._version import __version__
from .engine._model_state import build_optimizer_state

__all__ = ["KerasStateMixin", "load", "save"]

FORMAT = "imbnet-model"
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_ESTIMATOR = "estimator.skops"


def _skops_io():
    """skops's ``io`` module, imported when a file is saved or loaded: importing it
    imports much of scikit-learn, seconds a script that never saves should not pay."""
    import skops.io

    return skops.io


_MODEL_REF = "__imbnet_keras_model__"
_OBJECT_REF = "__imbnet_keras_object__"
# Packages whose estimators (and plain functions) are trusted without being named.
_TRUSTED_PACKAGES = ("sklearn", "imblearn", "imbnet")
# Public modules whose functions are trusted: metrics and scorers compute numbers
# (a fitted TunedThresholdClassifierCV holds its scorer's metric function).
_TRUSTED_FUNCTION_MODULES = ("sklearn.metrics", "imblearn.metrics")
# Plain data types that construct nothing else (a dtype: OneHotEncoder's ``dtype``).
_TRUSTED_NAMES = ("numpy.dtype",)

_active = contextvars.ContextVar("imbnet_persistence", default=None)


class _SaveContext:
    def __init__(self):
        self.models = []


class _LoadContext:
    def __init__(self, models, safe_mode):
        self.models = models
        self.safe_mode = safe_mode


class KerasStateMixin:
    """Mixin of an estimator holding Keras objects: while :func:`save` or
    :func:`load` runs, its pickled state carries them as references to
    members in Keras's own format; ordinary pickling is unchanged."""

    def __getstate__(self):
        state = super().__getstate__()
        for value in state.values():
            if isinstance(value, keras.Model):
                build_optimizer_state(value)  # the optimizer's state goes with the model
        return keras_to_references(state)

    def __setstate__(self, state):
        super().__setstate__(references_to_keras(state))


def keras_to_references(state):
    """Return ``state`` with its Keras objects replaced by references (during save)."""
    context = _active.get()
    if not isinstance(context, _SaveContext):
        return state
    return {key: _to_reference(value, context, key) for key, value in state.items()}


def references_to_keras(state):
    """Return ``state`` with its references replaced by Keras objects (during load)."""
    context = _active.get()
    if not isinstance(context, _LoadContext):
        return state
    return {key: _from_reference(value, context) for key, value in state.items()}


def _to_reference(value, context, key):
    if isinstance(value, keras.Model):
        context.models.append(value)
        return {_MODEL_REF: len(context.models) - 1}
    if isinstance(value, keras.callbacks.Callback):
        raise TypeError(
            f"cannot save {key!r}: it holds a Keras callback ({type(value).__name__}), "
            "which has no safe saved form; set it to None (set_params) before saving, "
            "or pickle the estimator if the file never leaves your control"
        )
    if isinstance(value, (keras.layers.Layer, keras.optimizers.Optimizer, keras.losses.Loss)):
        return {_OBJECT_REF: keras.saving.serialize_keras_object(value)}
    if isinstance(value, dict):
        return {k: _to_reference(v, context, key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_reference(v, context, key) for v in value)
    return value


def _from_reference(value, context):
    if isinstance(value, dict):
        if set(value) == {_MODEL_REF}:
            return context.models[value[_MODEL_REF]]
        if set(value) == {_OBJECT_REF}:
            config = value[_OBJECT_REF]
            _refuse_code(config, "a Keras object", context.safe_mode)
            return keras.saving.deserialize_keras_object(config, safe_mode=context.safe_mode)
        return {k: _from_reference(v, context) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_from_reference(v, context) for v in value)
    return value


def save(estimator, path):
    """Save a fitted estimator or pipeline to ``path`` without pickle.

    Works for imbnet's classifiers and for scikit-learn / imbalanced-learn
    pipelines, searches and wrappers holding them. Keras models are stored in
    Keras's ``.keras`` format, everything else with skops. Keras callbacks have
    no safe saved form: an estimator whose ``callbacks`` are set is refused. A
    ``UserWarning`` says when the object refers to a function or class defined
    in the running script or notebook (``__main__``): only the same script can
    load such a file.

    Parameters
    ----------
    estimator : object
        The fitted estimator (it is not modified).
    path : str or path-like
        Destination file, conventionally ending in ``.imbnet``; overwritten.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import make_classification
    >>> import imbnet
    >>> X, y = make_classification(n_samples=200, weights=[0.9], random_state=0)
    >>> clf = imbnet.CostSensitiveMLPClassifier(
    ...     hidden_layer_sizes=(8,), max_iter=3, class_weight="balanced",
    ...     random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "clf.imbnet")
    >>> imbnet.save(clf, path)
    >>> bool((imbnet.load(path).predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    _check_fitted(estimator)
    context = _SaveContext()
    token = _active.set(context)
    try:
        skops_bytes = _skops_io().dumps(estimator)
    finally:
        _active.reset(token)
    members = {_ESTIMATOR: skops_bytes}
    with tempfile.TemporaryDirectory() as tmp:
        for index, model in enumerate(context.models):
            model_path = os.path.join(tmp, f"{index}.keras")
            model.save(model_path)
            with open(model_path, "rb") as file:
                members[f"keras/{index}.keras"] = file.read()
    _warn_main_names(members)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "keras_models": len(context.models),
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_MANIFEST, json.dumps(manifest, indent=1))
        for name, data in members.items():
            archive.writestr(name, data)


def load(path, *, trusted=(), safe_mode=True):
    """Load an estimator saved by :func:`save`; never unpickles.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`imbnet.save`.
    trusted : sequence of str, default=()
        Further Python names (``"module.name"``) to allow, such as your own model
        builder function. Classes of scikit-learn, imbalanced-learn and imbnet,
        imbnet's functions, SciPy's sparse matrices and skops's default types are
        trusted already; any other name in the file makes loading fail with the list
        of such names.
    safe_mode : bool, default=True
        Refuse Keras models and objects that carry code (``Lambda`` layers,
        Python lambdas, classes from outside Keras and imbnet). Pass ``False`` only for
        files you trust: loading them can run arbitrary code.

    Returns
    -------
    estimator : object

    Raises
    ------
    ValueError
        The file is not an imbnet file, is truncated or was altered, or holds
        code or types that were not trusted.
    ImportError
        A function or class the file names (a model builder) cannot be imported
        here; the message names it and says what to do.
    """
    members = _read_members(path)
    named = _skops_io().get_untrusted_types(data=members[_ESTIMATOR])
    untrusted = [n for n in named if n not in trusted and not _trusted_by_package(n)]
    if untrusted:
        raise ValueError(
            f"{os.fspath(path)!r} holds Python names that are not trusted: "
            f"{untrusted}; if you trust the file's source, pass them as "
            "imbnet.load(path, trusted=[...])"
        )
    models = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(len([n for n in members if n.startswith("keras/")])):
            data = members[f"keras/{index}.keras"]
            _refuse_code(_keras_config(data), f"its Keras model {index}", safe_mode, path)
            model_path = os.path.join(tmp, f"{index}.keras")
            with open(model_path, "wb") as file:
                file.write(data)
            models.append(keras.saving.load_model(model_path, compile=False, safe_mode=safe_mode))
    token = _active.set(_LoadContext(models, safe_mode))
    try:
        return _skops_io().loads(members[_ESTIMATOR], trusted=named)
    except (ImportError, AttributeError) as exc:
        missing = [n for n in named if not _importable(n)]
        if not missing:
            raise
        raise ImportError(_missing_message(path, missing[0], exc)) from None
    finally:
        _active.reset(token)


def _check_fitted(estimator):
    """An estimator saved before ``fit`` is a mistake: scikit-learn's NotFittedError."""
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(estimator, BaseEstimator) or not hasattr(estimator, "fit"):
        return
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise NotFittedError(
            f"this {type(estimator).__name__} is not fitted yet: call fit before "
            "imbnet.save (an unfitted estimator needs no file: rebuild it from its parameters)"
        ) from None


def _main_names(members):
    """Names from ``__main__`` (the running script or notebook) that the archive refers to."""
    names = [n for n in _skops_io().get_untrusted_types(data=members[_ESTIMATOR])]
    for name, data in members.items():
        if name.startswith("keras/"):
            names += list(_code_in(_keras_config(data)))
    return sorted({n for n in names if n.startswith("__main__.")})


def _warn_main_names(members):
    found = _main_names(members)
    if found:
        warnings.warn(
            f"the saved object refers to {', '.join(found)}, defined in the script or "
            "notebook being run (__main__): only a program that defines the same names "
            "can load the file. Move them to a module that the loading program can "
            "import (e.g. mymodels.py), use them from there and save again",
            UserWarning,
            stacklevel=3,
        )


def _importable(name):
    module_name, _, attribute = name.rpartition(".")
    try:
        obj = importlib.import_module(module_name)
    except ImportError:
        return False
    for part in attribute.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def _missing_message(path, name, exc):
    module_name, _, attribute = name.rpartition(".")
    where = f"{os.fspath(path)!r} needs {name}"
    if module_name == "__main__":
        return (
            f"{where}, which was defined in the script or notebook that saved it (__main__) "
            f"and is not defined here: define or import {attribute} in the main script "
            "before imbnet.load, or better, move it to a module, refit and save again"
        )
    return (
        f"{where}, which cannot be imported here ({type(exc).__name__}: {exc}): make "
        f"{module_name!r} importable (install it, or add the folder that holds it to "
        "sys.path) before imbnet.load"
    )


def _read_members(path):
    """All members of the archive, checked against the manifest's digests."""
    name = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise ValueError(
            f"{name!r} is not an imbnet model file, or it is truncated or corrupt ({exc})"
        ) from None
    try:
        manifest = json.loads(members.pop(_MANIFEST))
        ok = manifest["format"] == FORMAT
    except (KeyError, ValueError, TypeError):
        ok = False
    if not ok:
        raise ValueError(f"{name!r} is not an imbnet model file (no imbnet manifest)")
    if manifest["format_version"] > FORMAT_VERSION:
        raise ValueError(
            f"{name!r} was written by a newer imbnet (format "
            f"{manifest['format_version']}); upgrade imbnet to load it"
        )
    digests = {k: hashlib.sha256(v).hexdigest() for k, v in members.items()}
    if digests != manifest.get("sha256") or _ESTIMATOR not in members:
        altered = sorted(set(digests.items()) ^ set(manifest.get("sha256", {}).items()))
        raise ValueError(
            f"{name!r} was altered or is incomplete: its members do not match the "
            f"digests in its manifest ({sorted({k for k, _ in altered})})"
        )
    return members


def _trusted_by_package(name):
    """Classes of scikit-learn, imbalanced-learn and imbnet; imbnet's functions;
    the public metric and scorer functions of ``sklearn.metrics`` and ``imblearn.metrics``.

    Their classes only store state (estimators, KD-trees, distance metrics) and
    the metric functions compute numbers; other functions stay untrusted
    (``FunctionTransformer(os.system)``).
    """
    module_name, _, attribute = name.rpartition(".")
    if name in _TRUSTED_NAMES or _is_sparse_type(name):
        return True
    if module_name.split(".")[0] not in _TRUSTED_PACKAGES:
        return False
    try:
        obj = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return False
    if isinstance(obj, type):
        return True
    if module_name.split(".")[0] == "imbnet" and callable(obj):
        return True
    return callable(obj) and any(
        getattr(importlib.import_module(public), attribute, None) is obj
        for public in _TRUSTED_FUNCTION_MODULES
    )


def _is_sparse_type(name):
    """SciPy's sparse matrix and array classes (one-hot encoders and SMOTENC hold them).

    skops stores them with ``scipy.sparse.save_npz`` and loads them with
    ``load_npz``, which reads arrays with ``allow_pickle=False``: plain data.
    """
    module_name, _, attribute = name.rpartition(".")
    if module_name != "scipy.sparse" and not module_name.startswith("scipy.sparse._"):
        return False
    try:
        from scipy import sparse

        obj = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return False
    bases = tuple(b for b in (sparse.spmatrix, getattr(sparse, "sparray", None)) if b)
    return isinstance(obj, type) and issubclass(obj, bases)


def _keras_config(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ValueError(f"a Keras model in the file is unreadable ({exc})") from None


def _refuse_code(config, what, safe_mode, path=None):
    if not safe_mode:
        return
    found = sorted(set(_code_in(config)))
    if found:
        where = f"{os.fspath(path)!r}: " if path is not None else ""
        raise ValueError(
            f"{where}{what} carries code ({', '.join(found)}); loading it could run "
            "arbitrary Python. If you trust the file's source, load it with "
            "imbnet.load(path, safe_mode=False)"
        )


def _code_in(config):
    """Names of the code-carrying entries in a Keras configuration tree."""
    if isinstance(config, dict):
        class_name, module = config.get("class_name"), config.get("module") or ""
        if class_name == "Lambda":
            yield "a Lambda layer"
        elif class_name == "__lambda__":
            yield "a Python lambda"
        elif module and module.split(".")[0] not in ("keras", "builtins", "imbnet"):
            name = config.get("config") if class_name == "function" else class_name
            yield f"{module}.{name}"
        for value in config.values():
            yield from _code_in(value)
    elif isinstance(config, list):
        for value in config:
            yield from _code_in(value)


def _versions():
    return {"imbnet": __version__, "keras": keras.__version__, "scikit-learn": sklearn.__version__}
