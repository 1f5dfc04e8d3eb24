"""``imbnet compare``: every strategy by stratified cross-validation, its threshold tuned.

For two classes each strategy's pipeline is wrapped in scikit-learn's
``TunedThresholdClassifierCV``: inside every outer training fold, an inner
stratified cross-validation chooses the decision threshold that maximises the
objective, the pipeline is refitted on the whole training fold, and the
held-out fold is scored at that threshold (nested: the held-out rows choose
nothing). With more classes the decision is the most probable class.
"""

import sys
import time
from dataclasses import dataclass

import numpy as np

from ._aside import aside_jobs, collect_aside, start_aside
from ._metrics import decision_scores, probability_scores, ranking_scores
from ._objectives import Objective, make_scorer
from ._strategies import STRATEGIES, Context, describe, make_pipeline

__all__ = [
    "INNER_CV",
    "MIN_EPOCHS",
    "Setup",
    "build_model",
    "compare",
    "cross_validate_strategies",
    "outer_cv",
    "run_order",
]

INNER_CV = 2  # folds of the threshold's inner cross-validation
MIN_EPOCHS = 5  # a time budget shortens networks down to this, then skips them


@dataclass(frozen=True)
class Setup:
    """What every strategy is evaluated with."""

    objective: Objective
    classes: tuple
    pos_label: object
    cost: tuple = None
    cv: int = 5
    random_state: int = 0

    @property
    def multiclass(self):
        return len(self.classes) > 2

    def score_function(self):
        return self.objective.score_function(self.pos_label, self.multiclass, self.cost)

    def scorer(self):
        return make_scorer(*self.score_function())


def outer_cv(setup):
    """The outer folds: the same for every strategy."""
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(setup.cv, shuffle=True, random_state=setup.random_state)


def build_model(name, ctx, setup, scoring):
    """Strategy ``name``'s pipeline, with its threshold tuned for ``scoring`` (two classes)."""
    pipeline = make_pipeline(name, ctx)
    if setup.multiclass:
        return pipeline
    from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

    return TunedThresholdClassifierCV(
        pipeline,
        scoring=scoring,
        response_method="predict_proba",
        cv=StratifiedKFold(INNER_CV, shuffle=True, random_state=setup.random_state),
    )


def plan_folds(setup, y):
    """The outer folds and, for two classes, the threshold's inner folds inside each."""
    from sklearn.model_selection import StratifiedKFold

    from ._nested import FoldPlan

    inner = None
    if not setup.multiclass:
        inner = StratifiedKFold(INNER_CV, shuffle=True, random_state=setup.random_state)
    return FoldPlan.make(y, outer_cv(setup), inner)


def _run_strategy(name, ctx, setup, X, y, plan, n_jobs, fitted=None):
    """Every fold of strategy ``name``: its fits in one batch, then each outer fold scored.

    ``fitted``: ``(fits, seconds)`` when its fits are done already (trained with
    other strategies', :func:`_fit_together`): its pipelines in the order of
    ``plan.splits()`` and its share of their time.

    Returns ``(runs, epoch_limit, other warnings)``: one run dict per outer fold
    (see ``_summarise``), or one run with the error when the strategy failed.
    """
    import warnings

    from ._nested import fit_splits
    from ._threshold import Thresholded, tune_threshold
    from ._warnings import split_warnings

    start = time.perf_counter()
    scorer = setup.scorer()
    pipeline = make_pipeline(name, ctx)
    splits = plan.splits()
    try:
        if fitted is None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fits = fit_splits(pipeline, X, y, splits, n_jobs)
            limit, others = split_warnings(caught)
        else:  # their warnings are counted where they were trained
            (fits, shared), limit, others = fitted, 0, []
            start -= shared
        runs, position = [], 0
        for fold, ((train, test), inner) in enumerate(zip(plan.outer, plan.inner)):
            inner_fits = fits[position : position + len(inner)]
            position += len(inner) + 1
            refit = fits[position - 1]
            model = refit
            if inner:  # the threshold TunedThresholdClassifierCV would choose over these fits
                validations = [(X.iloc[train[b]], y[train[b]]) for _, b in inner]
                function = setup.score_function()
                threshold = tune_threshold(inner_fits, validations, function, setup.classes)
                model = Thresholded(refit, threshold, function[1].get("pos_label"))
            X_test, y_test = X.iloc[test], y[test]
            run = {"fold": fold, "test": test, "error": None, "corrected": None}
            run["proba"] = model.predict_proba(X_test)
            run["pred"] = model.predict(X_test)
            run["score"] = float(scorer(model, X_test, y_test))
            run["threshold"] = _threshold_of_positive(model, setup)
            if STRATEGIES[name].prior_correction:
                clf = refit.steps[-1][1]
                # a network trained side by side reads its settings' prior_correction
                # (a fit it could not take was fitted on its own, as the classifier)
                settings = getattr(clf, "network", None)
                if not hasattr(settings, "prior_correction"):
                    settings = clf
                settings.set_params(prior_correction=True)
                run["corrected"] = refit.predict_proba(X_test)
            runs.append(run)
    except Exception as exc:  # one strategy's failure is reported, not fatal
        error = f"{type(exc).__name__}: {exc}"
        return [{"fold": 0, "error": error}], 0, []
    seconds = (time.perf_counter() - start) / len(runs)
    for run in runs:
        run["seconds"] = seconds
    return runs, limit, [(w.category, str(w.message)) for w in others]


