"""Long-tail losses (logit-adjusted, balanced softmax, LDAM), effective-number class
weights and deferred re-weighting: the papers' formulas on hand-computed values,
and what a network trained with them predicts."""

import keras
import numpy as np
import pytest
from _networks import build
from imblearn.over_sampling import RandomOverSampler
from scipy.special import logsumexp
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.metrics import balanced_accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

import imbnet
from imbnet import (
    BalancedSoftmaxLoss,
    CostSensitiveMLPClassifier,
    LDAMLoss,
    LogitAdjustedLoss,
    ResampledKerasClassifier,
    compute_class_weight,
    compute_label_weight,
)
from imbnet.engine._loop import Epoch
from imbnet.sampling._epochs import DeferredReweighting
from imbnet.weighting._losses import LabelwiseLoss, make_loss
from imbnet.weighting._priors import PriorTally

# ---------------------------------------------------------------- small arrays
RNG = np.random.default_rng(0)
# Multiclass: softmax probabilities, one-hot targets, a skewed prior.
P3 = RNG.dirichlet(np.ones(3), size=6).astype(np.float32)
Y3 = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
PRIOR3 = np.array([0.7, 0.2, 0.1])
# Binary: one sigmoid unit.
P1 = RNG.uniform(0.05, 0.95, size=(6, 1)).astype(np.float32)
Y1 = np.array([[0], [1], [0], [1], [1], [0]], dtype=np.float32)
PRIOR2 = np.array([0.8, 0.2])
# Multilabel: one sigmoid unit per label, the positive rate of each label.
PL = RNG.uniform(0.05, 0.95, size=(6, 3)).astype(np.float32)
YL = RNG.integers(0, 2, size=(6, 3)).astype(np.float32)
RATES = np.array([0.1, 0.5, 0.8])


def values(loss, y_true, y_pred):
    """Per-row (per-entry for multilabel) loss values."""
    return keras.ops.convert_to_numpy(
        loss.call(keras.ops.convert_to_tensor(y_true), keras.ops.convert_to_tensor(y_pred))
    )


def log_softmax(a):
    return a - logsumexp(a, axis=-1, keepdims=True)


def two_class_logits(p):
    """The two-class softmax logits (0, z) of sigmoid probabilities p, z = log(p/(1-p))."""
    p = np.asarray(p, dtype=np.float64)
    return np.stack([np.zeros_like(p), np.log(p) - np.log1p(-p)], axis=-1)


def cross_entropy(logits, y):
    """-log softmax(logits)[y] for integer (or 0/1) targets y along the last axis."""
    y = np.asarray(y).astype(int)
    return -np.take_along_axis(log_softmax(logits), y[..., None], axis=-1)[..., 0]


def binary_priors(rates):
    return np.stack([1 - rates, rates], axis=-1)  # (n_labels, 2): π_0, π_1 of each label


def ldam_margins(prior, max_margin):
    """Cao et al.: Δ_c = C / n_c^(1/4), C such that the largest margin is max_margin."""
    n = np.asarray(prior) * 1000.0  # class counts up to a factor; Δ does not depend on it
    C = max_margin * n.min(axis=-1, keepdims=True) ** 0.25
    return C / n**0.25


# ------------------------------------------------------- logit-adjusted loss
def test_logit_adjusted_softmax_matches_hand_computed():
    expected = cross_entropy(np.log(P3) + 0.7 * np.log(PRIOR3), Y3.argmax(1))
    loss = LogitAdjustedLoss(PRIOR3, tau=0.7)
    np.testing.assert_allclose(values(loss, Y3, P3), expected, rtol=1e-5)
    assert float(loss(Y3, P3)) == pytest.approx(expected.mean(), rel=1e-5)


def test_logit_adjusted_binary_is_the_two_class_softmax():
    # Two-class softmax with logits (0, z), each shifted by τ log π_c.
    expected = cross_entropy(two_class_logits(P1[:, 0]) + 0.7 * np.log(PRIOR2), Y1[:, 0])
    loss = LogitAdjustedLoss(PRIOR2, tau=0.7, output="sigmoid")
    np.testing.assert_allclose(values(loss, Y1, P1), expected, rtol=1e-5)


