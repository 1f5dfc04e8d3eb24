"""scikit-learn's own estimator checks: imbnet's classifiers are scikit-learn classifiers.

The expected failures are strict (``xfail_strict`` in pyproject.toml): a listed check
that passes fails the suite, so the table holds only checks that really fail.
"""

import functools

import pytest
from _networks import build
from sklearn.base import is_classifier
from sklearn.utils import estimator_checks, get_tags
from sklearn.utils._testing import assert_allclose, assert_allclose_dense_sparse
from sklearn.utils.estimator_checks import parametrize_with_checks

from imbnet import BalancedEnsembleClassifier, CostSensitiveMLPClassifier, ResampledKerasClassifier

# Every estimator check expected to fail, with the reason. The only such table.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "mini-batch training: repeating a row changes which rows share a batch and "
        "the number of steps, so weight 2 equals a repeated row only in expectation "
        "(as for scikit-learn's own MLPClassifier with sgd/adam)."
    ),
}


# Checks run at float32's tolerance instead of float64's, with the reason. Keras networks
# compute in float32, and some processors' kernels (seen: TensorFlow 2.21 on an AMD EPYC)
# round a row differently by its position in the batch: predictions on a subset or a
# permutation of X differed from those on X by up to 2e-7 (relative 2e-6), against the
# checks' atol of 1e-7 / 1e-9. Rows that really depended on each other would differ by far
# more than rtol 1e-5 / atol 1e-6.
# (check -> the comparison it makes, patched in sklearn.utils.estimator_checks)
FLOAT32_TOLERANCE_CHECKS = {
    "check_methods_subset_invariance": assert_allclose,
    "check_methods_sample_order_invariance": assert_allclose_dense_sparse,
}
_FLOAT32 = {"rtol": 1e-5, "atol": 1e-6}


def _at_float32_tolerance(compare):
    @functools.wraps(compare)
    def close(actual, desired, **kwargs):
        kwargs.update(_FLOAT32)
        return compare(actual, desired, **kwargs)

    return close


def _expected_failed_checks(estimator):
    if get_tags(estimator).input_tags.sparse:
        return {
            **EXPECTED_FAILED_CHECKS,
            "check_sample_weight_equivalence_on_sparse_data": EXPECTED_FAILED_CHECKS[
                "check_sample_weight_equivalence_on_dense_data"
            ],
        }
    return EXPECTED_FAILED_CHECKS


class _Build:
    """``build`` whose repr has no memory address: the checks' test ids are the same
    in every process (pytest-xdist's workers compare them)."""

    def __call__(self, meta, units=8, dropout=0.0):
        return build(meta, units=units, dropout=dropout)

    def __repr__(self):
        return "build"


@parametrize_with_checks(
    [
        CostSensitiveMLPClassifier(
            hidden_layer_sizes=(16,),
            max_iter=40,
            learning_rate_init=0.05,
            batch_size=64,
            random_state=0,
        ),
        ResampledKerasClassifier(
            _Build(),
            model__units=16,
            epochs=40,
            batch_size=64,
            optimizer__learning_rate=0.05,
            random_state=0,
        ),
        BalancedEnsembleClassifier(
            CostSensitiveMLPClassifier(
                hidden_layer_sizes=(16,), max_iter=40, learning_rate_init=0.05, batch_size=64
            ),
            n_estimators=2,
            random_state=0,
        ),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check, monkeypatch):
    name = getattr(check, "func", check).__name__
    compare = FLOAT32_TOLERANCE_CHECKS.get(name)
    if compare is not None:
        monkeypatch.setattr(estimator_checks, compare.__name__, _at_float32_tolerance(compare))
    check(estimator)


def test_float32_tolerance_still_catches_rows_that_depend_on_each_other():
    close = _at_float32_tolerance(assert_allclose)
    close([0.5, 0.25], [0.5 + 2e-7, 0.25], atol=1e-9)  # float32 rounding: accepted
    with pytest.raises(AssertionError):
        close([0.5, 0.25], [0.5 + 1e-4, 0.25], atol=1e-9)


@pytest.mark.parametrize(
    "estimator, sparse", [(CostSensitiveMLPClassifier(), True), (ResampledKerasClassifier(), False)]
)
def test_tags_are_a_classifiers(estimator, sparse):
    tags = get_tags(estimator)
    assert is_classifier(estimator)
    assert tags.estimator_type == "classifier"
    assert tags.classifier_tags is not None and tags.classifier_tags.multi_class
    assert tags.classifier_tags.multi_label
    assert tags.target_tags.required
    assert tags.input_tags.sparse is sparse  # as MLPClassifier: sparse X in dense batches
    assert not tags.input_tags.allow_nan
