"""CostSensitiveMLPClassifier: what a user relies on, with real Keras training."""

import warnings
from inspect import signature

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import recall_score, roc_auc_score
from sklearn.neural_network import MLPClassifier

from imbnet import CostSensitiveMLPClassifier
from imbnet._random import SeedStream
from imbnet.engine import _stopping
from imbnet.weighting._targets import make_target

X, Y = make_classification(
    n_samples=600,
    n_features=4,
    n_informative=3,
    n_redundant=0,
    weights=[0.93],
    flip_y=0,
    class_sep=0.8,
    random_state=1,
)
X3, Y3 = make_classification(
    n_samples=450,
    n_features=5,
    n_informative=4,
    n_redundant=0,
    n_classes=3,
    weights=[0.7, 0.2, 0.1],
    random_state=2,
)
LABELS3 = np.array(["cat", "dog", "emu"])[Y3]


def small(**params):
    defaults = dict(
        hidden_layer_sizes=(8,), max_iter=30, learning_rate_init=0.02, batch_size=32, random_state=0
    )
    return CostSensitiveMLPClassifier(**{**defaults, **params})


def test_seed_tutorial_model_is_expressible_and_weighting_raises_recall():
    tutorial = dict(
        hidden_layer_sizes=(10,),
        kernel_initializer="he_uniform",
        solver="sgd",
        learning_rate_init=0.01,
        momentum=0,
        batch_size=32,
        max_iter=15,
        random_state=3,
    )
    plain = CostSensitiveMLPClassifier(**tutorial).fit(X, Y)
    weighted = CostSensitiveMLPClassifier(**tutorial, class_weight={0: 1, 1: 100}).fit(X, Y)
    layers = [layer for layer in weighted.model_.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in layers] == [10, 1]
    assert isinstance(weighted.model_.optimizer, keras.optimizers.SGD)
    assert recall_score(Y, weighted.predict(X)) > recall_score(Y, plain.predict(X))
    assert roc_auc_score(Y, weighted.predict_proba(X)[:, 1]) > 0.8


def test_balanced_equals_equivalent_sample_weight():
    by_class = small(class_weight="balanced").fit(X, Y)
    counts = np.bincount(Y)
    sample_weight = (len(Y) / (2 * counts))[Y]
    by_sample = small().fit(X, Y, sample_weight=sample_weight)
    np.testing.assert_array_equal(by_class.predict_proba(X), by_sample.predict_proba(X))


def test_sample_weight_multiplies_class_weight_and_is_not_modified():
    sample_weight = np.where(Y == 1, 2.0, 1.0)
    before = sample_weight.copy()
    both = small(class_weight={1: 5}).fit(X, Y, sample_weight=sample_weight)
    np.testing.assert_array_equal(sample_weight, before)
    product = small().fit(X, Y, sample_weight=np.where(Y == 1, 10.0, 1.0))
    np.testing.assert_array_equal(both.predict_proba(X), product.predict_proba(X))
    assert both.class_weight_ == {0: 1.0, 1: 5.0}


