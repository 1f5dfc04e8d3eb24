"""``GridSearchCV`` and ``RandomizedSearchCV``: scikit-learn's, fits side by side."""

import numpy as np
from sklearn import get_config
from sklearn import model_selection as _sk
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.utils.validation import indexable

from ._scoring import fast_scoring, unwrap
from ._tasks import (
    FitStore,
    FixedSplits,
    Replayed,
    fit_tasks,
    holds_member_fit,
    side_by_side_applies,
)

__all__ = ["GridSearchCV", "RandomizedSearchCV"]


class _SideBySideSearch:
    """What the two searches add to scikit-learn's: every batch of candidates is
    fitted by :func:`imbnet.model_selection._tasks.fit_tasks` (networks side by
    side) before scikit-learn's own loop scores the fits."""

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters (see scikit-learn's ``fit``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
        **params : dict of str -> object
            Passed to the estimator's ``fit`` (``sample_weight`` split by fold)
            and, as ``groups``, to the splitter.

        Returns
        -------
        self : object
        """
        if not side_by_side_applies(self.estimator):
            return super().fit(X, y, **params)
        original, n_jobs = self.estimator, self.n_jobs
        store = FitStore()
        X, y = indexable(X, y)
        self._side_by_side = (original, store, X, y, params, n_jobs)
        # scikit-learn's loop only scores (and refits): in process, one by one.
        self.estimator, self.n_jobs = Replayed(original, store), None
        try:
            super().fit(X, y, **params)
        finally:
            self.estimator, self.n_jobs = original, n_jobs
            del self._side_by_side
        if hasattr(self, "best_estimator_"):
            self.best_estimator_ = self.best_estimator_.fitted_
        if hasattr(self, "scorer_"):  # scikit-learn's own scorers, as its search keeps them
            self.scorer_ = unwrap(self.scorer_)
        return self

    def _get_scorers(self):
        # Side by side: scikit-learn's ranking scorers, computed directly for the
        # fits trained side by side (imbnet.model_selection._scoring).
        scorers, refit_metric = super()._get_scorers()
        if getattr(self, "_side_by_side", None) is None or get_config().get(
            "enable_metadata_routing"
        ):
            return scorers, refit_metric
        inner = getattr(scorers, "_scorers", scorers)  # a _MultimetricScorer's dict
        fast = fast_scoring(self.scoring, inner, holds_member_fit)
        if fast is None:
            return scorers, refit_metric
        if isinstance(fast, dict):
            try:
                return type(scorers)(scorers=fast, raise_exc=scorers._raise_exc), refit_metric
            except (AttributeError, TypeError):  # another scikit-learn's multimetric scorer
                return scorers, refit_metric
        return fast, refit_metric

    # scikit-learn >= 1.8 passes ``callback_ctx`` (when the signature names it),
    # 1.6 and 1.7 nothing: pass it on only when given.
    def _run_search(self, evaluate_candidates, callback_ctx=None):
        options = {} if callback_ctx is None else {"callback_ctx": callback_ctx}
        side_by_side = getattr(self, "_side_by_side", None)
        if side_by_side is None:
            return super()._run_search(evaluate_candidates, **options)
        estimator, store, X, y, params, n_jobs = side_by_side
        fit_params = {k: v for k, v in params.items() if k != "groups"}
        groups = params.get("groups")
        # as scikit-learn's own fit checks it (a local there before 1.8)
        default_cv = check_cv(self.cv, y, classifier=is_classifier(estimator))

        fit_times = []

        def evaluate(candidate_params, cv=None, more_results=None, **kwargs):
            candidate_params = list(candidate_params)
            splits = list((cv or default_cv).split(X, y, groups=groups))
            fit_tasks(store, estimator, candidate_params, splits, X, y, fit_params, n_jobs)
            results = evaluate_candidates(
                candidate_params, cv=FixedSplits(splits), more_results=more_results, **kwargs
            )
            # scikit-learn timed only the replay of each fit: count its own share
            fit_times.extend(store.fit_times(estimator, candidate_params, splits, X, y))
            if len(fit_times) == len(results["params"]):
                results["mean_fit_time"] = np.array([row.mean() for row in fit_times])
                results["std_fit_time"] = np.array([row.std() for row in fit_times])
            return results

        return super()._run_search(evaluate, **options)


class GridSearchCV(_SideBySideSearch, _sk.GridSearchCV):
    """Exhaustive search over a parameter grid, imbnet networks trained side by side.

    scikit-learn's :class:`sklearn.model_selection.GridSearchCV`, with the same
    parameters, attributes (``cv_results_``, ``best_estimator_``,
    ``best_params_``, ``best_score_``, ...) and behaviour (``refit``,
    multi-metric ``scoring``, ``error_score``, ``return_train_score``, any
    splitter). When the estimator is a
    :class:`imbnet.CostSensitiveMLPClassifier`, or a scikit-learn /
    imbalanced-learn ``Pipeline`` ending in one, the candidate x fold fits
    whose networks share an architecture train together, one compiled program
    for all: the pipeline's steps before the network (scalers, samplers'
    ``fit_resample``) are fitted per fold on the host, as the pipeline's own
    ``fit`` would; each network then learns only from its own rows with its
    own class weights, seeds, penalty, learning rate and stopping, and stops
    (frozen) when its own rule says so, as if it had been trained alone.
    Fits that cannot (another final estimator, or network settings the
    program does not reproduce: a solver other than "adam",
    ``early_stopping``, ``dropout``, a loss other than "log_loss",
    ``deferred_reweighting``, ``output_bias_init="prior"``,
    ``prior_correction``, fit parameters other than ``sample_weight``) are
    fitted one by one, as scikit-learn's search would.

    Parameters
    ----------
    estimator : estimator object
        Cloned for every fit.
    param_grid : dict or list of dict
        Parameter names (``step__param`` in a pipeline) to lists of values.
    scoring : str, callable, list, tuple or dict, default=None
        As scikit-learn's.
    n_jobs : int, default=None
        Workers for the fits trained alone (as scikit-learn's) and, on a
        distributed joblib backend (``joblib.parallel_backend("dask")``), for
        the side-by-side chunks (the fits of one architecture and number of
        mini-batches, up to a memory bound). On one machine the chunks are
        trained one after another whatever ``n_jobs``: two at once measured
        slower on a 2-core machine, and ``n_jobs`` > 1 is never slower than
        ``n_jobs=1``.
    refit : bool, str or callable, default=True
        Refit the best candidate on all of the data (a fit of its own).
    cv : int, cross-validation generator or iterable, default=None
        Any scikit-learn splitter; None is 5-fold (stratified for classifiers).
    verbose : int, default=0
    pre_dispatch : int or str, default="2*n_jobs"
    error_score : "raise" or numeric, default=np.nan
        Score of a failing fit, as scikit-learn's (a failing fit is retried
        alone inside scikit-learn's loop, which records or raises its error).
    return_train_score : bool, default=False

    Attributes
    ----------
    cv_results_ : dict of ndarray
        scikit-learn's keys and meaning. For a fit trained side by side, its
        fit time (``mean_fit_time`` / ``std_fit_time`` over the splits) is
        its own preparation (the pipeline's steps before the network on its
        fold) plus its share of the joint training: the wall time of the
        compiled call it trained in, split in proportion to the mini-batch
        steps each member ran. The fit times of a search's fits thus add up
        to the time spent fitting (with ``n_jobs`` > 1, to the time summed
        over the workers).
    best_estimator_ : estimator
        The refitted best candidate, a plain fitted estimator.
    best_score_ : float
    best_params_ : dict
    best_index_ : int
    scorer_ : function or dict
    n_splits_ : int
    refit_time_ : float
    multimetric_ : bool

    See Also
    --------
    imbnet.model_selection.cross_validate : one estimator over the folds.

    Examples
    --------
    >>> from imblearn.pipeline import make_pipeline
    >>> from imblearn.under_sampling import RandomUnderSampler
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.preprocessing import StandardScaler
    >>> from imbnet import CostSensitiveMLPClassifier
    >>> from imbnet.model_selection import GridSearchCV
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> pipe = make_pipeline(
    ...     StandardScaler(), RandomUnderSampler(random_state=0),
    ...     CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
    ... )
    >>> grid = {"costsensitivemlpclassifier__class_weight": [None, "balanced"],
    ...         "randomundersampler__sampling_strategy": [0.5, 1.0]}
    >>> search = GridSearchCV(pipe, grid, cv=3, scoring="roc_auc").fit(X, y)
    >>> sorted(search.best_params_)
    ['costsensitivemlpclassifier__class_weight', 'randomundersampler__sampling_strategy']
    >>> len(search.cv_results_["mean_test_score"])
    4
    """


class RandomizedSearchCV(_SideBySideSearch, _sk.RandomizedSearchCV):
    """Randomized search over parameters, imbnet networks trained side by side.

    scikit-learn's :class:`sklearn.model_selection.RandomizedSearchCV` (same
    parameters, attributes and behaviour); the fits train as in
    :class:`imbnet.model_selection.GridSearchCV`.

    Parameters
    ----------
    estimator : estimator object
    param_distributions : dict or list of dict
    n_iter : int, default=10
    scoring : str, callable, list, tuple or dict, default=None
    n_jobs : int, default=None
    refit : bool, str or callable, default=True
    cv : int, cross-validation generator or iterable, default=None
    verbose : int, default=0
    pre_dispatch : int or str, default="2*n_jobs"
    random_state : int, RandomState instance or None, default=None
    error_score : "raise" or numeric, default=np.nan
    return_train_score : bool, default=False

    Attributes
    ----------
    cv_results_ : dict of ndarray
    best_estimator_ : estimator
    best_score_ : float
    best_params_ : dict
    best_index_ : int
    """
