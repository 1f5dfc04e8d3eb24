"""GANOverSampler against SMOTE, borderline-SMOTE and random over-sampling.

Four data sets:

- "tutorial 1:100": ``make_classification(n_samples=10000, n_features=2,
  n_redundant=0, n_clusters_per_class=1, weights=[0.99], flip_y=0,
  random_state=4)``, the imbalanced-classification tutorials' set;
- "20 features 1:33": ``make_classification(n_samples=4000, n_features=20,
  n_informative=6, n_redundant=4, n_clusters_per_class=2, weights=[0.97],
  flip_y=0, random_state=4)``;
- "overlapping 1:20": ``make_classification(n_samples=4000, n_features=6,
  n_informative=4, n_redundant=1, n_clusters_per_class=2, class_sep=0.5,
  weights=[0.95], flip_y=0, random_state=4)``;
- "skewed multi-modal 1:33": 4000 rows, 6 columns; the majority has a
  log-normal, a gamma and four normal columns; the minority (3%) is a mixture
  of three modes, each with its own log-normal, gamma and normal centres
  (overlapping the majority).

Part 1, classification: for each seed, a stratified 50/50 train/test split
(``random_state=seed``); on it an imbalanced-learn pipeline of one
over-sampler (none, ``RandomOverSampler``, ``SMOTE``, ``BorderlineSMOTE``,
``GANOverSampler``; all with ``sampling_strategy="auto"``, i.e. up to as many
minority rows as majority rows, and ``random_state=seed``), a
``StandardScaler`` and ``CostSensitiveMLPClassifier(hidden_layer_sizes=(32,),
max_iter=100, random_state=seed)``. Two more rows use
``ResampledKerasClassifier`` (the same network: 32 ReLU units, Adam, batch 200,
as many epochs) with the GAN drawn once per fit and with fresh synthetic rows
drawn every epoch (the generator trained once per fit). Printed: test ROC AUC
and average precision (mean ± sample sd over seeds), fit time of the whole
pipeline (mean ± sd), and the median over seeds of the fit time divided by
SMOTE's on the same seed (the anchor). Every model is fitted once untimed
before the first seed (a first fit traces and compiles).

Part 2, fidelity (seed 0's training split): the synthetic minority rows of
each over-sampler against the real training minority rows: per feature mean,
sd and the two-sample Kolmogorov-Smirnov statistic; a classifier two-sample
test (5-fold ROC AUC of a gradient-boosting classifier telling real from
synthetic, as many synthetic rows as real ones: 0.5 means it cannot tell);
and novelty, the median distance of a synthetic row to its nearest real
minority row divided by the median distance of a real minority row to its
nearest other one (0: copies). ``GANOverSampler(column_transform="standard")``
is listed too, to measure the per-class quantile normalisation.

Run from the project root (about 10 minutes on 2 shared cores):

    TF_NUM_INTRAOP_THREADS=1 python benchmarks/generative_oversampling.py
    python benchmarks/generative_oversampling.py --quick   # a minute: 1 seed, short training
"""

import argparse
import time

import keras
import numpy as np
from imblearn.over_sampling import SMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from scipy.stats import ks_2samp
from seed_table import header, mean_sd
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from imbnet import CostSensitiveMLPClassifier, GANOverSampler, ResampledKerasClassifier

ANCHOR = "SMOTE"


def skewed_multimodal(n=4000, minority=1 / 33, seed=7):
    rng = np.random.default_rng(seed)
    n1 = int(round(n * minority))
    n0 = n - n1
    X0 = np.column_stack(
        [
            rng.lognormal(0.0, 0.8, n0),
            rng.gamma(2.0, 1.0, n0),
            rng.normal(0.0, 1.0, (n0, 4)),
        ]
    )
    mode = rng.choice(3, n1, p=[0.5, 0.3, 0.2])
    log_mean = np.array([1.0, -0.5, 0.5])[mode]
    shape = np.array([1.0, 4.0, 2.0])[mode]
    centres = np.array([[1.5, 0.0, 1.0, -1.0], [-1.5, 1.0, 0.0, 1.0], [0.0, -1.5, -1.0, 0.0]])
    X1 = np.column_stack(
        [
            rng.lognormal(log_mean, 0.5),
            rng.gamma(shape, 1.0),
            centres[mode] + rng.normal(0.0, 0.7, (n1, 4)),
        ]
    )
    X = np.vstack([X0, X1])
    y = np.r_[np.zeros(n0, int), np.ones(n1, int)]
    order = rng.permutation(n)
    return X[order], y[order]


