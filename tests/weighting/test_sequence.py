"""A class per time step: y of shape (n, T), a model with output (n, T, n_classes).

Keras's temporal sample weights, through ResampledKerasClassifier: class
weights per (row, step) entry, sample_weight per row or per step, predictions
in scikit-learn's multi-output form.
"""

import numpy as np
import pytest
from _networks import build

from imbnet import CostSensitiveMLPClassifier, ResampledKerasClassifier

RNG = np.random.default_rng(0)
N, T, F = 240, 6, 3
X = RNG.normal(size=(N, T, F)).astype(np.float32)
_SCORE = X[..., 0] + 0.5 * X[..., 1]
# A rare class 2 and a rarer class 1 at each step, from that step's features.
Y = np.where(_SCORE > 1.5, 2, np.where(_SCORE < -1.8, 1, 0))
LABELS = np.array(["calm", "drop", "spike"])


def fit(y=Y, sample_weight=None, **params):
    params = {"epochs": 20, "random_state": 0, "model__units": 16, **params}
    return ResampledKerasClassifier(build, **params).fit(X, y, sample_weight=sample_weight)


def test_predictions_in_multi_output_form_with_any_labels():
    clf = fit(LABELS[Y], epochs=3)
    assert list(clf.classes_) == list(LABELS)
    proba = clf.predict_proba(X)
    assert isinstance(proba, list) and len(proba) == T
    for step in proba:
        assert step.shape == (N, 3)
        np.testing.assert_allclose(step.sum(axis=1), 1.0, rtol=1e-6)
    predicted = clf.predict(X)
    assert predicted.shape == (N, T)
    expected = LABELS[np.stack([p.argmax(axis=1) for p in proba], axis=1)]
    np.testing.assert_array_equal(predicted, expected)
    # score: the share of (row, step) entries predicted right
    assert clf.score(X, LABELS[Y]) == pytest.approx(np.mean(predicted == LABELS[Y]))


def test_class_weight_applies_per_entry():
    plain, weighted = fit(), fit(class_weight="balanced")
    counts = np.bincount(Y.ravel())
    np.testing.assert_allclose(
        [weighted.class_weight_[c] for c in range(3)], Y.size / (3 * counts), rtol=1e-6
    )
    rare = Y != 0
    recall = lambda clf: np.mean(clf.predict(X)[rare] == Y[rare])  # noqa: E731
    assert recall(weighted) > recall(plain) + 0.1
    np.testing.assert_allclose(weighted.class_prior_, counts / Y.size)


def test_row_weights_equal_the_same_weight_at_every_step():
    row = RNG.uniform(0.5, 2.0, size=N)
    by_row = fit(sample_weight=row, epochs=3).predict_proba(X)
    by_step = fit(sample_weight=np.repeat(row[:, None], T, axis=1), epochs=3).predict_proba(X)
    for a, b in zip(by_row, by_step):
        np.testing.assert_array_equal(a, b)


def test_steps_of_weight_zero_do_not_train():
    weight = np.ones((N, T))
    weight[:, -2:] = 0.0
    noisy = Y.copy()
    noisy[:, -2:] = RNG.integers(0, 3, size=(N, 2))
    a = fit(sample_weight=weight, epochs=3).predict_proba(X)
    b = fit(noisy, sample_weight=weight, epochs=3).predict_proba(X)
    for step_a, step_b in zip(a, b):
        np.testing.assert_array_equal(step_a, step_b)
    # and a weighted step does train
    c = fit(noisy, epochs=3).predict_proba(X)
    assert not np.array_equal(a[0], c[0])


def test_prior_correction_and_early_stopping_per_step():
    clf = fit(class_weight="balanced", prior_correction=True, early_stopping=True, epochs=5)
    assert clf.history_.get("val_loss")
    corrected = np.concatenate(clf.predict_proba(X))
    # corrected probabilities estimate the classes' shares of the entries
    np.testing.assert_allclose(corrected.mean(axis=0), clf.class_prior_, atol=0.08)


