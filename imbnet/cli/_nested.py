"""One strategy's nested cross-validation as one batch of fits, networks side by side.

``imbnet compare`` scores a strategy on outer stratified folds. For two classes,
each outer fold's decision threshold is tuned by an inner stratified
cross-validation of that fold's training rows and the pipeline is then refitted
on all of them (scikit-learn's ``TunedThresholdClassifierCV``). Those are
``outer folds x (inner folds + 1)`` fits of one pipeline, on different rows.
Here they are handed at once to :func:`imbnet.model_selection.cross_validate`
as a list of (training rows, held-out rows) splits, so that a pipeline ending
in a :class:`imbnet.CostSensitiveMLPClassifier` trains all of them side by side
in one compiled program; any other pipeline is fitted split by split, as
before. The threshold is then chosen over the models already fitted, as
``TunedThresholdClassifierCV`` chooses it (:mod:`imbnet.cli._threshold`).
"""

import numpy as np

__all__ = ["FoldPlan", "fit_splits", "fit_strategies", "trains_side_by_side"]


class FoldPlan:
    """The outer folds and, per outer fold, the inner folds of its training rows.

    Parameters
    ----------
    outer : list of (train, test)
        Row positions of the outer folds.
    inner : list of list of (train, validation)
        Per outer fold, positions *within its training rows* (as
        ``TunedThresholdClassifierCV`` splits them); empty lists: no tuning.
    """

    def __init__(self, outer, inner):
        self.outer, self.inner = outer, inner

    @classmethod
    def make(cls, y, outer_cv, inner_cv=None):
        """The plan of ``outer_cv`` (and ``inner_cv`` inside each training fold) on ``y``."""
        zeros = np.zeros(len(y))
        outer = list(outer_cv.split(zeros, y))
        inner = [
            [] if inner_cv is None else list(inner_cv.split(zeros[train], y[train]))
            for train, _ in outer
        ]
        return cls(outer, inner)

    def splits(self):
        """Every fit's (training rows, held-out rows) in ``X``: per outer fold, its inner
        splits, then the refit on its training rows (held out: its test rows)."""
        found = []
        for (train, test), inner in zip(self.outer, self.inner):
            found += [(train[a], train[b]) for a, b in inner]
            found.append((train, test))
        return found


def _rows(labels):
    return np.asarray(labels, dtype=np.int64).tobytes()


def trains_side_by_side(pipeline):
    """Whether imbnet.model_selection trains ``pipeline``'s fits side by side."""
    from imbnet.model_selection import side_by_side_reason

    return side_by_side_reason(pipeline) is None


def fit_splits(pipeline, X, y, splits, n_jobs=1):
    """``pipeline`` fitted on each split's training rows, in the order of ``splits``.

    A pipeline that trains side by side goes through
    :func:`imbnet.model_selection.cross_validate` (its scorer keeps each fitted
    model); any other is fitted split by split, ``n_jobs`` processes at a time
    (their warnings are raised again here, so that the caller counts them).
    """
    import warnings

    from joblib import Parallel, delayed

    from imbnet.model_selection import cross_validate

    held = [_rows(test) for _, test in splits]
    if trains_side_by_side(pipeline) and len(set(held)) == len(held):
        kept = {}

        def keep(estimator, X_held, y_held):
            # the fitted pipeline (cross_validate scores a wrapper holding it as fitted_)
            kept[_rows(X_held.index)] = getattr(estimator, "fitted_", estimator)
            return 0.0

        cross_validate(pipeline, X, y, cv=splits, scoring=keep, n_jobs=n_jobs, error_score="raise")
        if all(key in kept for key in held):  # scored in this process, as documented
            return [kept[key] for key in held]
    fitted = Parallel(n_jobs=n_jobs)(
        delayed(_fit_one)(pipeline, X, y, train) for train, _ in splits
    )
    for _, warned in fitted:
        for category, message in warned:
            warnings.warn(message, category, stacklevel=2)
    return [model for model, _ in fitted]


