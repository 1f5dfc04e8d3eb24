"""Memory under load: many consecutive fits in one process, as a grid search makes them.

The full measurement (100 fits, against plain Keras and scikeras) is
benchmarks/memory_growth.py; here a lighter one, and the mechanism behind it:
every fit names its layers, and so its TensorFlow variables, the same way, so
TensorFlow's kernel cache does not grow with each new model (see imbnet._naming).
"""

import ctypes
import gc
import pickle
import re

import keras
import pytest
from imblearn.under_sampling import RandomUnderSampler
from sklearn.datasets import make_classification

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier
from imbnet.engine import _program_cache

X, Y = make_classification(n_samples=200, n_features=6, weights=[0.85], random_state=0)


from _networks import build  # noqa: E402

MAKERS = {
    "mlp": lambda i: CostSensitiveMLPClassifier(
        hidden_layer_sizes=(6,), max_iter=2, random_state=i
    ),
    "resampled": lambda i: ResampledKerasClassifier(
        build, model__units=6, sampler=RandomUnderSampler(), epochs=2, random_state=i
    ),
}


def rss_mb():
    """VmRSS after a collection and glibc's malloc_trim (freed memory given back)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc: RSS then includes freed memory, the bound still holds
        pass
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status")


def variable_names(clf):
    pickle.dumps(clf)  # builds the optimizer's slots, as saving does (a fit leaves them aside)
    return [v.name for v in clf.model_.variables] + [v.name for v in clf.model_.optimizer.variables]


@pytest.mark.parametrize("kind", list(MAKERS))
def test_every_fit_names_its_variables_alike_and_leaves_the_callers_names_alone(kind):
    def suffix(name):
        match = re.fullmatch(r"dense(?:_(\d+))?", name)
        return int(match.group(1) or 0)

    before = keras.layers.Dense(1).name
    first = MAKERS[kind](0).fit(X, Y)
    second = MAKERS[kind](1).fit(X, Y)
    after = keras.layers.Dense(1).name
    assert variable_names(first) == variable_names(second)
    assert any("kernel_" in name for name in variable_names(first))  # optimizer slots included
    assert suffix(after) == suffix(before) + 1  # the caller's layer naming is untouched


def test_thirty_fits_grow_resident_memory_at_most_as_50_mb_per_100_fits():
    def fit(i):
        MAKERS["mlp" if i % 2 else "resampled"](i).fit(X, Y).predict_proba(X)

    for i in range(5):  # warm-up: compilation, first allocations
        fit(i)
    _program_cache.wait_for_background_compiles()  # any compiling, before the baseline
    start = peak = rss_mb()
    for i in range(5, 35):
        fit(i)
        peak = max(peak, rss_mb())
    assert peak - start <= 50.0 * 30 / 100, f"RSS grew by {peak - start:.1f} MB over 30 fits"


def test_a_builder_may_share_a_layer_made_before_the_fit():
    shared = keras.layers.Dense(3, activation="relu")  # named from the caller's counter

    def builder(meta):
        inputs = keras.Input((6,))
        hidden = shared(keras.layers.Dense(3)(inputs))
        return keras.Model(
            inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dense(3)(hidden))
        )

    clf = ResampledKerasClassifier(builder, epochs=1, random_state=0).fit(X, Y)
    names = [layer.name for layer in clf.model_.layers]
    assert shared.name in names and len(set(names)) == len(names)


def test_passes_over_nine_architectures_compile_each_program_once(monkeypatch):
    """TensorFlow keeps every XLA compilation, so recompiling costs memory each time.
    Each architecture, fitted at one width, compiles the program of that width at its
    first fit; never again."""
    compiled = []
    real_loop = _program_cache.Program

    def counting_loop(*args, **kwargs):
        compiled.append(1)
        return real_loop(*args, **kwargs)

    monkeypatch.setattr(_program_cache, "Program", counting_loop)
    sizes = [(units,) for units in range(11, 20)]  # more than a few: an LRU of 8 recompiled all
    for _ in range(3):
        for size in sizes:
            CostSensitiveMLPClassifier(hidden_layer_sizes=size, max_iter=1, random_state=0).fit(
                X, Y
            )
        _program_cache.wait_for_background_compiles()
    assert len(compiled) == len(sizes)


# A minute or more: left out of the default run, run by CI (pytest -m slow).
pytestmark = pytest.mark.slow