def test_binary_steps_of_sequence_input_are_a_class_per_step():
    y01 = (Y > 0).astype(int)
    clf = fit(y01, epochs=2)
    assert list(clf.classes_) == [0, 1]
    assert clf.predict(X).shape == (N, T)
    assert clf.model_.outputs[0].shape[-1] == 1  # one sigmoid unit per step


@pytest.mark.parametrize(
    "params, message",
    [
        ({"sampler": "under"}, "sampler is not defined for a class-per-time-step y"),
        ({"batch_ratio": 2}, "batch_ratio is not defined"),
    ],
)
def test_row_samplers_are_refused(params, message):
    if params.get("sampler") == "under":
        from imblearn.under_sampling import RandomUnderSampler

        params = {"sampler": RandomUnderSampler()}
    with pytest.raises(ValueError, match=message):
        fit(epochs=1, **params)


def test_model_without_a_step_axis_is_refused():
    import keras

    def flat(meta):
        return keras.Sequential(
            [
                keras.Input(meta["X_shape_"][1:]),
                keras.layers.Flatten(),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )

    with pytest.raises(ValueError, match=r"must output \(n_samples, 6, n_classes\)"):
        ResampledKerasClassifier(flat, epochs=1).fit(X, Y)


def test_sample_weight_of_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="one per time step, the shape of y"):
        fit(sample_weight=np.ones((N, T + 1)), epochs=1)


def test_mlp_refuses_a_class_per_step():
    X2 = X[:, :, 0]
    with pytest.raises(ValueError, match="For a class per time step use ResampledKerasClassifier"):
        CostSensitiveMLPClassifier(max_iter=1).fit(X2, Y)


# Scoring the (row, step) entries (issue 28: scikit-learn's scorers gave NaN).


def _entry_scores(clf, y):
    """What each scorer must give: the metric over the flattened (row, step) entries."""
    from sklearn.metrics import (
        average_precision_score,
        balanced_accuracy_score,
        f1_score,
        roc_auc_score,
    )

    truth = y.ravel()
    positive = np.stack(clf.predict_proba(X), axis=1)[..., 1].ravel()
    labels = clf.predict(X).ravel()
    return {
        "roc_auc": roc_auc_score(truth, positive),
        "average_precision": average_precision_score(truth, positive),
        "f1": f1_score(truth, labels),
        "balanced_accuracy": balanced_accuracy_score(truth, labels),
    }


@pytest.mark.parametrize("scoring", ["roc_auc", "average_precision", "f1", "balanced_accuracy"])
def test_sequence_scorer_scores_every_step_in_cross_validation(scoring):
    import warnings

    from sklearn.model_selection import KFold, cross_val_score

    import imbnet

    y01 = (Y > 0).astype(int)
    clf = ResampledKerasClassifier(build, epochs=8, random_state=0, model__units=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "Scoring failed"
        scores = cross_val_score(
            clf, X, y01, cv=KFold(2), scoring=imbnet.sequence_scorer(scoring), error_score="raise"
        )
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
    # the same as the metric of the flattened entries of a fold
    fold = clf.fit(X[N // 2 :], y01[N // 2 :])
    expected = _entry_scores(fold, y01)[scoring]
    got = imbnet.sequence_scorer(scoring)(fold, X, y01)
    assert got == pytest.approx(expected)
    assert "sequence_scorer" in imbnet.__all__


def test_sequence_scorer_leaves_out_steps_of_weight_zero_and_takes_labels():
    import imbnet

    clf = fit(LABELS[(Y > 0).astype(int)], epochs=3)  # labels "calm" / "drop"
    weight = np.ones((N, T))
    weight[:, -2:] = 0.0
    scorer = imbnet.sequence_scorer("roc_auc")
    y = LABELS[(Y > 0).astype(int)]
    shown = clf.predict_proba(X)
    trimmed = roc_auc_of(y[:, :-2], [p[:, 1] for p in shown[:-2]])
    assert scorer(clf, X, y, sample_weight=weight) == pytest.approx(trimmed)
    with pytest.raises(ValueError, match=r"y of shape \(n_samples, n_steps\).*scoring='roc_auc'"):
        scorer(clf, X, y[:, 0])


def roc_auc_of(y, positive_by_step):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y.ravel() == "drop", np.stack(positive_by_step, axis=1).ravel())
