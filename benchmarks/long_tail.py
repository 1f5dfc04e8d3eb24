"""Long-tail losses side by side: cross-entropy, class weights, focal, logit adjustment, LDAM-DRW.

Data (rebuilt for every seed):

- ``digits-LT IR=10`` and ``digits-LT IR=50``: scikit-learn's bundled digits
  (1797 8x8 images, 10 classes, pixels / 16). A balanced test split of 50
  images per class; the training set keeps ``round(120 * IR^(-r/9))`` images
  of the class of rank ``r`` (0..9, a seeded random order of the digits): an
  exponential profile from 120 images down to 12 (IR=10) or 2 (IR=50).
- ``synthetic-LT IR=100``: ``make_classification(n_classes=10,
  n_features=20, n_informative=10, n_redundant=0, n_clusters_per_class=1,
  random_state=seed)``, drawn balanced and cut the same way to 500 down to 5
  training rows per class; balanced test split of 100 rows per class;
  features standardised on the training rows.
- ``binary tutorial 1:99``: ``make_classification(n_samples=10000,
  n_features=2, n_redundant=0, n_clusters_per_class=1, weights=[0.99],
  flip_y=0, random_state=4)``, split 50/50 stratified by seed; its test half
  keeps the data's own 1:99 prior (not balanced).

Network: ``CostSensitiveMLPClassifier(hidden_layer_sizes=(64,), batch_size=64,
max_iter=EPOCHS, n_iter_no_change=EPOCHS)`` (Adam at 1e-3): every row trains
exactly EPOCHS epochs, so ``deferred_reweighting=0.8`` switches the class
weights on at epoch 0.8 * EPOCHS as in Cao et al. (LDAM-DRW there uses
``class_weight_beta=0.9999``; so do the DRW rows here).

Rows: the anchor is cross-entropy with ``class_weight="balanced"``. Post-hoc
rows reuse a fitted network: "post-hoc adjustment" divides the cross-entropy
network's probabilities by ``class_prior_`` (Menon et al.'s post-hoc logit
adjustment at tau=1, for the balanced test sets); "prior_correction" switches
``prior_correction=True`` on (for the binary set, whose test prior is the
data's); ``TunedThresholdClassifierCV`` tunes the cross-entropy network's
threshold for balanced accuracy (5-fold, binary only).

Metrics on the test split, mean ± sample sd over seeds: balanced accuracy,
macro-F1, accuracy (recall) on the many / medium / few-shot classes (the 3
most frequent, middle 4 and 3 rarest training classes; binary: majority /
minority), ROC AUC (one-vs-rest, macro) and log loss; the last column is the
paired difference in balanced accuracy against the anchor, per seed.

Part 2 measures LDAM's scale ``s`` on plain logits: LDAM-DRW (max margin 0.5)
with s = 1, 10 and 30, through ``ResampledKerasClassifier`` with the same
network, on digits-LT IR=50.

Run from the project root (about 9 minutes on 2 shared cores):

    TF_NUM_INTRAOP_THREADS=1 PYTHONPATH=. python benchmarks/long_tail.py
    TF_NUM_INTRAOP_THREADS=1 PYTHONPATH=. python benchmarks/long_tail.py --quick
"""

import argparse
import time
import warnings

import keras
import numpy as np
from seed_table import header, mean_sd
from sklearn.datasets import load_digits, make_classification
from sklearn.metrics import balanced_accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split
from sklearn.preprocessing import StandardScaler

from imbnet import CostSensitiveMLPClassifier, LDAMLoss, ResampledKerasClassifier

ANCHOR = 'log_loss, "balanced"'
NEW_LOSSES = ("logit_adjusted", "balanced_softmax", "ldam")


# ------------------------------------------------------------------ data
def exponential_counts(n_max, ratio, n_classes=10):
    steps = n_classes - 1
    return [max(1, int(round(n_max * ratio ** (-rank / steps)))) for rank in range(n_classes)]


def long_tailed(X, y, counts, n_test, rng):
    """A training set with ``counts[r]`` rows of the class of rank r (seeded random
    order of the classes) and a balanced test set of ``n_test`` rows per class."""
    classes = rng.permutation(np.unique(y))
    train, test = [], []
    for rank, label in enumerate(classes):
        rows = rng.permutation(np.flatnonzero(y == label))
        test.append(rows[:n_test])
        train.append(rows[n_test : n_test + counts[rank]])
    train, test = np.concatenate(train), np.concatenate(test)
    return X[train], y[train], X[test], y[test]


def digits(ratio):
    def make(seed):
        X, y = load_digits(return_X_y=True)
        rng = np.random.default_rng(seed)
        return long_tailed(X / 16.0, y, exponential_counts(120, ratio), 50, rng)

    return make


