"""Multilabel targets: a 0/1 indicator matrix, one sigmoid unit and one binary loss per label."""

import _networks as networks
import keras
import numpy as np
import pytest
from imblearn.under_sampling import RandomUnderSampler
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.utils.class_weight import compute_class_weight as sklearn_class_weight

import imbnet.classifiers._base
from imbnet import CostSensitiveMLPClassifier, HardNegativeSampler, ResampledKerasClassifier
from imbnet.weighting._losses import LabelwiseLoss

# Four labels; label 1 is rare (3% positive).
X, Y = make_multilabel_classification(
    n_samples=600, n_features=6, n_classes=4, n_labels=1, allow_unlabeled=True, random_state=2
)
X = (X - X.mean(axis=0)) / X.std(axis=0)


def build(meta, units=16):
    assert meta["target_type_"] == "multilabel-indicator"
    return networks.build(meta, units)


def mlp(**params):
    params = {"max_iter": 30, **params}
    return CostSensitiveMLPClassifier((16,), learning_rate_init=0.01, random_state=0, **params)


def resampled(**params):
    params = {"epochs": 30, **params}
    return ResampledKerasClassifier(build, optimizer__learning_rate=0.01, random_state=0, **params)


@pytest.mark.parametrize("make", [mlp, resampled], ids=["mlp", "resampled"])
def test_fits_an_indicator_matrix_with_mlpclassifiers_conventions(make):
    clf = make().fit(X, Y)
    with pytest.warns(ConvergenceWarning):  # the reference only shows the conventions
        reference = MLPClassifier((16,), max_iter=5, random_state=0).fit(X, Y)
    np.testing.assert_array_equal(clf.classes_, reference.classes_)
    assert clf.n_classes_ == 4
    proba = clf.predict_proba(X[:50])
    assert proba.shape == reference.predict_proba(X[:50]).shape == (50, 4)
    assert np.all((proba > 0) & (proba < 1))
    pred = clf.predict(X[:50])
    assert pred.dtype == reference.predict(X[:50]).dtype
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    # It learnt every label (averaged ROC AUC on the training rows).
    assert roc_auc_score(Y, clf.predict_proba(X), average=None).min() > 0.7


def test_user_compiled_loss_is_weighted_per_entry(monkeypatch):
    def compiled(meta):
        model = build(meta)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    losses = []
    train = imbnet.classifiers._base.train

    def spy(model, *args, **kwargs):
        losses.append(model.loss)
        return train(model, *args, **kwargs)

    monkeypatch.setattr(imbnet.classifiers._base, "train", spy)
    clf = ResampledKerasClassifier(compiled, epochs=2, random_state=0).fit(X, Y)
    # Trained with the user's loss per entry.
    assert isinstance(losses[0], LabelwiseLoss)
    assert losses[0].loss is keras.losses.get("binary_crossentropy")
    assert isinstance(clf.model_.loss, LabelwiseLoss)


def test_save_and_load_without_pickle(tmp_path):
    clf = mlp(max_iter=2, class_weight="balanced", prior_correction=True).fit(X, Y)
    imbnet.save(clf, tmp_path / "multilabel.imbnet")
    loaded = imbnet.load(tmp_path / "multilabel.imbnet")
    np.testing.assert_array_equal(loaded.predict_proba(X[:20]), clf.predict_proba(X[:20]))
    np.testing.assert_array_equal(loaded.training_prior_, clf.training_prior_)
    assert loaded.class_weight_ == clf.class_weight_


def test_labelwise_loss_weighs_each_entry():
    y_true = np.array([[1, 0, 1], [0, 0, 1]], np.float32)
    y_pred = np.array([[0.9, 0.2, 0.6], [0.3, 0.1, 0.7]], np.float32)
    weights = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    entries = -(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))
    loss = LabelwiseLoss("binary_crossentropy")
    assert float(loss(y_true, y_pred, sample_weight=weights)) == pytest.approx(
        (entries * weights).mean(), rel=1e-5
    )
    plain = keras.losses.BinaryCrossentropy()
    assert float(loss(y_true, y_pred)) == pytest.approx(float(plain(y_true, y_pred)), rel=1e-6)


def test_balanced_and_log_class_weights_are_per_label():
    clf = mlp(max_iter=1, class_weight="balanced").fit(X, Y)
    for label, weights in enumerate(clf.class_weight_):
        expected = sklearn_class_weight("balanced", classes=np.array([0, 1]), y=Y[:, label])
        np.testing.assert_allclose([weights[0], weights[1]], expected)
    log = mlp(max_iter=1, class_weight="log").fit(X, Y).class_weight_
    # The rare positives of label 1 weigh most; frequent negatives keep weight 1.
    assert all(weights[0] == 1.0 for weights in log)
    assert log[1][1] == max(weights[1] for weights in log) > 1.0


