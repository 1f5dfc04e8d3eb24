"""scikit-learn's own estimator checks: imbnet's classifiers are scikit-learn classifiers.

The expected failures are strict (``xfail_strict`` in pyproject.toml): a listed check
that passes fails the suite, so the table holds only checks that really fail.
"""

import pytest
from _networks import build
from sklearn.base import is_classifier
from sklearn.utils import get_tags
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


def _expected_failed_checks(estimator):
    if get_tags(estimator).input_tags.sparse:
        return {
            **EXPECTED_FAILED_CHECKS,
            "check_sample_weight_equivalence_on_sparse_data": EXPECTED_FAILED_CHECKS[
                "check_sample_weight_equivalence_on_dense_data"
            ],
        }
    return EXPECTED_FAILED_CHECKS


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
            build,
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
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


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