def _fit_one(pipeline, X, y, train):
    """A fresh copy of ``pipeline`` fitted on rows ``train`` (in worker processes too),
    and the warnings the fit raised."""
    import warnings

    from sklearn.base import clone
    from threadpoolctl import threadpool_limits

    from ._tf_logging import import_keras_quietly

    if type(pipeline.steps[-1][1]).__module__.startswith("imbnet"):
        import_keras_quietly()  # a network: Keras without its start-up log
    # One OpenMP thread (HistGradientBoosting): on a busy machine its threads spin
    # waiting for each other, measured 40 s per fit against 1-2 s with one thread.
    with threadpool_limits(1, user_api="openmp"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = clone(pipeline).fit(X.iloc[train], y[train])
    return model, [(w.category, str(w.message)) for w in caught]


def _signature(pipeline):
    """What tells strategies' fitted pipelines apart: each step's name, class and
    parameters (a network trained side by side by those of its settings)."""
    found = []
    for name, step in pipeline.steps:
        if step is None or step == "passthrough":
            continue
        step = getattr(step, "network", step)  # a member: the settings it was trained with
        found.append((name, type(step).__qualname__, repr(step.get_params(deep=True))))
    return repr(found)


def _common_steps(pipelines):
    """Every step name of ``pipelines``, in pipeline order (the last one, the
    network's, last), and per pipeline its step under each name or "passthrough"."""
    names = []
    for pipeline in pipelines:
        for position, (name, _) in enumerate(pipeline.steps[:-1]):
            if name not in names:
                before = [n for n, _ in pipeline.steps[:position] if n in names]
                names.insert(names.index(before[-1]) + 1 if before else 0, name)
    last = {pipeline.steps[-1][0] for pipeline in pipelines}
    if len(last) != 1 or last & set(names):
        return None
    names.append(last.pop())
    steps = []
    for pipeline in pipelines:
        own = dict(pipeline.steps)
        if [n for n in names if n in own] != [n for n, _ in pipeline.steps]:
            return None  # the same names in another order
        steps.append({name: own.get(name, "passthrough") for name in names})
    return names, steps


def fit_strategies(pipelines, X, y, splits, n_jobs=1):
    """Several strategies' pipelines fitted on every split, all their networks side by
    side in one search (one program per row count, not one per strategy).

    ``pipelines``: name -> pipeline, each of which trains side by side
    (:func:`trains_side_by_side`). The pipelines become the candidates of one
    :class:`imbnet.model_selection.GridSearchCV` over their steps (a step one
    of them lacks is "passthrough" for it), so preprocessing fitted with the
    same settings on the same rows is fitted once, and the networks of every
    strategy and split train together. Each network is trained as it would be
    alone (its own data, seeds, weights and stopping), so a strategy's fits
    are those :func:`fit_splits` returns for it.

    Returns name -> fitted pipelines in the order of ``splits``, or None when the
    fits could not be kept (e.g. a strategy failed): then fit them one strategy
    at a time.
    """
    from sklearn.pipeline import Pipeline as SkPipeline

    from imbnet.model_selection import GridSearchCV

    names = list(pipelines)
    common = _common_steps([pipelines[name] for name in names])
    held = [_rows(test) for _, test in splits]
    if common is None or len(set(held)) != len(held):
        return None
    step_names, steps = common
    first = pipelines[names[0]]
    base = type(first)([(name, "passthrough") for name in step_names[:-1]] + [first.steps[-1]])
    if not isinstance(base, SkPipeline):
        return None
    grid = [{name: [step] for name, step in own.items()} for own in steps]
    signatures = {_signature(pipelines[name]): name for name in names}
    if len(signatures) != len(names):
        return None  # two strategies with the same settings: not told apart
    kept = {}

    def keep(estimator, X_held, y_held):
        fitted = getattr(estimator, "fitted_", estimator)
        kept[_signature(fitted), _rows(X_held.index)] = fitted
        return 0.0

    search = GridSearchCV(
        base, grid, scoring=keep, cv=splits, refit=False, n_jobs=n_jobs, error_score="raise"
    )
    try:
        search.fit(X, y)
    except Exception:  # a strategy failed: each is fitted on its own (and reports its error)
        return None
    found = {}
    for signature, name in signatures.items():
        fits = [kept.get((signature, key)) for key in held]
        if any(fit is None for fit in fits):
            return None
        found[name] = fits
    return found