def test_a_dict_per_label_weighs_that_labels_positives():
    plain = mlp().fit(X, Y).predict_proba(X).mean(axis=0)
    weighted = mlp(class_weight=[{1: 20.0}, None, None, None]).fit(X, Y)
    assert weighted.class_weight_[0] == {0: 1.0, 1: 20.0}
    mean = weighted.predict_proba(X).mean(axis=0)
    assert mean[0] > plain[0] + 0.2
    np.testing.assert_allclose(mean[2:], plain[2:], atol=0.1)


def test_sample_weight_multiplies_the_label_weights():
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(Y))
    clf = mlp(max_iter=1, class_weight=[{1: 5.0}] * 4).fit(X, Y, sample_weight=sample_weight)
    np.testing.assert_allclose(clf.class_prior_, sample_weight @ Y / sample_weight.sum())
    entry = sample_weight[:, None] * np.where(Y == 1, 5.0, 1.0)
    np.testing.assert_allclose(clf.training_prior_, (entry * Y).sum(0) / entry.sum(0), rtol=1e-6)


def test_prior_correction_and_bias_per_label():
    X_tr, X_te, Y_tr, Y_te = train_test_split(X, Y, test_size=0.5, random_state=0)
    clf = mlp(class_weight="balanced").fit(X_tr, Y_tr)
    np.testing.assert_allclose(clf.training_prior_, 0.5, atol=1e-6)
    uncorrected = clf.predict_proba(X_te)
    corrected = clf.set_params(prior_correction=True).predict_proba(X_te)
    brier = np.array(
        [
            [brier_score_loss(Y_te[:, label], p[:, label]) for label in range(4)]
            for p in (uncorrected, corrected)
        ]
    )
    # Averaged over labels better; the rare label (3%, weighted most) much better.
    assert brier[1].mean() < brier[0].mean()
    assert brier[1, 1] < 0.5 * brier[0, 1]
    zeros = mlp(max_iter=1).fit(X_tr, Y_tr)
    prior = mlp(max_iter=1, output_bias_init="prior").fit(X_tr, Y_tr)
    assert prior.loss_curve_[0] < zeros.loss_curve_[0]


def test_focal_loss_and_early_stopping():
    clf = mlp(loss="focal", early_stopping=True, validation_fraction=0.2, max_iter=15).fit(X, Y)
    assert len(clf.history_["val_loss"]) == clf.n_iter_
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize("make", [mlp, resampled], ids=["mlp", "resampled"])
def test_cross_val_roc_auc_averaged_over_labels(make):
    scores = cross_val_score(
        make(max_iter=15) if make is mlp else make(epochs=15), X, Y, scoring="roc_auc", cv=KFold(3)
    )
    assert np.all(np.isfinite(scores)) and scores.mean() > 0.75


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(sampler=RandomUnderSampler()), "sampler is not defined for a multilabel y"),
        (dict(sampler=HardNegativeSampler()), "sampler is not defined for a multilabel y"),
        (dict(batch_ratio=2), "batch_ratio is not defined for a multilabel y"),
        (dict(augment=keras.layers.GaussianNoise(0.1)), "augment is not defined"),
        (dict(class_weight={1: 5}), "list of 4 dicts"),
        (dict(class_weight=[{1: 5}] * 3), "3 entries but y has 4 labels"),
        (dict(class_weight=[{2: 5}] * 4), r"class_weight\[0\].*not classes"),
    ],
)
def test_what_multilabel_targets_refuse(params, message):
    with pytest.raises(ValueError, match=message):
        resampled(epochs=1, **params).fit(X, Y)


def test_model_width_and_target_errors():
    def binary_output(meta):
        return keras.Sequential([keras.Input((6,)), keras.layers.Dense(1, activation="sigmoid")])

    with pytest.raises(ValueError, match="needs 4 sigmoid units"):
        ResampledKerasClassifier(binary_output, epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="not a 0/1 indicator matrix"):
        mlp(max_iter=1).fit(X, np.column_stack([Y[:, 0], 2 * Y[:, 1]]))


def test_model_fit_path_weighs_entries(monkeypatch):
    """The backend-independent path (model.fit) takes per-entry weights too."""
    monkeypatch.setattr("imbnet.engine._loop.keras.backend.backend", lambda: "jax")
    clf = mlp(max_iter=5, class_weight="balanced").fit(X, Y)
    assert clf.n_iter_ == 5 and np.all(np.isfinite(clf.loss_curve_))
    assert roc_auc_score(Y, clf.predict_proba(X)) > 0.7