def _threshold_of_positive(model, setup):
    """The tuned threshold as a threshold on the probability of ``setup.pos_label``.

    The scorer's ``pos_label`` names the class whose probability is thresholded;
    a scorer without one (balanced accuracy) thresholds the second class's, and
    for two classes ``P(a) >= t`` is ``P(b) <= 1 - t``.
    """
    threshold = getattr(model, "best_threshold_", None)
    if threshold is None:
        return None
    _, kwargs, _ = setup.score_function()
    if "pos_label" not in kwargs and setup.classes[1] != setup.pos_label:
        return 1.0 - float(threshold)
    return float(threshold)


class Progress:
    """A one-line progress bar on stderr (one line per step when not a terminal)."""

    def __init__(self, total, stream=None, width=30):
        stream = sys.stderr if stream is None else stream
        self.total, self.done, self.stream, self.width = total, 0, stream, width
        self.tty = stream.isatty()

    def step(self, label, count=1):
        self.done += count
        filled = int(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"[{bar}] {self.done}/{self.total} {label}"
        if self.tty:
            self.stream.write("\r" + line.ljust(79) + ("\n" if self.done >= self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


class _Budget:
    """Decides, before each strategy, whether it fits in what is left of the time budget.

    The budget counts from ``start`` (the command's start) and keeps
    ``REPORT_SHARE`` of itself for writing the report. Costs are measured as
    the comparison goes, per kind of strategy: a reference (no network),
    networks trained side by side (all of a strategy's fits in one program),
    networks fitted one by one. A network kind not measured yet is estimated
    from the other, ``ONE_BY_ONE`` times dearer or cheaper.
    """

    REPORT_SHARE = 0.05
    # measured (benchmarks/cli_compare.py --warm): a strategy's fits one by one cost
    # 1.0-1.2x the same fits side by side
    ONE_BY_ONE = 1.2

    def __init__(self, seconds, start=None):
        self.seconds = None if seconds is None else seconds * (1 - self.REPORT_SHARE)
        self.start = time.perf_counter() if start is None else start
        self.per_epoch = {}  # kind -> seconds per epoch of a whole strategy (all folds)
        self.reference = []  # seconds of a whole non-network strategy

    @staticmethod
    def kind(strategy, side_by_side=False):
        if not strategy.network:
            return "reference"
        return "side by side" if side_by_side else "one by one"

    def estimate(self, kind, epochs):
        """Seconds a strategy of ``kind`` would take, or None when nothing is measured."""
        if kind == "reference":
            return max(self.reference) if self.reference else None
        if self.per_epoch.get(kind):  # the latest: the first may include compiling
            return self.per_epoch[kind][-1] * epochs
        other = "side by side" if kind == "one by one" else "one by one"
        if not self.per_epoch.get(other):
            return None
        factor = self.ONE_BY_ONE if kind == "one by one" else 1 / self.ONE_BY_ONE
        return self.per_epoch[other][-1] * epochs * factor

    def plan(self, strategy, epochs, side_by_side=False):
        """``(epochs to run or None to skip, note or None)``."""
        if self.seconds is None:
            return epochs, None
        left = self.seconds - (time.perf_counter() - self.start)
        if left <= 0:
            return None, "skipped: the time budget was spent"
        estimate = self.estimate(self.kind(strategy, side_by_side), epochs)
        if estimate is None or estimate <= left:
            return epochs, None  # nothing measured yet (run it), or it fits
        if strategy.network:
            shorter = int(epochs * left / estimate)
            if shorter >= MIN_EPOCHS:
                return shorter, (
                    f"shortened to {shorter} epochs (of {epochs}) to fit the time budget "
                    f"(about {estimate:.0f} s needed, {left:.0f} s left)"
                )
        return None, f"skipped: would take about {estimate:.0f} s, {left:.0f} s of the budget left"

    def record(self, strategy, epochs, seconds, side_by_side=False):
        kind = self.kind(strategy, side_by_side)
        if kind == "reference":
            self.reference.append(seconds)
        else:
            self.per_epoch.setdefault(kind, []).append(seconds / epochs)


def cross_validate_strategies(
    X,
    y,
    strategies,
    setup,
    *,
    numeric,
    categorical,
    epochs,
    n_jobs=1,
    time_budget=None,
    started=None,
    text=(),
    aside_pool=None,
):
    """The cross-validation of every strategy on the same outer folds, in ``strategies`` order.

    ``aside_pool``: a pool from :func:`imbnet.cli._aside.second_process` for the
    strategies that do not train side by side (default: one is started when needed).

    Returns ``(results, epoch_limit)``: per-strategy dicts (see ``_summarise``), not
    ranked, and the number of networks that stopped at the epoch limit (their
    ConvergenceWarnings are counted, not shown; other warnings are shown once).
    """
    from ._nested import trains_side_by_side

    cv = setup.cv
    X = X.reset_index(drop=True)  # row labels are positions: fits are found by their rows
    plan = plan_folds(setup, y)
    progress = Progress(len(strategies) * cv)
    budget = _Budget(time_budget, started)
    results, epoch_limit, shown = [], 0, set()
    ctx = Context(epochs, setup.random_state, numeric, categorical, text)
    together = {name: trains_side_by_side(make_pipeline(name, ctx)) for name in strategies}
    aside, fitted = {}, {}
    if time_budget is None and any(together.values()):
        names = [name for name in strategies if not together[name]]
        jobs = aside_jobs(n_jobs)
        aside = start_aside(names, _run_strategy, (ctx, setup, X, y, plan, jobs), aside_pool)
        fitted, limit, warned = _fit_together(
            [name for name in strategies if together[name]], ctx, X, y, plan, n_jobs
        )
        epoch_limit += limit
        _show_new_warnings(warned, shown)
    for name in strategies:
        strategy = STRATEGIES[name]
        ctx = Context(epochs, setup.random_state, numeric, categorical, text)
        if name in aside.get("names", ()):
            continue
        run_epochs, note = budget.plan(strategy, epochs, together[name])
        ctx = Context(run_epochs or epochs, setup.random_state, numeric, categorical, text)
        if run_epochs is None:
            progress.step(f"{name} {note}", count=cv)
            results.append(_empty_result(name, ctx, note))
            continue
        start = time.perf_counter()
        runs, limit, warned = _run_strategy(name, ctx, setup, X, y, plan, n_jobs, fitted.get(name))
        epoch_limit += limit
        _show_new_warnings(warned, shown)
        failed = " failed" if runs[0]["error"] else ""
        progress.step(f"{name} ({cv} folds){failed}", count=cv)
        budget.record(strategy, ctx.epochs, time.perf_counter() - start, together[name])
        result = _summarise(name, ctx, runs, y, setup)
        result["note"] = note
        results.append(result)
    done = collect_aside(aside) if aside else ()
    for name, (runs, limit, warned) in zip(aside.get("names", ()), done):
        epoch_limit += limit
        _show_new_warnings(warned, shown)
        failed = " failed" if runs[0]["error"] else ""
        progress.step(f"{name} ({cv} folds){failed}", count=cv)
        result = _summarise(name, ctx, runs, y, setup)
        result["note"] = None
        results.append(result)
    order = {name: position for position, name in enumerate(strategies)}
    results.sort(key=lambda result: order[result["name"]])
    return results, epoch_limit


def _fit_together(names, ctx, X, y, plan, n_jobs):
    """The fits of strategies ``names`` (networks that train side by side), all in one
    search (:func:`imbnet.cli._nested.fit_strategies`): ``({name: (fits, seconds)},
    epoch_limit, other warnings)``, each strategy's seconds an equal share of the
    whole. Empty (each strategy then fits its own) for fewer than two strategies or
    when the joint fit could not be kept."""
    import warnings

    from ._nested import fit_strategies
    from ._warnings import split_warnings

    if len(names) < 2:
        return {}, 0, []
    start = time.perf_counter()
    pipelines = {name: make_pipeline(name, ctx) for name in names}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = fit_strategies(pipelines, X, y, plan.splits(), n_jobs)
    if found is None:
        return {}, 0, []
    limit, others = split_warnings(caught)
    share = (time.perf_counter() - start) / len(names)
    fitted = {name: (fits, share) for name, fits in found.items()}
    return fitted, limit, [(w.category, str(w.message)) for w in others]


def compare(
    X,
    y,
    strategies,
    *,
    numeric,
    categorical,
    objective,
    cost=None,
    cv=5,
    epochs=50,
    random_state=0,
    n_jobs=1,
    time_budget=None,
    text=(),
    started=None,
    aside_pool=None,
):
    """Cross-validate every strategy; results ranked by the objective.

    ``time_budget`` seconds count from ``started`` (``time.perf_counter()``;
    default: now). ``aside_pool``: see :func:`cross_validate_strategies`.

    Returns a dict with ``classes``, ``minority`` (the positive class of the
    decision metrics), ``counts``, ``objective``, ``notes`` and ``strategies``: a
    list, best first, of per-strategy dicts (see ``_summarise``).
    """
    strategies = run_order(strategies)
    classes, counts = np.unique(y, return_counts=True)
    minority = classes[np.argmin(counts)].item()
    setup = Setup(objective, tuple(c.item() for c in classes), minority, cost, cv, random_state)
    notes = [n for n in (STRATEGIES[s].note(y) for s in strategies) if n]
    results, epoch_limit = cross_validate_strategies(
        X,
        y,
        strategies,
        setup,
        numeric=numeric,
        categorical=categorical,
        epochs=epochs,
        n_jobs=n_jobs,
        time_budget=time_budget,
        text=text,
        started=started,
        aside_pool=aside_pool,
    )
    from ._warnings import convergence_line

    line = convergence_line(epoch_limit, epochs)
    if line:
        print(f"imbnet compare: {line}", file=sys.stderr)
    sign = 1 if objective.greater_is_better else -1
    results.sort(
        key=lambda r: (
            r["error"] is not None or r["skipped"] is not None,
            -sign * r["scores"].get("objective", {}).get("mean", 0),
            -r["scores"].get("average_precision", {}).get("mean", 0),
        )
    )
    return {
        "classes": list(setup.classes),
        "minority": minority,
        "counts": counts.tolist(),
        "multiclass": setup.multiclass,
        "objective": {
            "name": objective.name,
            "target": objective.target,
            "label": objective.label(setup.multiclass),
            "text": objective.text(setup.multiclass),
            "greater_is_better": objective.greater_is_better,
        },
        "cost": list(cost) if cost else None,
        "inner_cv": None if setup.multiclass else INNER_CV,
        "notes": notes,
        "strategies": results,
        "setup": setup,
    }


def run_order(strategies):
    """The cheap references (no network) first, so that a time budget always runs them."""
    strategies = list(dict.fromkeys(strategies))
    return [s for s in strategies if not STRATEGIES[s].network] + [
        s for s in strategies if STRATEGIES[s].network
    ]


def _show_new_warnings(found, shown):
    import warnings

    for category, message in found:
        if (category, message) not in shown:
            shown.add((category, message))
            warnings.warn(message, category, stacklevel=2)


def _empty_result(name, ctx, reason):
    return {
        "name": name,
        "description": describe(name, ctx),
        "epochs": ctx.epochs if STRATEGIES[name].network else None,
        "scores": {},
        "error": None,
        "skipped": reason,
        "note": None,
    }


def _mean_sd(values):
    values = [float(v) for v in values]
    return {"mean": float(np.mean(values)), "sd": float(np.std(values)), "folds": values}


def _summarise(name, ctx, runs, y, setup):
    """Per-strategy result: scores (mean, sd, folds), thresholds, confusion matrix, OOF scores."""
    runs.sort(key=lambda run: run["fold"])
    result = _empty_result(name, ctx, None)
    errors = [run["error"] for run in runs if run["error"]]
    if errors:
        result["error"] = errors[0]
        return result
    classes = np.asarray(setup.classes)
    column = list(setup.classes).index(setup.pos_label)
    sign = 1 if setup.objective.greater_is_better else -1
    per_fold, matrix = [], 0
    oof = np.empty(len(y))
    oof_corrected = np.empty(len(y)) if runs[0]["corrected"] is not None else None
    for run in runs:
        y_test = y[run["test"]]
        scores = {"objective": sign * run["score"]}
        scores.update(ranking_scores(y_test, run["proba"], classes, setup.pos_label))
        decided, confusion = decision_scores(
            y_test, run["pred"], classes, setup.pos_label, setup.cost
        )
        scores.update(decided)
        matrix = matrix + confusion
        scores.update(probability_scores(y_test, run["proba"], classes))
        oof[run["test"]] = run["proba"][:, column]
        if oof_corrected is not None:
            corrected = probability_scores(y_test, run["corrected"], classes)
            scores.update({f"{k}_corrected": v for k, v in corrected.items()})
            oof_corrected[run["test"]] = run["corrected"][:, column]
        per_fold.append(scores)
    result["scores"] = {key: _mean_sd([f[key] for f in per_fold]) for key in per_fold[0]}
    if runs[0]["threshold"] is not None:
        result["threshold"] = _mean_sd([run["threshold"] for run in runs])
    result["confusion"] = np.asarray(matrix).tolist()
    result["fit_time"] = _mean_sd([run["seconds"] for run in runs])
    result["oof_score"] = oof
    result["oof_score_corrected"] = oof_corrected
    result["raw_scores"] = [run["score"] for run in runs]
    return result
