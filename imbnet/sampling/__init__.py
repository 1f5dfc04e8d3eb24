"""Sampling and augmentation: which rows each epoch sees.

- ``_samplers``: running an imbalanced-learn sampler inside fit, redrawn every epoch;
- ``_batching`` / ``_epochs``: balanced batches and the epoch sources the engine reads;
- ``_hard_negatives`` / ``_downsampling``: samplers for detection-style negatives;
- ``_generative``: GAN oversampling; ``_fancy_pca``: Fancy PCA colour augmentation.
"""
