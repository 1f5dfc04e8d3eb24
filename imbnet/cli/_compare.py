"""``imbnet compare``: every strategy by stratified cross-validation, scored and ranked."""

import sys
import time

import numpy as np
from imblearn.metrics import geometric_mean_score
from imblearn.pipeline import Pipeline
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import label_binarize

from ._strategies import STRATEGIES, make_steps

__all__ = ["METRICS", "compare", "score_fold"]

# name -> heading of the table
METRICS = {
    "roc_auc": "ROC AUC",
    "average_precision": "avg precision",
    "balanced_accuracy": "balanced acc",
    "geometric_mean": "G-mean",
    "minority_recall": "min recall",
    "minority_precision": "min precision",
    "minority_f1": "min F1",
}


def score_fold(y_true, proba, classes, minority):
    """The metrics of one fold's held-out predictions (``proba`` in ``classes`` order)."""
    y_pred = classes[np.argmax(proba, axis=1)]
    if len(classes) == 2:
        column = int(np.flatnonzero(classes == minority)[0])
        truth = y_true == minority
        ranking = {
            "roc_auc": roc_auc_score(truth, proba[:, column]),
            "average_precision": average_precision_score(truth, proba[:, column]),
        }
    else:
        indicator = label_binarize(y_true, classes=classes)
        ranking = {
            "roc_auc": roc_auc_score(y_true, proba, multi_class="ovr", labels=classes),
            "average_precision": average_precision_score(indicator, proba, average="macro"),
        }
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=[minority], zero_division=0
    )
    average = "binary" if len(classes) == 2 else "multiclass"
    pos_label = minority if len(classes) == 2 else None
    return {
        **ranking,
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "geometric_mean": geometric_mean_score(
            y_true, y_pred, average=average, pos_label=pos_label
        ),
        "minority_recall": recall[0],
        "minority_precision": precision[0],
        "minority_f1": f1[0],
    }


def _run_fold(name, steps, preprocessor, X, y, train, test, fold):
    pipeline = Pipeline([("preprocess", clone(preprocessor)), *steps])
    start = time.perf_counter()
    try:
        pipeline.fit(X.iloc[train], y[train])
        proba = pipeline.predict_proba(X.iloc[test])
    except Exception as exc:  # one strategy's failure is reported, not fatal
        return name, fold, test, None, time.perf_counter() - start, f"{type(exc).__name__}: {exc}"
    return name, fold, test, proba, time.perf_counter() - start, None


class Progress:
    """A one-line progress bar on stderr (one line per step when not a terminal)."""

    def __init__(self, total, stream=None, width=30):
        stream = sys.stderr if stream is None else stream
        self.total, self.done, self.stream, self.width = total, 0, stream, width
        self.tty = stream.isatty()

    def step(self, label):
        self.done += 1
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"[{bar}] {self.done}/{self.total} {label}"
        if self.tty:
            self.stream.write("\r" + line.ljust(79) + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def compare(X, y, preprocessor, strategies, *, cv=5, epochs=50, random_state=0, n_jobs=1):
    """Cross-validate every strategy; results ranked by average precision.

    Returns a dict with ``classes``, ``minority`` and ``strategies``: a list,
    best first, of per-strategy dicts with ``name``, ``description``,
    ``scores`` (metric -> mean, sd, folds), ``fit_time``, the held-out
    probabilities of the minority class ``oof_score`` and ``error`` (or None).
    """
    classes, counts = np.unique(y, return_counts=True)
    minority = classes[np.argmin(counts)]
    folds = list(StratifiedKFold(cv, shuffle=True, random_state=random_state).split(X, y))
    tasks = [
        delayed(_run_fold)(
            name, make_steps(name, epochs, random_state), preprocessor, X, y, train, test, k
        )
        for name in strategies
        for k, (train, test) in enumerate(folds)
    ]
    progress = Progress(len(tasks))
    runs = {name: [] for name in strategies}
    for name, fold, test, proba, seconds, error in Parallel(
        n_jobs=n_jobs, return_as="generator_unordered"
    )(tasks):
        runs[name].append((fold, test, proba, seconds, error))
        progress.step(f"{name} fold {fold + 1}/{cv}" + (" failed" if error else ""))
    results = [_summarise(name, runs[name], y, classes, minority) for name in strategies]
    results.sort(
        key=lambda r: (
            r["error"] is not None,
            -r["scores"].get("average_precision", {}).get("mean", 0),
        )
    )
    return {
        "classes": classes.tolist(),
        "minority": minority.item(),
        "counts": counts.tolist(),
        "strategies": results,
    }


def _summarise(name, runs, y, classes, minority):
    runs.sort(key=lambda run: run[0])
    result = {"name": name, "description": STRATEGIES[name][0], "scores": {}, "error": None}
    errors = [run[4] for run in runs if run[4]]
    if errors:
        result["error"] = errors[0]
        return result
    column = int(np.flatnonzero(classes == minority)[0])
    oof = np.empty(len(y))
    per_fold = []
    for _, test, proba, _, _ in runs:
        oof[test] = proba[:, column]
        per_fold.append(score_fold(y[test], proba, classes, minority))
    for metric in METRICS:
        values = [float(fold[metric]) for fold in per_fold]
        result["scores"][metric] = {
            "mean": float(np.mean(values)),
            "sd": float(np.std(values)),
            "folds": values,
        }
    times = [run[3] for run in runs]
    result["fit_time"] = {"mean": float(np.mean(times)), "sd": float(np.std(times))}
    result["oof_score"] = oof
    return result
