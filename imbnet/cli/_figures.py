"""The report's figures, from the held-out predictions: curves, calibration, thresholds."""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ._metrics import reliability_curve  # noqa: E402

__all__ = ["FIGURES", "write_figures"]

# key -> (file name, caption)
FIGURES = {
    "roc": ("roc_curves.png", "ROC curves"),
    "pr": (
        "precision_recall_curves.png",
        "Precision-recall curves, with each strategy's operating point at its tuned threshold. "
        "The AP in the legend is of the held-out predictions of all folds pooled into one "
        "curve; the tables give the mean of the per-fold APs, so the two differ slightly",
    ),
    "calibration": ("calibration.png", "Reliability diagrams (equal-count bins)"),
    "thresholds": (
        "threshold_curves.png",
        "The objective (with --cost: the expected cost) against the decision threshold",
    ),
}
SIZE = (6.4, 4.8)


def _ran(results):
    return [r for r in results["strategies"] if not r["error"] and not r["skipped"]]


def _colours(results):
    """One distinct colour per strategy in every figure (up to 20; tab20's pairs apart)."""
    ran = _ran(results)
    if len(ran) <= 10:
        return {r["name"]: f"C{i}" for i, r in enumerate(ran)}
    palette = plt.get_cmap("tab20").colors
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))  # the dark ones first
    return {r["name"]: palette[order[i % 20]] for i, r in enumerate(ran)}


def write_figures(out_dir, results, y):
    """Write the figures that apply; returns the keys of those written."""
    truth = np.asarray(y) == results["minority"]
    written = []
    for key, draw in (
        ("roc", _roc),
        ("pr", _precision_recall),
        ("calibration", _calibration),
        ("thresholds", _thresholds),
    ):
        figure = draw(results, truth)
        if figure is None:
            continue
        figure.tight_layout()
        figure.savefig(os.path.join(out_dir, FIGURES[key][0]), dpi=100)
        plt.close(figure)
        written.append(key)
    return written


def _positive(results):
    return repr(results["minority"])


def _curves(display, results, truth):
    """A figure with ``display``'s curve (scikit-learn's ROC or precision-recall
    display) for every strategy that ran; returns ``(fig, ax, colours)``."""
    import inspect

    fig, ax = plt.subplots(figsize=SIZE)
    colours = _colours(results)
    # The colour as the installed scikit-learn takes it (``curve_kwargs`` from 1.7 on).
    new_style = "curve_kwargs" in inspect.signature(display.from_predictions).parameters
    for r in _ran(results):
        colour = colours[r["name"]]
        style = {"curve_kwargs": {"color": colour}} if new_style else {"color": colour}
        display.from_predictions(truth, r["oof_score"], name=r["name"], ax=ax, **style)
    if display.__name__.startswith("PrecisionRecall"):
        ax.text(
            0.01,
            0.01,
            "AP in the legend: all folds pooled (the tables: mean of per-fold APs)",
            transform=ax.transAxes,
            fontsize="x-small",
            color="grey",
        )
    return fig, ax, colours


def _roc(results, truth):
    from sklearn.metrics import RocCurveDisplay

    fig, ax, _ = _curves(RocCurveDisplay, results, truth)
    positive = _positive(results)
    rest = " against the rest" if results["multiclass"] else ""
    ax.set_title(f"ROC curves, class {positive}{rest} (held-out folds)")
    # Name the positive class as the title does (the display would say "True").
    ax.set_xlabel(f"False positive rate (positive class: {positive})")
    ax.set_ylabel(f"True positive rate (positive class: {positive})")
    ax.legend(fontsize="small", loc="lower right")
    return fig


