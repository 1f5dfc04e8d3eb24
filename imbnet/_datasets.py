"""The built-in example data: the cost-sensitive tutorial's 1:100 data set."""

from sklearn.datasets import make_classification

__all__ = ["make_tutorial_data"]


def make_tutorial_data(n_samples=10000, *, random_state=4):
    """The cost-sensitive neural network tutorial's imbalanced data set.

    Two features, two clusters per class, 1 % positives, no label noise:
    ``make_classification(n_samples, n_features=2, n_redundant=0,
    n_clusters_per_class=2, weights=[0.99], flip_y=0, random_state=4)``. The
    tutorial trains on the first half and tests on the second. imbnet's
    benchmarks, tests and ``imbnet compare`` (its default data) use it.

    Parameters
    ----------
    n_samples : int, default=10000
    random_state : int, default=4
        The tutorial's seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
        0 (majority) or 1 (minority).

    Examples
    --------
    >>> from imbnet import make_tutorial_data
    >>> X, y = make_tutorial_data()
    >>> X.shape, int(y.sum())
    ((10000, 2), 100)
    """
    return make_classification(
        n_samples=n_samples,
        n_features=2,
        n_redundant=0,
        n_clusters_per_class=2,
        weights=[0.99],
        flip_y=0,
        random_state=random_state,
    )