def test_logit_adjusted_multilabel_is_the_binary_form_per_label():
    expected = cross_entropy(two_class_logits(PL) + 0.7 * np.log(binary_priors(RATES)), YL)
    loss = LogitAdjustedLoss(RATES, tau=0.7, output="multilabel")
    np.testing.assert_allclose(values(loss, YL, PL), expected, rtol=1e-5)


def test_logit_adjusted_at_tau_zero_is_plain_cross_entropy():
    la = LogitAdjustedLoss(PRIOR3, tau=0.0)
    np.testing.assert_allclose(
        float(la(Y3, P3)), float(keras.losses.CategoricalCrossentropy()(Y3, P3)), rtol=1e-6
    )
    binary = LogitAdjustedLoss(PRIOR2, tau=0.0, output="sigmoid")
    np.testing.assert_allclose(
        float(binary(Y1, P1)), float(keras.losses.BinaryCrossentropy()(Y1, P1)), rtol=1e-6
    )
    labelwise = make_loss(
        "logit_adjusted", n_outputs=3, multilabel=True, class_prior=RATES, logit_tau=0.0
    )
    np.testing.assert_allclose(
        float(labelwise(YL, PL)), float(LabelwiseLoss("binary_crossentropy")(YL, PL)), rtol=1e-6
    )


# ----------------------------------------------------------- balanced softmax
def test_balanced_softmax_matches_ren_et_al():
    # n_c exp(z_c) / Σ_j n_j exp(z_j) with class counts n, and z = log p.
    counts = np.array([70.0, 20.0, 10.0])
    weighted = counts * P3
    expected = -np.log((weighted / weighted.sum(axis=1, keepdims=True))[Y3.astype(bool)])
    np.testing.assert_allclose(values(BalancedSoftmaxLoss(counts), Y3, P3), expected, rtol=1e-5)


@pytest.mark.parametrize(
    "prior, output, y_true, y_pred",
    [(PRIOR3, "softmax", Y3, P3), (PRIOR2, "sigmoid", Y1, P1), (RATES, "multilabel", YL, PL)],
)
def test_balanced_softmax_is_exactly_logit_adjusted_at_tau_one(prior, output, y_true, y_pred):
    # On probability outputs the two are one computation: equal to the last bit.
    np.testing.assert_array_equal(
        values(BalancedSoftmaxLoss(prior, output=output), y_true, y_pred),
        values(LogitAdjustedLoss(prior, tau=1.0, output=output), y_true, y_pred),
    )


# ------------------------------------------------------------------------ LDAM
def test_ldam_margins_follow_n_to_the_minus_one_quarter():
    loss = LDAMLoss(PRIOR3, max_margin=0.5)
    np.testing.assert_allclose(loss.margins, ldam_margins(PRIOR3, 0.5), rtol=1e-12)
    assert loss.margins.max() == pytest.approx(0.5)
    assert np.argmax(loss.margins) == np.argmin(PRIOR3)  # the rarest class, the widest margin


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_ldam_softmax_matches_hand_computed(scale):
    margins = ldam_margins(PRIOR3, 0.4)
    expected = cross_entropy(scale * (np.log(P3) - Y3 * margins), Y3.argmax(1))
    loss = LDAMLoss(PRIOR3, max_margin=0.4, scale=scale)
    np.testing.assert_allclose(values(loss, Y3, P3), expected, rtol=1e-5)


def test_ldam_binary_is_the_two_class_softmax_with_the_true_class_margin():
    margins = ldam_margins(PRIOR2, 0.4)
    onehot = np.eye(2)[Y1[:, 0].astype(int)]
    expected = cross_entropy(two_class_logits(P1[:, 0]) - onehot * margins, Y1[:, 0])
    loss = LDAMLoss(PRIOR2, max_margin=0.4, output="sigmoid")
    np.testing.assert_allclose(values(loss, Y1, P1), expected, rtol=1e-5)