def test_multiclass_string_labels_proba_in_classes_order():
    clf = small(max_iter=40).fit(X3, LABELS3)
    assert clf.classes_.tolist() == ["cat", "dog", "emu"]
    proba = clf.predict_proba(X3)
    assert proba.shape == (len(X3), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    predicted = clf.predict(X3)
    assert predicted.dtype == LABELS3.dtype
    np.testing.assert_array_equal(predicted, clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X3, LABELS3) > 0.7


@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_focal_loss_trains(data):
    X_, y_ = (X, Y) if data == "binary" else (X3, Y3)
    clf = small(loss="focal", focal_gamma=2.0, class_weight="balanced", max_iter=40).fit(X_, y_)
    expected = "BinaryFocalCrossentropy" if data == "binary" else "CategoricalFocalCrossentropy"
    assert type(clf.model_.loss).__name__ == expected
    proba = clf.predict_proba(X_)
    score = roc_auc_score(y_, proba[:, 1] if data == "binary" else proba, multi_class="ovr")
    assert score > 0.85


def holdout(y, fraction, rng):
    target, y_encoded = make_target(y)
    return target.holdout(y_encoded, fraction, rng)


def test_stratified_holdout_keeps_every_class_in_validation():
    y = np.array([0] * 200 + [1] * 3)
    train, valid = holdout(y, 0.1, np.random.default_rng(0))
    assert set(y[valid]) == {0, 1} and set(y[train]) == {0, 1}
    assert len(np.intersect1d(train, valid)) == 0 and len(train) + len(valid) == len(y)
    with pytest.raises(ValueError, match="at least 2 samples of every class"):
        holdout(np.array([0, 0, 0, 1]), 0.1, np.random.default_rng(0))


def test_early_stopping_monitors_validation_and_restores_best_weights():
    clf = small(early_stopping=True, n_iter_no_change=3, max_iter=300, learning_rate_init=0.05)
    clf.fit(X, Y)
    assert clf.n_iter_ < 300 and len(clf.history_["val_loss"]) == clf.n_iter_
    seeds = SeedStream(0)
    _, valid = holdout(Y, 0.1, seeds.rng("validation"))
    targets = Y[valid].reshape(-1, 1).astype("float32")
    loss = clf.model_.evaluate(X[valid].astype("float32"), targets, verbose=0)
    assert loss == pytest.approx(min(clf.history_["val_loss"]), rel=1e-4)


def test_stops_on_tol_after_as_many_epochs_as_sklearn():
    params = dict(
        hidden_layer_sizes=(8,), tol=10.0, n_iter_no_change=3, max_iter=50, random_state=0
    )
    ours = CostSensitiveMLPClassifier(**params).fit(X, Y)
    theirs = MLPClassifier(**params).fit(X, Y)
    assert ours.n_iter_ == theirs.n_iter_ == 5
    assert len(ours.loss_curve_) == 5


def test_verbose_prints_one_line_per_epoch(capsys):
    small(max_iter=3, verbose=True).fit(X, Y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Iteration")]
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2", "Iteration 3"]


def test_pandas_feature_names_are_kept():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = small(max_iter=2).fit(frame, Y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(clf.predict_proba(frame), clf.predict_proba(X))


def test_dropout_is_a_layer_of_the_network():
    clf = small(dropout=0.3).fit(X, Y)
    assert any(isinstance(layer, keras.layers.Dropout) for layer in clf.model_.layers)


def _frozen_fit(X_, y_, sample_weight=None, **params):
    """One epoch at a learning rate too small to move the weights: the epoch loss
    is then a function of the initial weights only."""
    return small(
        solver="sgd", momentum=0.0, learning_rate_init=1e-12, max_iter=1, batch_size=200, **params
    ).fit(X_, y_, sample_weight=sample_weight)


@pytest.mark.parametrize("weighted", [False, True])
def test_epoch_loss_is_the_weighted_mean_over_rows_plus_sklearns_l2(weighted):
    """224 rows in batches of 200: a partial last batch of 24 rows. The epoch loss
    is sum(w * loss) / sum(w) over all rows (scikit-learn's quantity), not the
    mean of the two batch losses; alpha adds 0.5 * alpha * ||W||^2 / batch_size."""
    X_, y_ = X[:224], Y[:224]
    sample_weight = np.where(y_ == 1, 12.0, 0.5) if weighted else None
    alpha = 0.3
    clf = _frozen_fit(X_, y_, sample_weight, alpha=alpha)
    p = clf.predict_proba(X_)[:, 1].astype(np.float64)
    row_loss = -(y_ * np.log(p) + (1 - y_) * np.log(1 - p))
    w = np.ones(len(y_)) if sample_weight is None else sample_weight
    kernels = [
        layer.kernel.numpy() for layer in clf.model_.layers if isinstance(layer, keras.layers.Dense)
    ]
    l2 = 0.5 * alpha * sum(float((k.astype(np.float64) ** 2).sum()) for k in kernels) / 200
    assert clf.loss_curve_[0] == pytest.approx(np.average(row_loss, weights=w) + l2, rel=1e-4)


def test_stopping_rule_is_sklearns():
    """The same losses stop the same epoch as scikit-learn's own rule, which also
    lowers the best loss by less than tol and counts n_iter_no_change + 1 epochs."""
    losses = [1.0, 0.9, 0.8999, 0.89985, 0.8998, 0.8997, 0.8996, 0.5, 0.4999, 0.4999, 0.4999]
    reference = MLPClassifier(tol=1e-3, n_iter_no_change=2, early_stopping=False)
    reference.best_loss_, reference._no_improvement_count, reference.loss_curve_ = np.inf, 0, []
    state, ours, theirs = _stopping.initial_state(), None, None
    for epoch, loss in enumerate(losses, start=1):
        reference.loss_curve_.append(loss)
        # scikit-learn >= 1.7 passes the validation sample_weight too.
        extra = (
            [None]
            if "sample_weight" in signature(reference._update_no_improvement_count).parameters
            else []
        )
        reference._update_no_improvement_count(False, None, None, *extra)
        if theirs is None and reference._no_improvement_count > 2:
            theirs = epoch
        state, _, stop = _stopping.update(state, loss, tol=1e-3, n_iter_no_change=2)
        if ours is None and stop:
            ours = epoch
    assert ours == theirs == 5


def test_model_fit_path_for_other_backends(monkeypatch):
    """The backend-independent path (model.fit on a redrawn PyDataset) trains too."""
    monkeypatch.setattr("imbnet.engine._loop.keras.backend.backend", lambda: "jax")
    clf = small(max_iter=10, class_weight="balanced").fit(X, Y)
    assert len(clf.loss_curve_) == 10
    assert roc_auc_score(Y, clf.predict_proba(X)[:, 1]) > 0.85


def test_convergence_warning_when_max_iter_ends_training_as_sklearn():
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        small(max_iter=3).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = small(max_iter=50, tol=10.0, n_iter_no_change=2).fit(X, Y)  # tol stops it
    assert clf.n_iter_ == 4  # 1 improving epoch, then n_iter_no_change + 1 that are not


def test_constant_kernel_initializer_takes_no_seed():
    # "zeros" has no seed argument: every unit starts equal, so the hidden units stay equal.
    clf = small(kernel_initializer="zeros", max_iter=2)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, Y)
    kernel = keras.ops.convert_to_numpy(clf.model_.layers[0].kernel)
    np.testing.assert_allclose(kernel, kernel[:, :1].repeat(kernel.shape[1], axis=1))