def synthetic(seed):
    X, y = make_classification(
        n_samples=6000,
        n_features=20,
        n_informative=10,
        n_redundant=0,
        n_classes=10,
        n_clusters_per_class=1,
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    X_train, y_train, X_test, y_test = long_tailed(X, y, exponential_counts(500, 100), 100, rng)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), y_train, scaler.transform(X_test), y_test


def tutorial(seed):
    X, y = make_classification(
        n_samples=10000,
        n_features=2,
        n_redundant=0,
        n_clusters_per_class=1,
        weights=[0.99],
        flip_y=0,
        random_state=4,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), y_train, scaler.transform(X_test), y_test


DATASETS = {
    "digits-LT IR=10": digits(10),
    "digits-LT IR=50": digits(50),
    "synthetic-LT IR=100": synthetic,
    "binary tutorial 1:99": tutorial,
}


# ------------------------------------------------------------------ rows
def mlp(epochs, seed, **params):
    return CostSensitiveMLPClassifier(
        hidden_layer_sizes=(64,),
        batch_size=64,
        max_iter=epochs,
        n_iter_no_change=epochs,
        random_state=seed,
        **params,
    )


DRW = {"class_weight": "effective", "class_weight_beta": 0.9999, "deferred_reweighting": 0.8}

# name -> estimator parameters
FITTED = {
    "log_loss": {},
    ANCHOR: {"class_weight": "balanced"},
    'log_loss, "effective"': {"class_weight": "effective"},
    "focal": {"loss": "focal"},
    'focal, "effective"': {"loss": "focal", "class_weight": "effective"},
    "log_loss-DRW": DRW,
    "logit_adjusted (tau=1)": {"loss": "logit_adjusted"},
    "balanced_softmax": {"loss": "balanced_softmax"},
    "ldam": {"loss": "ldam"},
    "ldam-DRW": {"loss": "ldam", **DRW},
}


def probabilities(name, fitted, X_test, binary):
    """The rows scored from already fitted networks: name -> probabilities."""
    rows = {name: fitted.predict_proba(X_test)}
    if name == "log_loss" and not binary:
        adjusted = rows[name] / fitted.class_prior_
        adjusted /= adjusted.sum(axis=1, keepdims=True)
        rows["log_loss + post-hoc adjustment (p / prior)"] = adjusted
    if binary and name in (ANCHOR, "logit_adjusted (tau=1)"):
        fitted.set_params(prior_correction=True)
        rows[f"{name} + prior_correction"] = fitted.predict_proba(X_test)
        fitted.set_params(prior_correction=False)
    return rows


# --------------------------------------------------------------- metrics
def scores(y_test, proba, classes, train_counts):
    predicted = classes[np.argmax(proba, axis=1)]
    recall = np.array([np.mean(predicted[y_test == c] == c) for c in classes])
    order = np.argsort(-train_counts, kind="stable")  # most frequent first
    if len(classes) == 2:
        many, medium, few = recall[order[:1]], np.array([np.nan]), recall[order[1:]]
        auc = roc_auc_score(y_test, proba[:, 1])
    else:
        many, medium, few = recall[order[:3]], recall[order[3:-3]], recall[order[-3:]]
        auc = roc_auc_score(y_test, proba, multi_class="ovr", average="macro", labels=classes)
    return {
        "bal_acc": balanced_accuracy_score(y_test, predicted),
        "macro_f1": f1_score(y_test, predicted, average="macro"),
        "many": many.mean(),
        "medium": medium.mean(),
        "few": few.mean(),
        "auc": auc,
        "log_loss": log_loss(y_test, np.clip(proba, 1e-15, 1), labels=classes),
    }


# ------------------------------------------------------------------ runs
def run_dataset(make, seeds, epochs):
    results = {}
    for seed in range(seeds):
        X_train, y_train, X_test, y_test = make(seed)
        classes = np.unique(y_train)
        counts = np.array([np.sum(y_train == c) for c in classes])
        binary = len(classes) == 2
        for name, params in FITTED.items():
            fitted = mlp(epochs, seed, **params).fit(X_train, y_train)
            for row, proba in probabilities(name, fitted, X_test, binary).items():
                results.setdefault(row, []).append(scores(y_test, proba, classes, counts))
        if binary:
            tuned = TunedThresholdClassifierCV(
                mlp(epochs, seed), scoring="balanced_accuracy", cv=5, random_state=seed
            ).fit(X_train, y_train)
            results.setdefault("log_loss + TunedThresholdClassifierCV", []).append(
                scores(y_test, tuned.predict_proba(X_test), classes, counts)
            )
            # The tuned threshold decides, not argmax: recompute the decision metrics.
            predicted = tuned.predict(X_test)
            last = results["log_loss + TunedThresholdClassifierCV"][-1]
            recall = [np.mean(predicted[y_test == c] == c) for c in classes]
            last.update(
                bal_acc=balanced_accuracy_score(y_test, predicted),
                macro_f1=f1_score(y_test, predicted, average="macro"),
                many=recall[int(np.argmax(counts))],
                few=recall[int(np.argmin(counts))],
            )
        print(f"  seed {seed} done", flush=True)
    return results