def test_ldam_multilabel_is_the_binary_form_per_label():
    margins = ldam_margins(binary_priors(RATES), 0.4)  # (n_labels, 2)
    onehot = np.eye(2)[YL.astype(int)]  # (rows, labels, 2)
    expected = cross_entropy(two_class_logits(PL) - onehot * margins, YL)
    loss = LDAMLoss(RATES, max_margin=0.4, output="multilabel")
    np.testing.assert_allclose(values(loss, YL, PL), expected, rtol=1e-5)


def test_ldam_without_margin_is_plain_cross_entropy():
    np.testing.assert_allclose(
        float(LDAMLoss(PRIOR3, max_margin=0.0)(Y3, P3)),
        float(keras.losses.CategoricalCrossentropy()(Y3, P3)),
        rtol=1e-6,
    )


# ------------------------------------------------------ all three, numerically
LOSS_CASES = [
    (loss, prior, output)
    for loss in (LogitAdjustedLoss, BalancedSoftmaxLoss, LDAMLoss)
    for prior, output in ((PRIOR3, "softmax"), (PRIOR2, "sigmoid"), (RATES, "multilabel"))
]
LOSS_IDS = [f"{loss.__name__}-{output}" for loss, _, output in LOSS_CASES]


def _logits_and_targets(output):
    z = np.array([[40.0, -40.0, 0.5], [-30.0, 0.0, 30.0], [0.3, -0.2, 0.1]], np.float32)
    if output == "softmax":
        return z, np.eye(3, dtype=np.float32)[[1, 0, 2]]
    if output == "sigmoid":
        return z[:, :1], np.array([[0.0], [1.0], [1.0]], np.float32)
    return z, np.array([[0, 1, 1], [1, 0, 0], [1, 1, 0]], np.float32)


def _activate(z, output):
    z = keras.ops.convert_to_tensor(z)
    return keras.ops.softmax(z) if output == "softmax" else keras.ops.sigmoid(z)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="uses tf.GradientTape")
@pytest.mark.parametrize("loss_class, prior, output", LOSS_CASES, ids=LOSS_IDS)
def test_gradients_are_finite_even_for_saturated_outputs(loss_class, prior, output):
    import tensorflow as tf

    loss = loss_class(prior, output=output)
    z_values, y_true = _logits_and_targets(output)
    # Through the activation (as in training), and from probabilities of exactly 0 and 1.
    z = tf.Variable(z_values)
    with tf.GradientTape() as tape:
        value = loss(y_true, _activate(z, output))
    assert np.isfinite(float(value))
    assert np.all(np.isfinite(tape.gradient(value, z).numpy()))
    p = tf.Variable(np.round(keras.ops.convert_to_numpy(_activate(z_values, output))))
    with tf.GradientTape() as tape:
        value = loss(y_true, p)
    assert np.isfinite(float(value))
    assert np.all(np.isfinite(tape.gradient(value, p).numpy()))


