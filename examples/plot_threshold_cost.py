"""
A threshold chosen for a cost
=============================

When a missed positive costs 20 false alarms, the 0.5 threshold of ``predict`` is rarely
the right one. This example trains a class-weighted network, draws the expected cost per
1,000 cases against the decision threshold on held-out rows, and marks the threshold that
scikit-learn's ``TunedThresholdClassifierCV`` picks by cross-validation on the training
rows alone (no held-out row chooses anything).
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import make_scorer
from sklearn.model_selection import TunedThresholdClassifierCV

from imbnet import CostSensitiveMLPClassifier, make_tutorial_data

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = make_tutorial_data(n_samples=6000)
X_train, y_train, X_test, y_test = X[:3000], y[:3000], X[3000:], y[3000:]
COST_FP, COST_FN = 1, 20


def cost_per_1000(y_true, y_pred):
    """Expected cost per 1,000 cases: false positives cost 1, false negatives 20."""
    fp = np.sum((y_pred == 1) & (y_true == 0))
    fn = np.sum((y_pred == 0) & (y_true == 1))
    return 1000 * (COST_FP * fp + COST_FN * fn) / len(y_true)


clf = CostSensitiveMLPClassifier(
    hidden_layer_sizes=(16,), class_weight="log", max_iter=40, random_state=0
)
tuned = TunedThresholdClassifierCV(
    clf, scoring=make_scorer(cost_per_1000, greater_is_better=False), cv=3, random_state=0
).fit(X_train, y_train)
print(f"threshold chosen on the training rows: {tuned.best_threshold_:.3f}")

# %%
# The cost of every threshold on the held-out half, with the trivial policies beside it.
proba = tuned.estimator_.predict_proba(X_test)[:, 1]
thresholds = np.linspace(0.01, 0.99, 99)
costs = [cost_per_1000(y_test, (proba >= t).astype(int)) for t in thresholds]
flag_nothing = cost_per_1000(y_test, np.zeros_like(y_test))

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(thresholds, costs, label="network, held-out half")
ax.axhline(flag_nothing, color="grey", linestyle=":", label="flag nothing")
ax.axvline(0.5, color="black", linestyle="--", linewidth=1, label="predict (0.5)")
ax.axvline(tuned.best_threshold_, color="tab:red", label="TunedThresholdClassifierCV")
ax.set_xlabel("decision threshold on P(positive)")
ax.set_ylabel("expected cost per 1,000 cases")
ax.set_title("False positive costs 1, false negative costs 20")
ax.legend()
fig.tight_layout()
plt.show()

print(f"cost at 0.5: {cost_per_1000(y_test, (proba >= 0.5).astype(int)):.1f}")
print(f"cost at the tuned threshold: {cost_per_1000(y_test, tuned.predict(X_test)):.1f}")
