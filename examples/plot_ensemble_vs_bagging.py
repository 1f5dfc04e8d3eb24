"""
Networks side by side against bagging
=====================================

``BalancedEnsembleClassifier`` trains several networks, each on its own balanced draw of
the rows (fresh every epoch), side by side in one compiled Keras model.
imbalanced-learn's ``BalancedBaggingClassifier`` with the same networks fits them one after
another, each on one balanced draw. Both are set against a single network on all rows and
a single network on one balanced draw; the bars show held-out average precision and ROC
AUC, and the fit times (seconds, on a busy machine) are printed.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from imblearn.ensemble import BalancedBaggingClassifier
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import average_precision_score, roc_auc_score

from imbnet import BalancedEnsembleClassifier, CostSensitiveMLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = make_classification(
    n_samples=4000, n_features=10, n_informative=5, weights=[0.96], flip_y=0.01, random_state=0
)
X_train, y_train, X_test, y_test = X[:2000], y[:2000], X[2000:], y[2000:]
member = CostSensitiveMLPClassifier(hidden_layer_sizes=(16,), max_iter=60, random_state=0)
models = {
    "one network, all rows": member,
    "one network, one\nbalanced draw": make_pipeline(RandomUnderSampler(random_state=0), member),
    "BalancedBagging\n(5 networks)": BalancedBaggingClassifier(
        member, n_estimators=5, random_state=0
    ),
    "BalancedEnsemble\n(5 side by side)": BalancedEnsembleClassifier(
        member, n_estimators=5, random_state=0
    ),
}
scores = {}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    proba = model.predict_proba(X_test)[:, 1]
    scores[name] = (average_precision_score(y_test, proba), roc_auc_score(y_test, proba))
    print(f"{name.replace(chr(10), ' '):35s} fit {seconds:5.1f} s  AP {scores[name][0]:.3f}")

# %%
fig, ax = plt.subplots(figsize=(9, 4))
where = np.arange(len(scores))
ax.bar(where - 0.2, [s[0] for s in scores.values()], width=0.4, label="average precision")
ax.bar(where + 0.2, [s[1] for s in scores.values()], width=0.4, label="ROC AUC")
ax.set_xticks(where, list(scores), fontsize="small")
ax.set_ylim(0, 1)
ax.set_title("Held-out scores, 1:24 data, 60 epochs per network")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
