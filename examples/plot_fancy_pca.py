"""
Fancy PCA colour shifts on a small image
========================================

``FancyPCA`` is AlexNet's colour augmentation as a Keras preprocessing layer: ``adapt``
finds the principal components of the RGB values of the training images, and in training
each image gets one colour offset along them. Here it is adapted to a small synthetic
landscape and applied, in training mode, to eight copies of it with ``std=0.3`` (three
times AlexNet's 0.1, so the shifts are easy to see). At inference it is the identity.
As ``augment=`` of ``ResampledKerasClassifier`` it shifts the minority images of every
training batch.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from imbnet import FancyPCA

rows, cols = np.mgrid[0:64, 0:64] / 63.0
image = np.zeros((64, 64, 3))
image[..., 0] = 90 + 60 * rows  # sky: blue fading to pale at the horizon
image[..., 1] = 140 + 60 * rows
image[..., 2] = 235 - 20 * rows
sun = (rows - 0.25) ** 2 + (cols - 0.75) ** 2 < 0.015
image[sun] = [250, 220, 90]
grass = rows > 0.6 + 0.08 * np.sin(6 * cols)
image[grass] = np.stack([50 + 40 * cols[grass], 150 - 30 * rows[grass], 60 + 0 * rows[grass]], -1)
image = image.astype("float32")

layer = FancyPCA(std=0.3, value_range=(0, 255), seed=0)
layer.adapt(image[None])
shifted = np.asarray(layer(np.repeat(image[None], 8, axis=0), training=True))
print("eigenvalues of the RGB covariance:", np.round(np.asarray(layer.eigenvalues), 4))

# %%
fig, axes = plt.subplots(1, 9, figsize=(13, 2))
for ax, img, title in zip(axes, [image, *shifted], ["original"] + [f"shift {i}" for i in range(8)]):
    ax.imshow(img.astype("uint8"))
    ax.set_title(title, fontsize="small")
    ax.axis("off")
fig.tight_layout()
plt.show()
