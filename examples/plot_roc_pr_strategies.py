"""
ROC and precision-recall curves under each strategy
===================================================

The same small network trained six ways on the cost-sensitive tutorial's 1:100 data:
no weighting, ``class_weight="balanced"``, focal loss, SMOTE in an imbalanced-learn
``Pipeline``, random under-sampling redrawn every epoch, and class-balanced mini-batches.
Re-weighting and resampling mostly move the operating points along the curves; ROC AUC
and average precision show what ranking each one learnt.
"""

# %%
# Data: the tutorial's set, trained on one half and scored on the other. The networks
# train for a few epochs only, so scikit-learn's ConvergenceWarning is silenced.
import warnings

import keras
import matplotlib.pyplot as plt
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier, make_tutorial_data

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = make_tutorial_data(n_samples=6000)
X_train, y_train, X_test, y_test = X[:3000], y[:3000], X[3000:], y[3000:]
print(f"{y_train.sum()} positives of {len(y_train)} training rows")


def build(meta):
    """A Keras model for ResampledKerasClassifier: one hidden layer, a sigmoid output."""
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


mlp = dict(hidden_layer_sizes=(16,), max_iter=40, random_state=0)
strategies = {
    "none": CostSensitiveMLPClassifier(**mlp),
    "balanced": CostSensitiveMLPClassifier(**mlp, class_weight="balanced"),
    "focal": CostSensitiveMLPClassifier(**mlp, loss="focal"),
    "SMOTE": make_pipeline(SMOTE(random_state=0), CostSensitiveMLPClassifier(**mlp)),
    "under-sampling, every epoch": ResampledKerasClassifier(
        build, sampler=RandomUnderSampler(), epochs=40, random_state=0
    ),
    "balanced batches": ResampledKerasClassifier(
        build, batch_ratio=1, epochs=20, batch_size=64, random_state=0
    ),
}

# %%
# Fit each strategy and draw its curves on the held-out half.
fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(11, 4.5))
for name, clf in strategies.items():
    clf.fit(X_train, y_train)
    RocCurveDisplay.from_estimator(clf, X_test, y_test, name=name, ax=ax_roc)
    PrecisionRecallDisplay.from_estimator(clf, X_test, y_test, name=name, ax=ax_pr)
ax_roc.set_title("ROC curve (held-out half)")
ax_pr.set_title("Precision-recall curve (held-out half)")
ax_pr.legend(loc="upper right", fontsize="small")
ax_roc.legend(loc="lower right", fontsize="small")
fig.tight_layout()
plt.show()
