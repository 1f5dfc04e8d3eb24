"""imbnet.compute_class_weight: the four kinds of class_weight, and bad ones."""

import math

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight as sklearn_class_weight

from imbnet import compute_class_weight
from imbnet.weighting._class_weight import compute_sample_weight

Y = np.array([0] * 95 + [1] * 5)
CLASSES = np.array([0, 1])


def test_none_weighs_every_class_one():
    assert compute_class_weight(None, classes=CLASSES, y=Y) == {0: 1.0, 1: 1.0}


def test_balanced_matches_scikit_learn():
    weights = compute_class_weight("balanced", classes=CLASSES, y=Y)
    expected = sklearn_class_weight("balanced", classes=CLASSES, y=Y)
    assert weights == pytest.approx({0: expected[0], 1: expected[1]})
    assert weights[1] == pytest.approx(100 / (2 * 5))


@pytest.mark.parametrize("mu", [0.15, 1.0, 10.0])
def test_log_weights_follow_formula(mu):
    weights = compute_class_weight("log", classes=CLASSES, y=Y, mu=mu)
    for label, count in [(0, 95), (1, 5)]:
        assert weights[label] == pytest.approx(max(1.0, math.log(mu * 100 / count)))


def test_log_weights_never_below_one_and_grow_with_rarity():
    y = np.array(["a"] * 900 + ["b"] * 90 + ["c"] * 10)
    weights = compute_class_weight("log", classes=["a", "b", "c"], y=y, mu=1.0)
    assert weights["a"] == 1.0
    assert 1.0 < weights["b"] < weights["c"]


def test_dict_by_string_label_missing_classes_weigh_one():
    y = np.array(["neg"] * 8 + ["pos"] * 2)
    weights = compute_class_weight({"pos": 7}, classes=["neg", "pos"], y=y)
    assert weights == {"neg": 1.0, "pos": 7.0}


def test_dict_accepts_numpy_integer_keys():
    weights = compute_class_weight({np.int64(1): 3}, classes=CLASSES, y=Y)
    assert weights == {0: 1.0, 1: 3.0}


@pytest.mark.parametrize(
    "class_weight, message",
    [
        ({2: 1.0}, "not classes of y"),
        ({"1": 1.0}, "not classes of y"),
        ({1: 0}, "positive and finite"),
        ({1: -2.0}, "positive and finite"),
        ({1: float("nan")}, "positive and finite"),
        ({1: float("inf")}, "positive and finite"),
        ({1: "heavy"}, "must be a number"),
        ("balance", "not a known scheme"),
    ],
)
def test_bad_class_weight_is_a_clear_value_error(class_weight, message):
    with pytest.raises(ValueError, match=message):
        compute_class_weight(class_weight, classes=CLASSES, y=Y)


@pytest.mark.parametrize("mu", [0, -1.0, float("nan")])
def test_log_needs_positive_mu(mu):
    with pytest.raises(ValueError, match="class_weight_mu must be a positive"):
        compute_class_weight("log", classes=CLASSES, y=Y, mu=mu)


def test_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="class_weight must be"):
        compute_class_weight([1, 2], classes=CLASSES, y=Y)


def test_sample_weight_multiplies_and_is_not_modified():
    sample_weight = np.array([1.0, 2.0, 3.0])
    before = sample_weight.copy()
    weights = compute_sample_weight([1.0, 10.0], np.array([0, 1, 1]), sample_weight)
    np.testing.assert_allclose(weights, [1.0, 20.0, 30.0])
    np.testing.assert_array_equal(sample_weight, before)
    assert weights.dtype == np.float32
