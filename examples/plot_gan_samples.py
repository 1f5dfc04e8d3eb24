"""
GAN samples beside the real minority rows
=========================================

``GANOverSampler`` trains a small conditional Wasserstein GAN on the rows it is given and
appends synthetic rows of the rare class. On the tutorial's two features they can be drawn
beside the real minority, and beside SMOTE's rows, which lie on the segments between real
neighbours. A short training (40 epochs) keeps the example quick; the default is 300.
"""

# %%
import matplotlib.pyplot as plt
from imblearn.over_sampling import SMOTE

from imbnet import GANOverSampler, make_tutorial_data

X, y = make_tutorial_data(n_samples=4000)
gan = GANOverSampler(sampling_strategy=0.1, epochs=40, random_state=0)
X_gan, y_gan = gan.fit_resample(X, y)
X_smote, y_smote = SMOTE(sampling_strategy=0.1, random_state=0).fit_resample(X, y)
n = len(X)  # both return the original rows first, then the synthetic ones
print(f"{int(y.sum())} real minority rows; {len(X_gan) - n} synthetic rows each")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharex=True, sharey=True)
for ax, (title, X_new) in zip(axes, [("GANOverSampler", X_gan[n:]), ("SMOTE", X_smote[n:])]):
    ax.scatter(*X[y == 0].T, s=3, color="lightgrey", label="majority")
    ax.scatter(*X_new.T, s=6, color="tab:orange", alpha=0.6, label="synthetic minority")
    ax.scatter(*X[y == 1].T, s=14, color="tab:blue", label="real minority")
    ax.set_title(title)
    ax.set_xlabel("feature 0")
axes[0].set_ylabel("feature 1")
axes[0].legend(loc="lower left", fontsize="small")
fig.tight_layout()
plt.show()
