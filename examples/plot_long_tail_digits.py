"""
Long-tailed digits
==================

scikit-learn's digits made long-tailed: class ``c`` keeps ``n_max * 50 ** (-c / 9)`` of
its training images (128 of the 0s, 3 of the 9s), and the test set is balanced. Plain
cross-entropy, ``class_weight="balanced"`` and the logit-adjusted loss of Menon et al.
(2021) train the same network; the figure shows each one's recall per class, and the
legend its balanced accuracy. The rare classes are where the methods differ.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score, recall_score

from imbnet import CostSensitiveMLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X = X / 16.0
rng = np.random.default_rng(0)
train, test = [], []
for c in range(10):
    rows = rng.permutation(np.flatnonzero(y == c))
    test.extend(rows[:50])  # 50 test images per class: a balanced test set
    keep = max(2, int(round(len(rows[50:]) * 50 ** (-c / 9))))
    train.extend(rows[50 : 50 + keep])
train, test = np.array(train), np.array(test)
print("training images per class:", np.bincount(y[train]))

# %%
settings = {
    "cross-entropy": {},
    'class_weight="balanced"': {"class_weight": "balanced"},
    'loss="logit_adjusted"': {"loss": "logit_adjusted"},
}
fig, ax = plt.subplots(figsize=(9, 4))
for i, (name, extra) in enumerate(settings.items()):
    clf = CostSensitiveMLPClassifier(
        hidden_layer_sizes=(64,), max_iter=100, random_state=0, **extra
    ).fit(X[train], y[train])
    pred = clf.predict(X[test])
    recall = recall_score(y[test], pred, average=None)
    bacc = balanced_accuracy_score(y[test], pred)
    ax.bar(np.arange(10) + (i - 1) * 0.27, recall, width=0.27, label=f"{name}: {bacc:.3f}")
ax.set_xticks(range(10), [f"{c}\n({n})" for c, n in enumerate(np.bincount(y[train]))])
ax.set_xlabel("digit (training images)")
ax.set_ylabel("recall on the balanced test set")
ax.legend(title="balanced accuracy", fontsize="small", loc="lower left")
fig.tight_layout()
plt.show()
