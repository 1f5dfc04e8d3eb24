"""Prior correction: held-out probability quality before and after, and the prior output bias.

Data: the cost-sensitive tutorial's 1:100 set, ``make_classification(
n_samples=10000, n_features=2, n_redundant=0, n_clusters_per_class=2,
weights=[0.99], flip_y=0, random_state=4)``, split 50/50 stratified with
``random_state=seed``. Network: one hidden layer of 16 ReLU units, Adam at
1e-3, batch 32, 50 epochs, ``random_state=seed``.

Part 1, one row per way of re-balancing the training data. Every fitted model
is scored twice on the test half, with ``prior_correction`` off and on (the
same network; the parameter is read at prediction time): Brier score, log
loss, mean predicted positive probability (the test set's positive rate is
printed below the table) and ROC AUC, whose change is printed as the largest
absolute difference over seeds. The unweighted row is the reference of a
network trained on the data's own prior (nothing to correct).

Part 2: the first-epoch training loss (``loss_curve_[0]``) of an unweighted
network with ``output_bias_init="zeros"`` and ``"prior"``.

Scores are mean ± sample sd over seeds. Run from the project root (about 3
minutes on 2 cores with the defaults):

    python benchmarks/prior_correction.py
    python benchmarks/prior_correction.py --seeds 2 --epochs 5   # quick check
"""

import argparse

import keras
import numpy as np
from imblearn.under_sampling import RandomUnderSampler
from seed_table import header, mean_sd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier, make_tutorial_data


def network(meta, units=16):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def rows(epochs):
    def mlp(**params):
        return lambda seed: CostSensitiveMLPClassifier(
            (16,), max_iter=epochs, n_iter_no_change=epochs, random_state=seed, **params
        )

    def resampled(**params):
        return lambda seed: ResampledKerasClassifier(
            network, epochs=epochs, batch_size=32, random_state=seed, **params
        )

    return {
        "unweighted (reference)": mlp(),
        'class_weight="balanced"': mlp(class_weight="balanced"),
        "class_weight={0: 1, 1: 100}": mlp(class_weight={0: 1, 1: 100}),
        "RandomUnderSampler, redrawn every epoch": resampled(sampler=RandomUnderSampler()),
        "batch_ratio=1 (balanced batches)": resampled(batch_ratio=1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds, 0..N-1")
    parser.add_argument("--epochs", type=int, default=50, help="training epochs of every row")
    args = parser.parse_args()
    print(header())
    print(
        f"- command: python benchmarks/prior_correction.py --seeds {args.seeds} "
        f"--epochs {args.epochs}\n",
        flush=True,
    )
    X, y = make_tutorial_data()
    splits = [
        train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)
        for seed in range(args.seeds)
    ]

    print(
        "| training data | correction | Brier score | log loss | mean P(positive) "
        "| ROC AUC | max abs. ROC AUC change |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, make in rows(args.epochs).items():
        scores = {flag: {"brier": [], "log": [], "mean": [], "auc": []} for flag in (False, True)}
        for seed, (X_train, X_test, y_train, y_test) in enumerate(splits):
            clf = make(seed).fit(X_train, y_train)
            for flag in (False, True):
                proba = clf.set_params(prior_correction=flag).predict_proba(X_test)[:, 1]
                scores[flag]["brier"].append(brier_score_loss(y_test, proba))
                scores[flag]["log"].append(log_loss(y_test, proba))
                scores[flag]["mean"].append(proba.mean())
                scores[flag]["auc"].append(roc_auc_score(y_test, proba))
        change = np.max(np.abs(np.subtract(scores[True]["auc"], scores[False]["auc"])))
        for flag in (False, True):
            s = scores[flag]
            print(
                f"| {name} | {'on' if flag else 'off'} | {mean_sd(s['brier'], 4)} "
                f"| {mean_sd(s['log'], 4)} | {mean_sd(s['mean'], 4)} | {mean_sd(s['auc'], 3)} "
                f"| {change:.1e} |"
                if flag
                else f"| {name} | off | {mean_sd(s['brier'], 4)} | {mean_sd(s['log'], 4)} "
                f"| {mean_sd(s['mean'], 4)} | {mean_sd(s['auc'], 3)} | |",
                flush=True,
            )
    rate = np.mean([split[3].mean() for split in splits])
    print(f"\nTest positive rate: {rate:.4f}. {args.seeds} seeds, {args.epochs} epochs.\n")

    print('| estimator | first-epoch loss, output_bias_init="zeros" | first-epoch loss, "prior" |')
    print("|---|---|---|")
    first = {
        "CostSensitiveMLPClassifier": lambda seed, init: CostSensitiveMLPClassifier(
            (16,), max_iter=1, output_bias_init=init, random_state=seed
        ),
        "ResampledKerasClassifier": lambda seed, init: ResampledKerasClassifier(
            network, epochs=1, output_bias_init=init, random_state=seed
        ),
    }
    for name, make in first.items():
        losses = {
            init: [
                make(seed, init).fit(split[0], split[2]).loss_curve_[0]
                for seed, split in enumerate(splits)
            ]
            for init in ("zeros", "prior")
        }
        print(f"| {name} | {mean_sd(losses['zeros'], 4)} | {mean_sd(losses['prior'], 4)} |")


if __name__ == "__main__":
    main()
