"""What the network is fed under each resampling strategy, counted inside the model.

A probe layer at the input of the network counts, during training, every row it
receives (the last input column carries the row id) and the number of
minority rows in each mini-batch. On a 1:9 data set (180 majority, 20
minority rows, as in imbalanced-learn's Keras batch-generator example) it
prints, per strategy:

- how many distinct majority rows the network ever saw over the epochs,
- the minority share of every mini-batch (mean, min, max).

Random under-sampling drawn once per fit (imbalanced-learn's generator
behaviour) uses the same 20 majority rows every epoch; re-drawn every epoch it
covers most of the majority class; balanced batches at 3:1 cycle through all of
it with exactly 25% minority in every batch.

Run: ``python benchmarks/resampling_coverage.py [--epochs 20]``
"""

import argparse
import datetime
import os
import platform

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from imblearn.under_sampling import RandomUnderSampler  # noqa: E402

from imbnet import ResampledKerasClassifier  # noqa: E402

N_MAJORITY, N_MINORITY, BATCH = 180, 20, 20


class Probe(keras.layers.Layer):
    """Counts rows fed (by id) and minority rows per training batch."""

    def __init__(self, labels, max_steps, **kwargs):
        super().__init__(**kwargs)
        self.labels = keras.ops.convert_to_tensor(labels, dtype="float32")
        self.max_steps = max_steps
        self.fed = self.add_weight(shape=(len(labels),), initializer="zeros", trainable=False)
        self.minority = self.add_weight(shape=(max_steps,), initializer="zeros", trainable=False)
        self.step = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, x, training=False):
        if training:
            ids = keras.ops.cast(x[:, -1], "int32")
            self.fed.assign(
                self.fed + keras.ops.sum(keras.ops.one_hot(ids, self.labels.shape[0]), 0)
            )
            slot = keras.ops.one_hot(keras.ops.cast(self.step, "int32"), self.max_steps)
            n_minority = keras.ops.sum(keras.ops.take(self.labels, ids))
            self.minority.assign(self.minority + slot * n_minority)
            self.step.assign(self.step + 1.0)
        return x[:, :-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    y = np.array([0] * N_MAJORITY + [1] * N_MINORITY)
    X = np.column_stack([rng.normal(size=(len(y), 2)) + y[:, None], np.arange(len(y))])
    max_steps = args.epochs * len(y) // BATCH + args.epochs

    strategies = {
        "RandomUnderSampler, once per fit": dict(sampler=RandomUnderSampler(), resample="once"),
        "RandomUnderSampler, every epoch": dict(sampler=RandomUnderSampler(), resample="epoch"),
        "balanced batches 3:1 (batch_ratio=3)": dict(batch_ratio=3),
        "balanced batches 1:1 (batch_ratio=1)": dict(batch_ratio=1),
        "no resampling": dict(),
    }
    print(
        f"# resampling_coverage.py — {datetime.date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, keras {keras.__version__}, epochs={args.epochs}, "
        f"batch_size={BATCH}, {N_MAJORITY} majority / {N_MINORITY} minority rows\n"
    )
    print(
        "| strategy | majority rows seen | minority rows seen | batches | "
        "minority share per batch: mean | min | max |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, params in strategies.items():

        def build(meta):
            return keras.Sequential(
                [
                    keras.Input((3,)),
                    Probe(y, max_steps),
                    keras.layers.Dense(1, activation="sigmoid"),
                ]
            )

        clf = ResampledKerasClassifier(
            build, epochs=args.epochs, batch_size=BATCH, random_state=0, **params
        ).fit(X, y)
        fitted_probe = next(layer for layer in clf.model_.layers if isinstance(layer, Probe))
        fed = keras.ops.convert_to_numpy(fitted_probe.fed)
        steps = int(keras.ops.convert_to_numpy(fitted_probe.step))
        minority = keras.ops.convert_to_numpy(fitted_probe.minority)[:steps]
        # Every strategy here fills its batches exactly (no padded last batch).
        share = minority / BATCH
        print(
            f"| {name} | {np.count_nonzero(fed[:N_MAJORITY])} / {N_MAJORITY} | "
            f"{np.count_nonzero(fed[N_MAJORITY:])} / {N_MINORITY} | {steps} | "
            f"{share.mean():.3f} | {share.min():.3f} | {share.max():.3f} |"
        )


if __name__ == "__main__":
    main()