def datasets():
    common = dict(flip_y=0, random_state=4)
    return {
        "tutorial 1:100": make_classification(
            n_samples=10000,
            n_features=2,
            n_redundant=0,
            n_clusters_per_class=1,
            weights=[0.99],
            **common,
        ),
        "20 features 1:33": make_classification(
            n_samples=4000,
            n_features=20,
            n_informative=6,
            n_redundant=4,
            n_clusters_per_class=2,
            weights=[0.97],
            **common,
        ),
        "overlapping 1:20": make_classification(
            n_samples=4000,
            n_features=6,
            n_informative=4,
            n_redundant=1,
            n_clusters_per_class=2,
            class_sep=0.5,
            weights=[0.95],
            **common,
        ),
        "skewed multi-modal 1:33": skewed_multimodal(),
    }


def samplers(seed, gan_epochs):
    return {
        "none": None,
        "RandomOverSampler": RandomOverSampler(random_state=seed),
        "SMOTE": SMOTE(random_state=seed),
        "BorderlineSMOTE": BorderlineSMOTE(random_state=seed),
        "GANOverSampler": GANOverSampler(epochs=gan_epochs, random_state=seed),
    }


def network(meta):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def models(seed, epochs, gan_epochs):
    rows = {}
    for name, sampler in samplers(seed, gan_epochs).items():
        steps = [("scale", StandardScaler())]
        if sampler is not None:
            steps.insert(0, ("sampler", sampler))
        mlp = CostSensitiveMLPClassifier(
            hidden_layer_sizes=(32,), max_iter=epochs, random_state=seed
        )
        rows[name] = Pipeline([*steps, ("clf", mlp)])
    for resample, label in (("once", "drawn once"), ("epoch", "redrawn every epoch")):
        rows[f"ResampledKerasClassifier + GAN {label}"] = Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "clf",
                    ResampledKerasClassifier(
                        network,
                        sampler=GANOverSampler(epochs=gan_epochs),
                        resample=resample,
                        epochs=epochs,
                        batch_size=200,
                        random_state=seed,
                    ),
                ),
            ]
        )
    return rows


def classification(data, seeds, epochs, gan_epochs):
    print("\n### Classification: test scores (mean ± sd over seeds) and fit time\n")
    print("| data | over-sampler | ROC AUC | average precision | fit (s) | fit time / SMOTE |")
    print("|---|---|---|---|---|---|")
    for data_name, (X, y) in data.items():
        results = {}
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.5, stratify=y, random_state=seed
            )
            if seed == 0:  # untimed: the first fit of each shape traces and compiles
                for model in models(seed, epochs, gan_epochs).values():
                    model.fit(X_train, y_train)
            for name, model in models(seed, epochs, gan_epochs).items():
                start = time.perf_counter()
                model.fit(X_train, y_train)
                elapsed = time.perf_counter() - start
                proba = model.predict_proba(X_test)[:, 1]
                row = results.setdefault(name, {"auc": [], "ap": [], "time": []})
                row["auc"].append(roc_auc_score(y_test, proba))
                row["ap"].append(average_precision_score(y_test, proba))
                row["time"].append(elapsed)
        anchor = np.asarray(results[ANCHOR]["time"])
        for name, row in results.items():
            ratio = np.median(np.asarray(row["time"]) / anchor)
            print(
                f"| {data_name} | {name} | {mean_sd(row['auc'])} | {mean_sd(row['ap'])} | "
                f"{mean_sd(row['time'], 2)} | {ratio:.2f} |",
                flush=True,
            )


def synthetic_rows(sampler, X, y):
    X_res, y_res = sampler.fit_resample(X, y)
    return X_res[X.shape[0] :][y_res[X.shape[0] :] == 1]


def c2st_auc(real, synthetic, seed=0):
    synthetic = synthetic[np.random.default_rng(seed).permutation(len(synthetic))[: len(real)]]
    X = np.vstack([real, synthetic])
    y = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    scores = cross_val_score(
        HistGradientBoostingClassifier(max_iter=100, random_state=seed),
        X,
        y,
        scoring="roc_auc",
        cv=StratifiedKFold(5, shuffle=True, random_state=seed),
    )
    return scores.mean()