@pytest.mark.parametrize("loss_class, prior, output", LOSS_CASES, ids=LOSS_IDS)
def test_loss_from_the_activation_equals_the_loss_from_its_probabilities(loss_class, prior, output):
    # Training reads the logits the activation keeps; a plain probability array
    # goes through log p - log(1 - p) (or log p): the same loss.
    loss = loss_class(prior, output=output)
    z, y_true = _logits_and_targets(output)
    z = z / 10.0  # unsaturated, so that clipping plays no part
    activated = _activate(z, output)
    probabilities = keras.ops.convert_to_numpy(activated)
    np.testing.assert_allclose(
        values(loss, y_true, activated), values(loss, y_true, probabilities), rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize("loss_class, prior, output", LOSS_CASES, ids=LOSS_IDS)
def test_loss_config_holds_the_prior_as_floats_and_round_trips(loss_class, prior, output):
    loss = loss_class(prior, output=output)
    config = keras.losses.serialize(loss)
    assert all(type(p) is float for p in config["config"]["class_prior"])
    restored = keras.losses.deserialize(config)
    assert type(restored) is loss_class
    y_true, y_pred = {"softmax": (Y3, P3), "sigmoid": (Y1, P1), "multilabel": (YL, PL)}[output]
    np.testing.assert_array_equal(values(restored, y_true, y_pred), values(loss, y_true, y_pred))


def test_make_loss_needs_a_prior_of_the_output_width():
    with pytest.raises(ValueError, match="class_prior"):
        make_loss("ldam", n_outputs=3)
    with pytest.raises(ValueError, match="needs 2 values"):
        make_loss("logit_adjusted", n_outputs=1, class_prior=[0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="needs 4 values"):
        make_loss("balanced_softmax", n_outputs=4, class_prior=PRIOR3)
    with pytest.raises(ValueError, match="positive rate"):
        make_loss("ldam", n_outputs=2, multilabel=True, class_prior=[0.5, 3.0])
    with pytest.raises(ValueError, match="non-negative"):
        LogitAdjustedLoss([0.5, -0.5])


# ----------------------------------------------------- effective-number weights
def test_effective_weights_follow_cui_et_al():
    y = np.array([0] * 50 + [1] * 30 + [2] * 5)
    beta = 0.99
    raw = np.array([(1 - beta) / (1 - beta**n) for n in (50, 30, 5)])
    expected = raw * 3 / raw.sum()  # normalised to sum to the number of classes
    weights = compute_class_weight("effective", classes=[0, 1, 2], y=y, beta=beta)
    np.testing.assert_allclose(list(weights.values()), expected, rtol=1e-12)
    assert sum(weights.values()) == pytest.approx(3.0)


def test_effective_weights_range_from_uniform_to_inverse_frequency():
    y = np.array([0] * 50 + [1] * 30 + [2] * 5)
    uniform = compute_class_weight("effective", classes=[0, 1, 2], y=y, beta=0.0)
    assert list(uniform.values()) == [1.0, 1.0, 1.0]
    near_one = compute_class_weight("effective", classes=[0, 1, 2], y=y, beta=1 - 1e-9)
    balanced = compute_class_weight("balanced", classes=[0, 1, 2], y=y)
    ratio = np.array(list(near_one.values())) / np.array(list(balanced.values()))
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)


def test_effective_weights_per_label():
    Y = np.array([[1, 0]] * 3 + [[0, 0]] * 12 + [[0, 1]] * 5)
    weights = compute_label_weight("effective", Y=Y, beta=0.9)
    for position, label_weight in enumerate(weights):
        counts = np.bincount(Y[:, position], minlength=2)
        raw = (1 - 0.9) / (1 - 0.9**counts)
        np.testing.assert_allclose([label_weight[0], label_weight[1]], raw * 2 / raw.sum())


@pytest.mark.parametrize("beta", [1.0, -0.1, 1.5])
def test_effective_beta_outside_zero_one_is_refused(beta):
    with pytest.raises(ValueError, match="class_weight_beta"):
        compute_class_weight("effective", classes=[0, 1], y=np.array([0, 0, 1]), beta=beta)
    clf = CostSensitiveMLPClassifier(class_weight="effective", class_weight_beta=beta)
    with pytest.raises(ValueError, match="class_weight_beta"):
        clf.fit(np.zeros((4, 2)), [0, 0, 1, 1])


# ------------------------------------------------------------ training data
X, Y = make_classification(
    n_samples=2000,
    n_features=4,
    n_informative=3,
    n_redundant=0,
    weights=[0.95],
    flip_y=0.02,
    random_state=0,
)
X_TRAIN, X_TEST, Y_TRAIN, Y_TEST = train_test_split(X, Y, stratify=Y, test_size=0.5, random_state=0)
X3, Y3_LABELS = make_classification(
    n_samples=1500,
    n_features=6,
    n_informative=4,
    n_classes=3,
    n_clusters_per_class=1,
    weights=[0.85, 0.12],
    flip_y=0.02,
    random_state=1,
)
X3_TRAIN, X3_TEST, Y3_TRAIN, Y3_TEST = train_test_split(
    X3, Y3_LABELS, stratify=Y3_LABELS, test_size=0.5, random_state=0
)
XM, YM = make_multilabel_classification(
    n_samples=600, n_features=6, n_classes=3, n_labels=1, random_state=0
)
XM_TRAIN, XM_TEST, YM_TRAIN, YM_TEST = XM[:400], XM[400:], YM[:400], YM[400:]
DATA = {
    "binary": (X_TRAIN, Y_TRAIN, X_TEST, Y_TEST),
    "multiclass": (X3_TRAIN, Y3_TRAIN, X3_TEST, Y3_TEST),
    "multilabel": (XM_TRAIN, YM_TRAIN, XM_TEST, YM_TEST),
}
NEW_LOSSES = ("logit_adjusted", "balanced_softmax", "ldam")


def multilabel_build(meta, units=8):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="sigmoid"),
        ]
    )


