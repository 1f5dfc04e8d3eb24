"""imbnet end to end on Keras's JAX backend.

Keras picks its backend from ``KERAS_BACKEND`` when it is first imported, so
the JAX run happens in a fresh interpreter. There imbnet trains through
``model.fit`` on a ``keras.utils.PyDataset`` (imbnet/_engine.py) instead of
its XLA-compiled TensorFlow loop.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json

import keras
import numpy as np
from imblearn.under_sampling import RandomUnderSampler
from sklearn.datasets import make_classification
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier

from _networks import build

X, y = make_classification(n_samples=2000, n_features=6, n_informative=4, n_redundant=2,
                           weights=[0.9], class_sep=2.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
makers = {
    "mlp": lambda: CostSensitiveMLPClassifier(
        hidden_layer_sizes=(8,), max_iter=20, class_weight="balanced", random_state=0),
    "sampler": lambda: ResampledKerasClassifier(
        build, sampler=RandomUnderSampler(), epochs=20, random_state=0),
    "batch_ratio": lambda: ResampledKerasClassifier(build, batch_ratio=2, epochs=5, random_state=0),
}
results = {"backend": keras.backend.backend()}
for name, make in makers.items():
    first = make().fit(X_train, y_train).predict_proba(X_test)
    second = make().fit(X_train, y_train).predict_proba(X_test)
    results[name] = {
        "auc": roc_auc_score(y_test, first[:, 1]),
        "reproducible": bool(np.array_equal(first, second)),
    }
print(json.dumps(results))
"""


def test_jax_backend_end_to_end():
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH")])
        ),
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])

    assert results.pop("backend") == "jax"
    assert set(results) == {"mlp", "sampler", "batch_ratio"}
    for name, result in results.items():
        assert result["auc"] > 0.8, (name, result)
        assert result["reproducible"], (name, result)