def table(results):
    metrics = ("bal_acc", "macro_f1", "many", "medium", "few", "auc", "log_loss")
    anchor = np.array([r["bal_acc"] for r in results[ANCHOR]])
    lines = [
        "| row | balanced acc. | macro-F1 | many | medium | few | ROC AUC | log loss "
        "| bal. acc. − anchor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row, runs in results.items():
        cells = []
        for metric in metrics:
            values = np.array([run[metric] for run in runs])
            cells.append("–" if np.all(np.isnan(values)) else mean_sd(values))
        difference = np.array([run["bal_acc"] for run in runs]) - anchor
        cells.append("(anchor)" if row == ANCHOR else mean_sd(difference))
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(results):
    """The best new loss against the anchor, in balanced accuracy."""
    anchor = np.array([r["bal_acc"] for r in results[ANCHOR]])
    candidates = {
        row: np.array([r["bal_acc"] for r in runs])
        for row, runs in results.items()
        if row.startswith(NEW_LOSSES) and "prior_correction" not in row
    }
    best = max(candidates, key=lambda row: candidates[row].mean())
    gain = candidates[best].mean() - anchor.mean()
    summary = (
        f"best new loss: {best}, balanced accuracy {candidates[best].mean():.3f} vs anchor "
        f"{anchor.mean():.3f}: {gain:+.3f}"
    )
    if len(anchor) < 2:
        return summary + " (one seed: no spread to compare with)"
    ddof = 1
    # The spread of each row over seeds (data split and network), and the spread of
    # the per-seed difference (the split is shared, so it cancels).
    spread = max(anchor.std(ddof=ddof), candidates[best].std(ddof=ddof))
    paired = (candidates[best] - anchor).std(ddof=ddof)
    return (
        f"{summary}; sd over seeds {spread:.3f} "
        f"({'beaten' if gain > spread else 'not beaten'}), sd of the per-seed difference "
        f"{paired:.3f} ({'beaten' if gain > paired else 'not beaten'})"
    )


def ldam_scale(seeds, epochs, scales=(1.0, 10.0, 30.0)):
    """Balanced accuracy of LDAM-DRW at each scale s on digits-LT IR=50."""

    def network(meta):
        return keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )

    results = {scale: [] for scale in scales}
    make = DATASETS["digits-LT IR=50"]
    for seed in range(seeds):
        X_train, y_train, X_test, y_test = make(seed)
        prior = np.bincount(y_train) / len(y_train)
        for scale in scales:
            clf = ResampledKerasClassifier(
                network,
                loss=LDAMLoss(prior, max_margin=0.5, scale=scale),
                epochs=epochs,
                batch_size=64,
                random_state=seed,
                **DRW,
            ).fit(X_train, y_train)
            results[scale].append(balanced_accuracy_score(y_test, clf.predict(X_test)))
    lines = ["| LDAM-DRW scale s (max margin 0.5) | balanced acc. |", "|---|---|"]
    lines += [f"| {scale:g} | {mean_sd(values)} |" for scale, values in results.items()]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 20 epochs")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 100)")
    args = parser.parse_args()
    seeds = args.seeds or (2 if args.quick else 5)
    epochs = args.epochs or (20 if args.quick else 100)
    warnings.filterwarnings("ignore", message=".*number of unique classes.*")
    print(header())
    command = f"python benchmarks/long_tail.py --seeds {seeds} --epochs {epochs}"
    print(f"- command: {command}\n", flush=True)
    start = time.perf_counter()
    summary = []
    for name, make in DATASETS.items():
        print(f"### {name}", flush=True)
        results = run_dataset(make, seeds, epochs)
        X_train, y_train, X_test, y_test = make(0)
        print(
            f"\nseed 0: {len(y_train)} training rows, class counts "
            f"{sorted(np.bincount(y_train).tolist(), reverse=True)}; {len(y_test)} test rows\n"
        )
        print(table(results), "\n", flush=True)
        summary.append(f"- {name}: {verdict(results)}")
    print("\n".join(summary), "\n")
    print("### LDAM scale on plain logits (digits-LT IR=50)\n", flush=True)
    print(ldam_scale(seeds, epochs))
    print(
        f"\n{seeds} seeds (0..{seeds - 1}), {epochs} epochs; "
        f"total {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
