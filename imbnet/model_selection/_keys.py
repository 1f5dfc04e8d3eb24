"""Keys that tell a search's settings apart by value.

A search finds a fit again by its candidate's parameters (scikit-learn hands
each fit a clone of them, so not by identity) and reuses a fitted step by the
step's parameters. :func:`value_key` turns such values into nested tuples of
strings: equal for equal settings, hashable, and cheap to build. scikit-learn's
``repr`` of an estimator, the obvious key, is neither cheap (it inspects every
class's signature for its defaults: about 10 ms for one of ``imbnet compare``'s
pipelines) nor complete (it shows 30 items of a long list, then "...").
"""

import hashlib
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator

__all__ = ["candidate_key", "value_key"]


def candidate_key(params):
    """The key of a candidate's parameters (a dict of name -> value)."""
    return value_key(dict(params))


def value_key(value):
    """``value`` as nested tuples of strings: equal keys for equal settings."""
    if isinstance(value, dict):
        return ("dict",) + tuple(sorted((repr(k), value_key(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__,) + tuple(value_key(v) for v in value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return ("ndarray", value.shape, value_key(value.tolist()))
        digest = hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16)
        return ("ndarray", value.shape, value.dtype.str, digest.hexdigest())
    if hasattr(value, "get_params") and not isinstance(value, type):
        kind = type(value)
        return (kind.__module__, kind.__qualname__) + value_key(_own_params(value))[1:]
    return repr(value)


def _own_params(estimator):
    """``estimator.get_params(deep=False)``, without inspecting its class's
    signature again when the class keeps scikit-learn's own ``get_params``."""
    kind = type(estimator)
    if kind.get_params is not BaseEstimator.get_params:
        return estimator.get_params(deep=False)
    return {name: getattr(estimator, name) for name in _param_names(kind)}


@lru_cache(maxsize=256)
def _param_names(kind):
    return tuple(kind._get_param_names())
