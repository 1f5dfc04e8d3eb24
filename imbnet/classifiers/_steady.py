"""The stopping rule of a fit whose rows are redrawn every epoch, shared by the
ensemble (each member's balanced draws) and ``ResampledKerasClassifier`` (a
sampler redrawn every epoch).

The loss of an epoch's draw jumps with the draw, so scikit-learn's ``tol``
rule on it stops on that noise. Such a fit watches instead the loss of rows
that stay the same (:func:`imbnet.sampling._epochs.steady_rows`): its own
hold-out with ``early_stopping``, otherwise a stratified subset of its
training rows, weighted so that each class has the share of weight it has in
the draws. The rule runs on that loss through the fit loop's validation path,
where the best epoch's weights are kept.
"""

from contextlib import contextmanager

import numpy as np

from ..sampling._epochs import out_of_bag_rows, steady_rows

__all__ = ["steady_validation", "watching_steady_rows"]


def steady_validation(estimator, data, holdout, source):
    """``(X, y_encoded, w)`` whose loss ``estimator``'s stopping rule watches, or None.

    ``data`` is the fit's :class:`imbnet.sampling._epochs.FitData`, ``holdout``
    its ``(X, y_encoded, w)`` hold-out or None, ``source`` its epoch source
    (the class shares of its first epoch's draws set the weights). Without a
    hold-out, a source whose members draw from bags of their own (its
    ``in_bag``) gives each member its out-of-bag rows: ``w`` has a column per
    member. None if
    the estimator's rule watches nothing.
    """
    if estimator._stopping().monitor is None:
        return None
    source(0)  # drawn now if not yet (a source hands out the same draw again)
    share = np.asarray(source.tally.prior(1), np.float64)
    if holdout is not None:
        X, y, w = holdout
        return steady_rows(X, y, w, share, None, per_class=y.shape[0], limit=None)
    rng = data.seeds.rng("steady rows")
    in_bag = getattr(source, "in_bag", None)
    if in_bag is not None:  # members with bags: each its own rows out of the bag
        return out_of_bag_rows(data.X, data.y, data.weights, in_bag, share, rng)
    return steady_rows(data.X, data.y, data.weights, share, rng)


@contextmanager
def watching_steady_rows(estimator, steady, members=0):
    """``estimator``'s stopping rule on the validation loss (its best epoch's weights
    restored), for the fit loop's duration, when it is given ``steady`` rows;
    with ``members`` > 0 (networks side by side), a rule per member
    (:class:`imbnet.engine._records.Stopping`'s ``members``)."""
    if steady is None:
        yield
        return
    early_stopping = estimator.early_stopping
    estimator.early_stopping = True
    if members:
        rule = estimator._stopping
        estimator._stopping = lambda: rule()._replace(members=members)
    try:
        yield
    finally:
        estimator.early_stopping = early_stopping
        if members:
            del estimator._stopping
