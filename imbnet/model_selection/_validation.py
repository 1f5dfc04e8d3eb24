"""``cross_validate`` and ``cross_val_score``: scikit-learn's, fits side by side."""

import numpy as np
from sklearn import get_config
from sklearn import model_selection as _sk
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.utils.validation import indexable

from ._scoring import fast_scoring
from ._tasks import (
    FitStore,
    FixedSplits,
    Replayed,
    fit_tasks,
    holds_member_fit,
    side_by_side_applies,
)

__all__ = ["cross_val_score", "cross_validate"]


def cross_validate(
    estimator,
    X,
    y=None,
    *,
    groups=None,
    scoring=None,
    cv=None,
    n_jobs=None,
    verbose=0,
    params=None,
    pre_dispatch="2*n_jobs",
    return_train_score=False,
    return_estimator=False,
    return_indices=False,
    error_score=np.nan,
):
    """Evaluate metrics by cross-validation, the folds' networks side by side.

    scikit-learn's :func:`sklearn.model_selection.cross_validate` (same
    arguments, same returned dict). When ``estimator`` is a
    :class:`imbnet.CostSensitiveMLPClassifier` or a pipeline ending in one,
    the folds' networks train together in one compiled program (see
    :class:`imbnet.model_selection.GridSearchCV`); with
    ``return_estimator=True``, or settings that do not train side by side,
    the folds are fitted one by one, as scikit-learn does.

    Parameters
    ----------
    estimator : estimator object
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), default=None
    groups : array-like of shape (n_samples,), default=None
    scoring : str, callable, list, tuple or dict, default=None
    cv : int, cross-validation generator or iterable, default=None
    n_jobs : int, default=None
    verbose : int, default=0
    params : dict, default=None
        Passed to the estimator's ``fit`` (``sample_weight`` split by fold).
    pre_dispatch : int or str, default="2*n_jobs"
    return_train_score : bool, default=False
    return_estimator : bool, default=False
    return_indices : bool, default=False
    error_score : "raise" or numeric, default=np.nan

    Returns
    -------
    scores : dict of ndarray
        ``test_<metric>`` (``test_score`` for one), ``fit_time``,
        ``score_time``, and as asked ``train_<metric>``, ``estimator``,
        ``indices``. ``fit_time`` of a fold trained side by side is its own
        preparation plus its share of the joint training (the compiled
        call's wall time split in proportion to the mini-batch steps each
        fold's network ran), so the fit times add up to the time spent
        fitting.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from imbnet import CostSensitiveMLPClassifier
    >>> from imbnet.model_selection import cross_validate
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), max_iter=30,
    ...                                  class_weight="balanced", random_state=0)
    >>> result = cross_validate(clf, X, y, cv=3, scoring=["roc_auc", "balanced_accuracy"])
    >>> result["test_roc_auc"].shape
    (3,)
    """
    options = dict(
        groups=groups,
        scoring=scoring,
        verbose=verbose,
        params=params,
        pre_dispatch=pre_dispatch,
        return_train_score=return_train_score,
        return_indices=return_indices,
        error_score=error_score,
    )
    if return_estimator or not side_by_side_applies(estimator):
        return _sk.cross_validate(
            estimator, X, y, cv=cv, n_jobs=n_jobs, return_estimator=return_estimator, **options
        )
    X, y, groups = indexable(X, y, groups)
    splits = list(check_cv(cv, y, classifier=is_classifier(estimator)).split(X, y, groups))
    if not get_config().get("enable_metadata_routing"):
        options["scoring"] = _with_fast_scorers(estimator, scoring)
    store = FitStore()
    fit_tasks(store, estimator, [{}], splits, X, y, dict(params or {}), n_jobs)
    result = _sk.cross_validate(
        Replayed(estimator, store), X, y, cv=FixedSplits(splits), n_jobs=None, **options
    )
    # scikit-learn timed only the replay of each fit: count its own share
    result["fit_time"] = store.fit_times(estimator, [{}], splits, X, y)[0]
    return result


def cross_val_score(
    estimator,
    X,
    y=None,
    *,
    groups=None,
    scoring=None,
    cv=None,
    n_jobs=None,
    verbose=0,
    params=None,
    pre_dispatch="2*n_jobs",
    error_score=np.nan,
):
    """Scores of one metric by cross-validation, the folds' networks side by side.

    scikit-learn's :func:`sklearn.model_selection.cross_val_score`, through
    :func:`cross_validate`.

    Parameters
    ----------
    estimator : estimator object
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), default=None
    groups : array-like of shape (n_samples,), default=None
    scoring : str or callable, default=None
    cv : int, cross-validation generator or iterable, default=None
    n_jobs : int, default=None
    verbose : int, default=0
    params : dict, default=None
    pre_dispatch : int or str, default="2*n_jobs"
    error_score : "raise" or numeric, default=np.nan

    Returns
    -------
    scores : ndarray of shape (n_splits,)
    """
    from sklearn.metrics import check_scoring

    scorer = scoring if isinstance(scoring, str) else check_scoring(estimator, scoring=scoring)
    result = cross_validate(
        estimator,
        X,
        y,
        groups=groups,
        scoring=scorer if isinstance(scorer, str) else {"score": scorer},
        cv=cv,
        n_jobs=n_jobs,
        verbose=verbose,
        params=params,
        pre_dispatch=pre_dispatch,
        error_score=error_score,
    )
    return result["test_score"]


def _with_fast_scorers(estimator, scoring):
    """``scoring`` with scikit-learn's "roc_auc" / "average_precision" computed
    directly for the side-by-side fits (:mod:`imbnet.model_selection._scoring`)."""
    from sklearn.metrics import check_scoring

    if isinstance(scoring, str):
        scorers = check_scoring(estimator, scoring)
    elif isinstance(scoring, (list, tuple, set)) and all(isinstance(n, str) for n in scoring):
        scorers = {name: check_scoring(estimator, name) for name in scoring}
    elif isinstance(scoring, dict):
        scorers = {
            key: check_scoring(estimator, value) if isinstance(value, str) else value
            for key, value in scoring.items()
        }
    else:
        return scoring
    fast = fast_scoring(scoring, scorers, holds_member_fit)
    return scoring if fast is None else fast
