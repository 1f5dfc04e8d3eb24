"""The package's shape: a few top-level modules, concept subpackages, imports that
only go down, and files written before the layout change still load."""

import ast
import importlib
import pickle
from pathlib import Path

import keras
import numpy as np
import pytest

import imbnet

PACKAGE = Path(imbnet.__file__).parent
LEGACY = Path(__file__).parent / "legacy"

# What each part may import besides itself: "leaf" is the top-level modules that
# import nothing of imbnet but each other (_compat, _random, _naming, ...). Anything
# not listed is upward (or sideways) and refused.
ALLOWED = {
    "leaf": set(),
    "engine": {"leaf"},
    "weighting": {"leaf"},
    "_persistence": {"leaf", "engine"},
    "sampling": {"leaf", "engine", "_persistence"},
    "data": {"leaf", "engine", "weighting", "sampling", "_persistence"},
    "classifiers": {"leaf", "engine", "weighting", "sampling", "data", "_persistence"},
    "model_selection": {"leaf", "engine", "weighting", "sampling", "data", "classifiers"},
    "text": {"leaf", "engine", "weighting", "sampling", "data", "classifiers"},
    # the public API only: imbnet's names and its public subpackage imbnet.model_selection
    "cli": {"imbnet", "model_selection"},
}

PUBLIC_MODULES = ("imbnet", "imbnet.model_selection")


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path):
    """Every imbnet module ``path`` imports, at module level or inside a function."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("imbnet"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("imbnet"):
                continue
            for alias in node.names:  # "from . import _stopping" names a module
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
    return found - {name}


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def area(name):
    """The part of the package a module belongs to (see ALLOWED)."""
    parts = name.split(".")
    if len(parts) == 1:
        return "imbnet"
    if len(parts) == 2 and name in MODULES and MODULES[name].name != "__init__.py":
        return parts[1] if parts[1] in ALLOWED else "leaf"
    return parts[1]


def test_a_few_top_level_modules_and_concept_subpackages():
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    subpackages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert len(top) <= 12, top
    assert {"engine", "weighting", "sampling", "data", "classifiers", "cli"} <= set(subpackages)


def test_no_import_circle():
    state = {}

    def visit(name, path):
        state[name] = "open"
        for dep in sorted(GRAPH.get(name, ())):
            if dep not in GRAPH:
                continue
            if state.get(dep) == "open":
                pytest.fail("import circle: " + " -> ".join([*path, name, dep]))
            if dep not in state:
                visit(dep, [*path, name])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [])


def test_imports_only_go_down():
    upward = []
    for name, deps in GRAPH.items():
        if name in ("imbnet", "imbnet.__main__"):
            continue  # the front doors: the lazy public names, ``python -m imbnet``
        here = area(name)
        for dep in deps:
            there = area(dep)
            if there != here and there not in ALLOWED[here]:
                upward.append(f"{name} -> {dep}")
    assert not upward, upward


def test_the_cli_uses_only_the_public_api():
    for name, path in MODULES.items():
        if area(name) != "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.startswith("imbnet") and not node.module.startswith("imbnet.cli"):
                    assert node.module in PUBLIC_MODULES, (name, node.module)
                    public = importlib.import_module(node.module).__all__
                    assert all(a.name in public for a in node.names), name


@pytest.mark.skipif(
    tuple(int(p) for p in keras.__version__.split(".")[:2]) < (3, 15),
    reason="written with Keras 3.15: an older Keras cannot read its model files",
)
@pytest.mark.parametrize("name", ["mlp", "pipeline", "resampled", "ensemble"])
def test_files_written_by_imbnet_0_1_load(name):
    X = np.load(LEGACY / "X.npy")
    expected = np.load(LEGACY / f"{name}-0.1.0-proba.npy")
    trusted = ["_networks.build"] if name == "resampled" else ()
    saved = imbnet.load(LEGACY / f"{name}-0.1.0.imbnet", trusted=trusted)
    with open(LEGACY / f"{name}-0.1.0.pkl", "rb") as f:
        pickled = pickle.load(f)  # noqa: S301 (our own file)
    # The same weights, but float32 kernels compiled for another processor may round
    # differently (seen: 6e-8 on an AMD EPYC against files written on another machine).
    np.testing.assert_allclose(saved.predict_proba(X), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(pickled.predict_proba(X), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(saved.predict_proba(X), pickled.predict_proba(X))


def test_old_module_names_are_the_new_modules():
    import imbnet._mlp as old
    import imbnet.classifiers._mlp as new

    assert old is new
    assert old.CostSensitiveMLPClassifier is imbnet.CostSensitiveMLPClassifier
    assert new.__spec__.name == "imbnet.classifiers._mlp"