def mlp(**params):
    params = {"max_iter": 20, "learning_rate_init": 0.01, **params}
    return CostSensitiveMLPClassifier((8,), random_state=0, **params)


def resampled(kind="binary", **params):
    network = multilabel_build if kind == "multilabel" else build
    params = {"epochs": 20, "optimizer__learning_rate": 0.01, **params}
    return ResampledKerasClassifier(network, random_state=0, **params)


def auc(y_test, proba):
    if proba.shape[1] == 2:
        return roc_auc_score(y_test, proba[:, 1])
    if y_test.ndim == 2:
        return roc_auc_score(y_test, proba, average="macro")
    return roc_auc_score(y_test, proba, multi_class="ovr")


# ------------------------------------------------------- training with them
@pytest.mark.parametrize("estimator", ["mlp", "resampled"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("loss", NEW_LOSSES)
def test_each_loss_trains_a_network_through_both_estimators(loss, kind, estimator):
    X_train, y_train, X_test, y_test = DATA[kind]
    clf = mlp(loss=loss) if estimator == "mlp" else resampled(kind, loss=loss)
    clf.fit(X_train, y_train)
    assert np.all(np.isfinite(clf.loss_curve_))
    assert clf.loss_curve_[-1] < 0.8 * clf.loss_curve_[0]
    assert auc(y_test, clf.predict_proba(X_test)) > 0.8


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
@pytest.mark.parametrize("estimator", ["mlp", "resampled"])
def test_logit_adjustment_raises_balanced_accuracy_over_cross_entropy(kind, estimator):
    X_train, y_train, X_test, y_test = DATA[kind]
    make = mlp if estimator == "mlp" else lambda **p: resampled(kind, **p)
    plain = make().fit(X_train, y_train)
    adjusted = make(loss="logit_adjusted").fit(X_train, y_train)
    plain_score = balanced_accuracy_score(y_test, plain.predict(X_test))
    assert balanced_accuracy_score(y_test, adjusted.predict(X_test)) > plain_score + 0.05


# ------------------------------------------- training_prior_ and prior correction
@pytest.mark.parametrize("loss", ["logit_adjusted", "balanced_softmax"])
@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_prior_correction_of_a_logit_adjusted_network_gives_the_base_rates(loss, kind):
    X_train, y_train, X_test, y_test = DATA[kind]
    clf = mlp(loss=loss).fit(X_train, y_train)
    # predict_proba is the balanced posterior: the network trained under a uniform prior.
    n_classes = clf.n_classes_
    np.testing.assert_allclose(clf.training_prior_, np.full(n_classes, 1 / n_classes), rtol=1e-6)
    uncorrected = clf.set_params(prior_correction=False).predict_proba(X_test)
    corrected = clf.set_params(prior_correction=True).predict_proba(X_test)
    base_rates = np.bincount(y_test) / len(y_test)
    # Corrected: the mean predicted probability of each class is its held-out rate.
    np.testing.assert_allclose(corrected.mean(axis=0), base_rates, atol=0.02)
    assert uncorrected[:, -1].mean() > 2 * base_rates[-1]
    assert log_loss(y_test, corrected) < 0.6 * log_loss(y_test, uncorrected)


def test_prior_correction_of_logit_adjusted_multilabel_gives_the_label_rates():
    clf = mlp(loss="logit_adjusted", max_iter=60).fit(XM_TRAIN, YM_TRAIN)
    np.testing.assert_allclose(clf.training_prior_, 0.5, rtol=1e-6)
    # Fitted, the adjusted loss puts the mean corrected probability of each label at its
    # training rate (its gradient in the output bias is the sum of residuals); this
    # small test split's rates differ from the training ones by more than that.
    rates = YM_TRAIN.mean(axis=0)
    uncorrected = clf.set_params(prior_correction=False).predict_proba(XM_TRAIN)
    corrected = clf.set_params(prior_correction=True).predict_proba(XM_TRAIN)
    np.testing.assert_allclose(corrected.mean(axis=0), rates, atol=0.02)
    assert np.all(uncorrected.mean(axis=0) > rates + 0.05)


def test_training_prior_of_logit_adjustment_follows_tau_and_class_weights():
    prior = np.bincount(Y_TRAIN) / len(Y_TRAIN)
    half = mlp(loss="logit_adjusted", logit_tau=0.5, max_iter=2).fit(X_TRAIN, Y_TRAIN)
    expected = np.sqrt(prior) / np.sqrt(prior).sum()
    np.testing.assert_allclose(half.training_prior_, expected, rtol=1e-6)
    # "balanced" weights feed a uniform mix; the adjustment shifts it to ∝ 1/π (corrected twice).
    both = mlp(loss="logit_adjusted", class_weight="balanced", max_iter=2).fit(X_TRAIN, Y_TRAIN)
    np.testing.assert_allclose(both.training_prior_, (1 / prior) / (1 / prior).sum(), rtol=1e-5)


def test_ldam_training_prior_is_the_class_mix_fed():
    clf = mlp(loss="ldam", class_weight={0: 1.0, 1: 10.0}, max_iter=2).fit(X_TRAIN, Y_TRAIN)
    mass = np.bincount(Y_TRAIN) * np.array([1.0, 10.0])
    np.testing.assert_allclose(clf.training_prior_, mass / mass.sum(), rtol=1e-6)


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_output_bias_starts_at_the_prior_the_adjusted_loss_is_minimal_at(kind):
    X_train, y_train, _, _ = DATA[kind]
    # A vanishing learning rate leaves the initial bias as it was set.
    still = {"max_iter": 1, "learning_rate_init": 1e-12, "output_bias_init": "prior"}
    adjusted = mlp(loss="logit_adjusted", **still).fit(X_train, y_train)
    plain = mlp(**still).fit(X_train, y_train)
    bias = keras.ops.convert_to_numpy(adjusted.model_.layers[-1].bias)
    # The balanced posterior: log-odds 0, or equal softmax biases.
    np.testing.assert_allclose(bias - bias.mean(), 0.0, atol=1e-5)
    plain_bias = keras.ops.convert_to_numpy(plain.model_.layers[-1].bias)
    prior = np.bincount(y_train) / len(y_train)
    expected = [np.log(prior[1] / prior[0])] if kind == "binary" else np.log(prior)
    np.testing.assert_allclose(plain_bias, expected, rtol=1e-5)


# ------------------------------------------------------- deferred re-weighting
def test_deferring_drops_class_weights_before_the_switch_only():
    y = np.array([0, 1, 1, 0], dtype=np.float32).reshape(-1, 1)
    sample_weight = np.array([1.0, 2.0, 0.5, 3.0])
    class_weight = np.array([1.0, 4.0])
    w = (class_weight[y[:, 0].astype(int)] * sample_weight).astype(np.float32)

    class Source:
        redraws, tally = False, PriorTally(n_classes=2, multilabel=False)

        def __call__(self, epoch):
            return Epoch(None, y, w, np.arange(4))

    source = DeferredReweighting(
        Source(), 2, lambda targets: class_weight[targets[:, 0].astype(int)], "column"
    )
    for epoch in (0, 1):
        np.testing.assert_allclose(source(epoch).w, sample_weight, rtol=1e-7)
    for epoch in (2, 3):
        np.testing.assert_array_equal(source(epoch).w, w)


@pytest.mark.parametrize("estimator", ["mlp", "resampled+sampler"])
def test_class_weights_switch_on_at_the_deferred_epoch(estimator):
    settings = {"class_weight": {0: 1.0, 1: 30.0}, "deferred_reweighting": 0.5}
    if estimator == "mlp":
        clf = mlp(max_iter=6, **settings)
    else:
        clf = resampled(epochs=6, sampler=RandomOverSampler(sampling_strategy=0.2), **settings)
    clf.fit(X_TRAIN, Y_TRAIN)
    curve = clf.loss_curve_
    # Epochs 0-2 unweighted, a falling loss; from epoch 3 (0.5 * 6) the rare class weighs 30.
    assert curve[2] < curve[0]
    # The epoch loss is the weighted mean: weight 30 on the rare class, whose rows
    # the network gets most wrong, lifts it (without the switch it keeps falling).
    assert curve[3] > 1.3 * curve[2]
    # The network ends fitted to the weighted epochs: training_prior_ is their mix.
    assert clf.training_prior_[1] > 0.5


def test_deferred_reweighting_after_the_last_epoch_trains_unweighted():
    deferred = mlp(max_iter=5, class_weight="balanced", deferred_reweighting=50)
    deferred.fit(X_TRAIN, Y_TRAIN)
    unweighted = mlp(max_iter=5).fit(X_TRAIN, Y_TRAIN)
    np.testing.assert_allclose(
        deferred.predict_proba(X_TEST), unweighted.predict_proba(X_TEST), rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(deferred.training_prior_, deferred.class_prior_, rtol=1e-6)


def test_deferred_reweighting_at_epoch_zero_is_plain_class_weighting():
    deferred = mlp(max_iter=3, class_weight="balanced", deferred_reweighting=0)
    deferred.fit(X_TRAIN, Y_TRAIN)
    weighted = mlp(max_iter=3, class_weight="balanced").fit(X_TRAIN, Y_TRAIN)
    np.testing.assert_array_equal(deferred.predict_proba(X_TEST), weighted.predict_proba(X_TEST))


def test_early_stopping_counts_from_the_switch():
    # The weighted loss jumps at the switch; early stopping on the training loss
    # (patience 2) must not read that as a stall and stop training.
    clf = mlp(
        max_iter=14,
        n_iter_no_change=1,
        tol=0.0,
        class_weight={0: 1.0, 1: 30.0},
        deferred_reweighting=4,
    ).fit(X_TRAIN, Y_TRAIN)
    assert clf.loss_curve_[4] > clf.loss_curve_[3]
    assert clf.n_iter_ > 4 + 2


def test_deferred_reweighting_without_class_weight_is_refused():
    with pytest.raises(ValueError, match="class_weight=None"):
        mlp(deferred_reweighting=0.8).fit(X_TRAIN, Y_TRAIN)


@pytest.mark.parametrize("value", [1.0, 1.5, -1, "late"])
def test_deferred_reweighting_must_be_an_epoch_or_a_fraction(value):
    with pytest.raises(ValueError, match="deferred_reweighting"):
        mlp(class_weight="balanced", deferred_reweighting=value).fit(X_TRAIN, Y_TRAIN)


# ------------------------------------------------------------------ persistence
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("loss", NEW_LOSSES)
def test_save_and_load_round_trip_with_each_loss(loss, kind, tmp_path):
    X_train, y_train, X_test, _ = DATA[kind]
    clf = mlp(loss=loss, max_iter=2).fit(X_train, y_train)
    path = tmp_path / "model.imbnet"
    imbnet.save(clf, path)
    loaded = imbnet.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))
    np.testing.assert_array_equal(loaded.training_prior_, clf.training_prior_)
    # The compiled model itself, in Keras's format and safe mode, keeps its loss.
    clf.model_.save(tmp_path / "model.keras")
    model = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert keras.losses.serialize(model.loss) == keras.losses.serialize(clf.model_.loss)


# ------------------------------------- the prior as data of the compiled program
@pytest.mark.parametrize(
    "make",
    [
        lambda prior, output: LogitAdjustedLoss(prior, tau=0.7, output=output),
        lambda prior, output: BalancedSoftmaxLoss(prior, output=output),
        lambda prior, output: LDAMLoss(prior, max_margin=0.4, scale=2.0, output=output),
    ],
    ids=["logit_adjusted", "balanced_softmax", "ldam"],
)
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "multilabel"])
def test_a_program_copy_of_a_loss_computes_any_prior_it_is_given(make, output):
    """for_program's copy reads its adjustments from variables: given another loss's
    program_values, it computes that loss's values."""
    first, other, y_true, y_pred = {
        "softmax": (PRIOR3, [0.2, 0.3, 0.5], Y3, P3),
        "sigmoid": (PRIOR2, [0.6, 0.4], Y1, P1),
        "multilabel": (RATES, [0.3, 0.2, 0.6], YL, PL),
    }[output]
    loss, target = make(first, output), make(other, output)
    copy = loss.for_program()
    np.testing.assert_allclose(values(copy, y_true, y_pred), values(loss, y_true, y_pred))
    copy.set_program_values(target.program_values())
    np.testing.assert_allclose(
        values(copy, y_true, y_pred), values(target, y_true, y_pred), rtol=1e-6
    )
    wrapped = LabelwiseLoss(loss).for_program()
    wrapped.set_program_values(LabelwiseLoss(target).program_values())
    if output == "multilabel":
        np.testing.assert_allclose(
            values(wrapped, y_true, y_pred), values(target, y_true, y_pred), rtol=1e-6
        )


