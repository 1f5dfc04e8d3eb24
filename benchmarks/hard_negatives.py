"""Hard-negative mining against plain random under-sampling, both redrawn every epoch.

Two data sets of 10,000 rows at 1:100:

- "seed 1:100": the cost-sensitive tutorial's set, ``make_classification(
  n_samples=10000, n_features=2, n_redundant=0, n_clusters_per_class=2,
  weights=[0.99], flip_y=0, random_state=4)``;
- "harder": more features and more overlap, ``make_classification(
  n_samples=10000, n_features=10, n_informative=3, n_redundant=2,
  n_clusters_per_class=2, class_sep=0.5, weights=[0.99], flip_y=0,
  random_state=4)`` (test ROC AUC around 0.7 instead of 0.95).

For each seed: a stratified 50/50 train/test split (``random_state=seed``) and,
on that split, ``ResampledKerasClassifier`` with the same network (two hidden
layers of 32 ReLU units, a sigmoid output, Adam at 1e-3, batch 32, a fixed
number of epochs, ``random_state=seed``) and one sampler per row, drawn anew
every epoch:

- ``RandomUnderSampler(sampling_strategy=1/r)``: r negatives per positive,
  drawn uniformly;
- ``HardNegativeSampler(sampling_strategy=1/r)`` (power 1, floor 0.1): r negatives per
  positive, drawn with probability rising with their loss under the current
  model (uniformly in the first epoch).

Both rows see the same number of rows and steps per epoch; hard-negative
mining adds one forward pass over the training rows per epoch. Printed: test
ROC AUC and average precision, mean ± sample sd over seeds, the mean ± sd of
the paired difference (hard negatives minus under-sampling, same seed and
split), and the median fit time, as a markdown table.

Run from the project root (about 3 minutes on 2 cores with the defaults):

    python benchmarks/hard_negatives.py
    python benchmarks/hard_negatives.py --seeds 2 --epochs 5   # quick check
"""

import argparse
import time

import keras
import numpy as np
from imblearn.under_sampling import RandomUnderSampler
from seed_table import header, mean_sd
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from imbnet import HardNegativeSampler, ResampledKerasClassifier

RATIOS = (1, 3)


def datasets():
    common = dict(n_samples=10000, n_clusters_per_class=2, weights=[0.99], flip_y=0, random_state=4)
    return {
        "seed 1:100": make_classification(n_features=2, n_redundant=0, **common),
        "harder": make_classification(
            n_features=10, n_informative=3, n_redundant=2, class_sep=0.5, **common
        ),
    }


def network(meta, units=32):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def samplers(ratio):
    return {
        f"RandomUnderSampler, {ratio}:1": RandomUnderSampler(sampling_strategy=1 / ratio),
        f"HardNegativeSampler, {ratio}:1": HardNegativeSampler(sampling_strategy=1 / ratio),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds, 0..N-1")
    parser.add_argument("--epochs", type=int, default=100, help="training epochs of every row")
    args = parser.parse_args()
    print(header())
    print(
        f"- command: python benchmarks/hard_negatives.py --seeds {args.seeds} "
        f"--epochs {args.epochs}\n",
        flush=True,
    )

    print(
        "| data | sampler (negatives:positives) | ROC AUC | average precision "
        "| Δ ROC AUC vs under-sampling | Δ AP vs under-sampling | median fit (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    for data_name, (X, y) in datasets().items():
        for ratio in RATIOS:
            # Untimed warm-up: the first fit of an architecture and batch plan compiles it.
            for sampler in samplers(ratio).values():
                ResampledKerasClassifier(network, sampler=sampler, epochs=2).fit(X, y)
            scores = {name: {"auc": [], "ap": [], "time": []} for name in samplers(ratio)}
            for seed in range(args.seeds):
                X_train, X_test, y_train, y_test = train_test_split(
                    X, y, test_size=0.5, stratify=y, random_state=seed
                )
                for name, sampler in samplers(ratio).items():
                    clf = ResampledKerasClassifier(
                        network,
                        sampler=sampler,
                        epochs=args.epochs,
                        batch_size=32,
                        optimizer__learning_rate=1e-3,
                        random_state=seed,
                    )
                    start = time.perf_counter()
                    clf.fit(X_train, y_train)
                    scores[name]["time"].append(time.perf_counter() - start)
                    proba = clf.predict_proba(X_test)[:, 1]
                    scores[name]["auc"].append(roc_auc_score(y_test, proba))
                    scores[name]["ap"].append(average_precision_score(y_test, proba))
            under, hard = (scores[name] for name in samplers(ratio))
            for name, s in scores.items():
                delta = ("—", "—")
                if s is hard:
                    delta = (
                        mean_sd(np.subtract(hard["auc"], under["auc"])),
                        mean_sd(np.subtract(hard["ap"], under["ap"])),
                    )
                print(
                    f"| {data_name} | {name} | {mean_sd(s['auc'])} | {mean_sd(s['ap'])} "
                    f"| {delta[0]} | {delta[1]} | {np.median(s['time']):.1f} |",
                    flush=True,
                )
    n_pos = {name: int(y.sum()) for name, (_, y) in datasets().items()}
    print(
        f"\n{args.seeds} seeds (0..{args.seeds - 1}), {args.epochs} epochs; positives in "
        f"10,000 rows: {n_pos}; half of them train, half test."
    )


if __name__ == "__main__":
    main()
