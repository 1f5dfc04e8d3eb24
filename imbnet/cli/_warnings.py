"""Warnings of many fits, said once: networks that stopped at the epoch limit are
counted in one line (the user's fix is one flag), other warnings shown once each."""

import warnings
from contextlib import contextmanager

__all__ = ["convergence_line", "counting_convergence", "replay", "split_warnings"]


@contextmanager
def counting_convergence():
    """Collect the warnings of the block: yields a list that receives them.

    Use with :func:`convergence_line` and :func:`replay`; every warning is kept.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _is_epoch_limit(warning):
    from sklearn.exceptions import ConvergenceWarning

    return issubclass(warning.category, ConvergenceWarning) and "iterations" in str(warning.message)


def _is_batch_clipping(warning):
    """The batch size (the command line's, not the user's) clipped to a small training set."""
    return "batch_size" in str(warning.message) and "clipped" in str(warning.message)


def split_warnings(caught):
    """``(number of epoch-limit ConvergenceWarnings, the other warnings, deduplicated)``.

    The clipping of the command line's batch size to a smaller training set is
    dropped: it is intended, and the user has no option to change it.
    """
    limit = sum(1 for w in caught if _is_epoch_limit(w))
    others, seen = [], set()
    for w in caught:
        key = (w.category, str(w.message))
        if _is_batch_clipping(w):
            continue
        if not _is_epoch_limit(w) and key not in seen:
            seen.add(key)
            others.append(w)
    return limit, others


def replay(others):
    """Show the (real) warnings again, once each, where the filters in force show
    them: they were recorded with every warning on, and a library's
    ``DeprecationWarning`` (hidden by Python's default filters) is not the user's.
    A warning the filters turn into an error (``-W error``) is shown, not raised:
    the work it came from is done."""
    for w in others:
        with warnings.catch_warnings(record=True) as shown:
            try:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, registry={})
            except Warning:
                shown.append(w)
        if shown:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def convergence_line(count, epochs):
    """The one line that stands for ``count`` epoch-limit ConvergenceWarnings."""
    if not count:
        return None
    networks = "network" if count == 1 else "networks"
    return (
        f"{count} {networks} stopped at the epoch limit ({epochs} epochs) before the loss "
        "settled; raise --epochs to train longer"
    )