@pytest.mark.parametrize(
    "params",
    [
        dict(loss="logit_adjusted"),
        dict(loss="balanced_softmax"),
        dict(loss="ldam", class_weight="effective", deferred_reweighting=2),
    ],
    ids=["logit_adjusted", "balanced_softmax", "ldam_drw"],
)
def test_new_class_mixes_and_widths_share_one_program_and_train_as_alone(params, caplog):
    """Data sets of other widths and class proportions run on the compiled program of the
    first (the prior, margins and DRW switch are data it reads: one trace, no retracing
    warning), and each trains exactly as it does on a program of its own."""
    from imbnet.engine import _program_cache

    shapes = ((150, 5, 0.6), (180, 7, 0.8), (210, 11, 0.9))
    sets = [
        make_classification(
            n_samples=n,
            n_features=d,
            n_informative=3,
            n_redundant=0,
            n_classes=3,
            weights=[w, (1 - w) * 0.7],
            random_state=n,
        )
        for n, d, w in shapes
    ]
    options = dict(hidden_layer_sizes=(5,), max_iter=4, tol=0, random_state=0, **params)
    alone = []
    for X_set, y_set in sets:
        _program_cache._clear()
        alone.append(CostSensitiveMLPClassifier(**options).fit(X_set, y_set))
    _program_cache._clear()
    shared = []
    caplog.clear()  # the fits alone, each on a new program, may warn of retracing
    with caplog.at_level("WARNING"):
        for X_set, y_set in sets:
            shared.append(CostSensitiveMLPClassifier(**options).fit(X_set, y_set))
        _program_cache.wait_for_background_compiles()
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
    programs = list(_program_cache._cache.values())
    assert all(program.tracing_count() <= 2 for program in programs)
    # the 16-input bucket's program, which serves every width here; Keras 3.5 cannot
    # rebuild a model wider, so there each width has its own program (still no retracing)
    assert len(programs) == (len(sets) if keras.__version__.startswith("3.5.") else 1)
    for own, reused in zip(alone, shared):
        np.testing.assert_allclose(reused.loss_curve_, own.loss_curve_, rtol=1e-6)
        np.testing.assert_allclose(reused.coefs_[0], own.coefs_[0], rtol=1e-5, atol=1e-7)
    assert len({tuple(own.class_prior_.round(6)) for own in alone}) == 3