def novelty(real, synthetic):
    own = NearestNeighbors(n_neighbors=2).fit(real).kneighbors(real)[0][:, 1]
    nearest = NearestNeighbors(n_neighbors=1).fit(real).kneighbors(synthetic)[0][:, 0]
    return np.median(nearest) / np.median(own)


def fidelity(data, gan_epochs, per_feature_sets):
    print("\n### Fidelity: synthetic minority rows against the real training minority (seed 0)\n")
    print(
        "| data | over-sampler | mean abs(Δmean)/sd | mean sd ratio | mean KS | max KS "
        "| C2ST ROC AUC | novelty | sampler fit (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    per_feature = {}
    for data_name, (X, y) in data.items():
        X_train, _, y_train, _ = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
        real = X_train[y_train == 1]
        candidates = {
            "GANOverSampler": GANOverSampler(epochs=gan_epochs, random_state=0),
            'GANOverSampler(column_transform="standard")': GANOverSampler(
                epochs=gan_epochs, column_transform="standard", random_state=0
            ),
            "SMOTE": SMOTE(random_state=0),
            "BorderlineSMOTE": BorderlineSMOTE(random_state=0),
            "RandomOverSampler": RandomOverSampler(random_state=0),
        }
        for name, sampler in candidates.items():
            start = time.perf_counter()
            synthetic = synthetic_rows(sampler, X_train, y_train)
            elapsed = time.perf_counter() - start
            sd = real.std(axis=0)
            ks = [ks_2samp(real[:, j], synthetic[:, j]) for j in range(real.shape[1])]
            statistics = np.array([k.statistic for k in ks])
            print(
                f"| {data_name} | {name} "
                f"| {np.mean(np.abs(synthetic.mean(axis=0) - real.mean(axis=0)) / sd):.3f} "
                f"| {np.mean(synthetic.std(axis=0) / sd):.3f} "
                f"| {statistics.mean():.3f} | {statistics.max():.3f} "
                f"| {c2st_auc(real, synthetic):.3f} | {novelty(real, synthetic):.2f} "
                f"| {elapsed:.1f} |",
                flush=True,
            )
            if data_name in per_feature_sets and name in ("GANOverSampler", "SMOTE"):
                per_feature[(data_name, name)] = (synthetic, ks)
        if data_name in per_feature_sets:
            per_feature[(data_name, "real")] = (real, None)
    for data_name in per_feature_sets:
        print(f"\n#### Per feature, {data_name}: mean ± sd, KS statistic (p-value)\n")
        print("| feature | real minority | GANOverSampler | SMOTE | KS GAN | KS SMOTE |")
        print("|---|---|---|---|---|---|")
        real = per_feature[(data_name, "real")][0]
        gan, gan_ks = per_feature[(data_name, "GANOverSampler")]
        smote, smote_ks = per_feature[(data_name, "SMOTE")]
        for j in range(real.shape[1]):
            cells = [f"{a[:, j].mean():.2f} ± {a[:, j].std():.2f}" for a in (real, gan, smote)]
            print(
                f"| x{j} | {' | '.join(cells)} | {gan_ks[j].statistic:.3f} ({gan_ks[j].pvalue:.2g}) "
                f"| {smote_ks[j].statistic:.3f} ({smote_ks[j].pvalue:.2g}) |"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100, help="classifier epochs (max_iter)")
    parser.add_argument("--gan-epochs", type=int, default=300)
    parser.add_argument("--data", nargs="*", help="data set names (default: all)")
    parser.add_argument("--part", choices=["all", "classification", "fidelity"], default="all")
    parser.add_argument("--quick", action="store_true", help="1 seed, 10 epochs, GAN 30 epochs")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.epochs, args.gan_epochs = 1, 10, 30
    data = datasets()
    if args.data:
        data = {name: data[name] for name in args.data}
    print(header())
    print(f"- seeds {args.seeds}, classifier epochs {args.epochs}, GAN epochs {args.gan_epochs}")
    if args.part in ("all", "classification"):
        classification(data, args.seeds, args.epochs, args.gan_epochs)
    if args.part in ("all", "fidelity"):
        per_feature_sets = [n for n in ("tutorial 1:100", "skewed multi-modal 1:33") if n in data]
        fidelity(data, args.gan_epochs, per_feature_sets)


if __name__ == "__main__":
    main()