def _precision_recall(results, truth):
    from sklearn.metrics import PrecisionRecallDisplay

    fig, ax, colours = _curves(PrecisionRecallDisplay, results, truth)
    for r in _ran(results):
        recall, precision = r["scores"]["recall"]["mean"], r["scores"]["precision"]["mean"]
        ax.plot(recall, precision, "o", color=colours[r["name"]], markeredgecolor="black")
    positive = _positive(results)
    ax.set_title(f"Precision-recall, class {positive} (held-out folds; dots: decisions)")
    ax.set_xlabel(f"Recall (positive class: {positive})")
    ax.set_ylabel(f"Precision (positive class: {positive})")
    ax.legend(fontsize="small", loc="upper right")
    return fig


def _calibration(results, truth):
    ran = _ran(results)
    corrected = [r for r in ran if r.get("oof_score_corrected") is not None]
    panels = 2 if corrected else 1
    fig, axes = plt.subplots(
        1, panels, figsize=(SIZE[0] * (1.6 if corrected else 1), SIZE[1]), squeeze=False
    )
    colours = _colours(results)
    base_rate = truth.mean()
    low = max(min(base_rate / 20, 0.01), 1e-4)
    for ax, (title, rows, key) in zip(
        axes[0],
        [
            ("as trained", ran, "oof_score"),
            ("prior_correction=True", corrected, "oof_score_corrected"),
        ],
    ):
        for r in rows:
            predicted, observed = reliability_curve(r[key], truth)
            ax.plot(
                np.clip(predicted, low, 1),
                np.clip(observed, low, 1),
                "o-",
                color=colours[r["name"]],
                label=r["name"],
                markersize=4,
            )
        ax.plot([low, 1], [low, 1], ":", color="grey", label="perfectly calibrated")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(low, 1)
        ax.set_ylim(low, 1)
        ax.set_xlabel(f"Mean predicted P({results['minority']})")
        ax.set_ylabel(f"Observed frequency of {results['minority']!r}")
        ax.set_title(f"Reliability, {title}")
        ax.legend(fontsize="x-small", loc="upper left")
    return fig


def _thresholds(results, truth):
    """The objective (or cost per 1,000) of the pooled held-out predictions per threshold."""
    if results["multiclass"]:
        return None
    from ._objectives import cost_per_1000
    from ._threshold import _curve

    positive, negative = results["minority"], _other(results)
    cost = results.get("cost")
    if cost:
        function = cost_per_1000
        kwargs = {"fp_cost": cost[0], "fn_cost": cost[1], "pos_label": positive}
        label = "Expected cost per 1,000 cases (lower is better)"
    else:
        function, kwargs, _ = results["setup"].score_function()
        label = results["objective"]["label"]
    grid = np.linspace(0, 1, 101)
    fig, ax = plt.subplots(figsize=SIZE)
    colours = _colours(results)
    labels = np.where(truth, positive, negative)
    classes = [negative, positive]
    for r in _ran(results):
        # the metric of "positive when P >= t" at every t at once, from confusion counts
        # (1,111 metric calls took seconds)
        values = _curve(function, kwargs, labels, r["oof_score"], grid, classes, positive)
        ax.plot(grid, values, color=colours[r["name"]], label=r["name"])
        chosen = r.get("threshold")
        if chosen:
            ax.axvline(chosen["mean"], color=colours[r["name"]], linestyle=":", linewidth=1)
    if cost:
        fp, fn = cost
        ax.axhline(1000 * fn * truth.mean(), color="black", linestyle="--", label="flag nothing")
        ax.axhline(
            1000 * fp * (1 - truth.mean()), color="grey", linestyle="--", label="flag everything"
        )
        ax.set_ylim(0, 1.1 * 1000 * max(fn * truth.mean(), fp * (1 - truth.mean())))
    ax.set_xlabel(f"Decision threshold on P({positive})")
    ax.set_ylabel(label)
    what = "Cost" if cost else "Objective"
    ax.set_title(f"{what} vs threshold (held-out folds; dotted: tuned thresholds)")
    ax.legend(fontsize="small")
    return fig


def _other(results):
    return next(c for c in results["classes"] if c != results["minority"])
