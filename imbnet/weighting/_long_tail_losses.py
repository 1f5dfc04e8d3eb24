"""Long-tail losses: logit-adjusted, balanced softmax and LDAM, on probability outputs.

Each loss changes the logits ``z`` of the network before the cross-entropy,
using the class prior ``π`` of the training data:

- logit-adjusted (Menon et al., 2021, "Long-tail learning via logit
  adjustment"): ``z_c + τ log π_c``;
- balanced softmax (Ren et al., 2020, "Balanced Meta-Softmax for long-tailed
  visual recognition"): ``z_c + log π_c`` (``n_c exp(z_c) / Σ n_j exp(z_j)``),
  the logit-adjusted loss at ``τ = 1``;
- LDAM (Cao et al., 2019, "Learning imbalanced datasets with label-distribution-
  aware margin loss"): ``z_y - Δ_y`` for the true class ``y`` only, with
  ``Δ_c ∝ n_c^(-1/4)``.

imbnet's networks output probabilities, not logits, so each loss is written on
log-probabilities. For softmax outputs ``log p_c = z_c - logsumexp(z)``: the
logits up to a per-row constant, which the softmax of the adjusted logits
cancels, so ``log_softmax(log p + a) = log_softmax(z + a)`` exactly. For a
single sigmoid unit (binary) the logit is ``z = log p - log(1 - p)``, and the
binary forms are the two-class softmax with logits ``(0, z)``:

- adding ``a_0, a_1`` to the two logits is adding ``a_1 - a_0`` to ``z``;
  the logit-adjusted loss is the binary cross-entropy on
  ``z + τ (log π_1 - log π_0)``;
- LDAM subtracts ``Δ_1`` from ``z`` for a positive row and ``Δ_0`` from the
  first logit for a negative one, i.e. adds ``Δ_0`` to ``z``: the binary
  cross-entropy on ``z - y Δ_1 + (1 - y) Δ_0``.

A multilabel target (one sigmoid unit per label) gets the binary form on every
label, with that label's positive rate as its prior; the losses are returned
per (row, label) entry, for per-entry weights.

Where the backend keeps the pre-activation on the output tensor (TensorFlow's
sigmoid and softmax do, and Keras's own cross-entropies read it), the logits
are taken from there; otherwise they are recovered from the probabilities
clipped to ``[ε, 1 - ε]`` (``ε = keras.config.epsilon()``, as Keras clips),
which leaves outputs saturated beyond ``ε`` without gradient.

The prior enters the loss as data, not as part of the computation: a
compiled training program (:mod:`imbnet.engine._program_cache`) is shared by
every data set of one architecture, so it runs on a copy of the loss
(:meth:`_PriorLoss.for_program`) whose adjustments (the logit shifts, LDAM's
margins and scale) are variables, set from the fitted model's loss
(:meth:`_PriorLoss.program_values`) before every fit. The config entries
those adjustments come from (``program_config_values``) are therefore no part
of the program's cache key: a new class mix never compiles.

This module knows nothing of estimators.
"""

import numbers

import keras
import numpy as np
from keras import ops

__all__ = ["BalancedSoftmaxLoss", "LDAMLoss", "LogitAdjustedLoss", "OUTPUTS", "output_prior"]

# What the network outputs: softmax units, one sigmoid unit (binary), or one
# sigmoid unit per label.
OUTPUTS = ("softmax", "sigmoid", "multilabel")

# Priors are clipped away from 0 and 1 before logs, as in _priors.
_EPS = 1e-12


class _PriorLoss(keras.losses.Loss):
    """Cross-entropy on logits adjusted from the class prior (see the module)."""

    def __init__(
        self,
        class_prior,
        *,
        output="softmax",
        name=None,
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if output not in OUTPUTS:
            raise ValueError(f"output={output!r} is not one of {OUTPUTS}.")
        self.output = output
        self.class_prior = _check_prior(class_prior, output)
        self._variables = None  # for_program: the adjustments as variables

    # Config entries that only set the values of program_values (not the computation).
    program_config_values = ("class_prior", "tau", "max_margin", "scale")

    def program_values(self):
        """The adjustments the loss computes with, as float32 arrays: the data a
        compiled program reads (see the module)."""
        return [np.asarray(v, np.float32) for v in self._values()]

    def for_program(self):
        """A copy of this loss whose adjustments are variables (a compiled
        program's), set by :meth:`set_program_values`."""
        copy = type(self).from_config(self.get_config())
        copy._variables = [
            keras.Variable(value, trainable=False, name=f"{self.name}_adjustment{i}")
            for i, value in enumerate(self.program_values())
        ]
        return copy

    def set_program_values(self, values):
        """Set the variables of a :meth:`for_program` copy (shapes must agree)."""
        for variable, value in zip(self._variables, values):
            variable.assign(value)

    def _values(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _value(self, index, dtype):
        """Adjustment ``index`` as a tensor: the program's variable, or the constant."""
        if self._variables is not None:
            return ops.cast(self._variables[index], dtype)
        return ops.convert_to_tensor(self._values()[index], dtype=dtype)

    @property
    def per_entry(self):
        """Whether ``call`` returns one loss per (row, label) entry (multilabel)."""
        return self.output == "multilabel"

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        if self.output == "softmax":
            adjusted = self._adjust(_softmax_logits(y_pred), y_true)
            return -ops.sum(y_true * ops.log_softmax(adjusted, axis=-1), axis=-1)
        adjusted = self._adjust(_sigmoid_logits(y_pred), y_true)
        # -y log σ(a) - (1 - y) log σ(-a), with log σ(a) = -softplus(-a).
        entries = y_true * ops.softplus(-adjusted) + (1.0 - y_true) * ops.softplus(adjusted)
        return entries if self.per_entry else ops.mean(entries, axis=-1)

    def _adjust(self, logits, y_true):  # pragma: no cover - abstract
        raise NotImplementedError

    def output_prior(self, fed_prior):
        """The class prior under which the network's outputs are posteriors.

        ``fed_prior`` is the class mix the network was fed (class shares, or
        positive rates per label); a plain cross-entropy network estimates
        ``p(c|x)`` under that mix.
        """
        return np.asarray(fed_prior, dtype=np.float64)

    def _binary_prior(self):
        """(π_0, π_1) of each sigmoid unit, shape (2, n_units)."""
        if self.output == "sigmoid":
            return self.class_prior.reshape(2, 1)
        return np.stack([1.0 - self.class_prior, self.class_prior])

    def get_config(self):
        return {
            **super().get_config(),
            "class_prior": [float(p) for p in self.class_prior],
            "output": self.output,
        }


@keras.saving.register_keras_serializable(package="imbnet")
class LogitAdjustedLoss(_PriorLoss):
    """Logit-adjusted cross-entropy (Menon et al., 2021).

    ``-log softmax(z + τ log π)_y``: the cross-entropy of the logits shifted
    by ``τ`` times the log class prior, during training only. The network's own
    output, ``softmax(z)``, then estimates ``p(c|x)`` under the prior
    ``∝ π_fed · π^(-τ)`` (``π_fed`` the class mix it was fed): at ``τ = 1``
    on unweighted data, the balanced posterior, whose most probable class
    minimises the balanced error. Computed on the network's probabilities,
    the binary form is the binary cross-entropy on ``z + τ log(π_1/π_0)``, and
    per label for a multilabel target (see :mod:`imbnet.weighting._long_tail_losses`).

    Parameters
    ----------
    class_prior : array-like
        The class prior of the training data: shape (n_classes,) for
        ``output="softmax"``, (2,) for ``"sigmoid"``, or the positive rate of
        each label, shape (n_labels,), for ``"multilabel"``.
    tau : float, default=1.0
        Strength of the adjustment; 0 gives plain cross-entropy.
    output : {"softmax", "sigmoid", "multilabel"}, default="softmax"
        The network's output: softmax units, one sigmoid unit (binary), or
        one sigmoid unit per label (the loss is then per entry).

    Examples
    --------
    >>> import numpy as np
    >>> from imbnet import LogitAdjustedLoss
    >>> loss = LogitAdjustedLoss([0.9, 0.1], tau=1.0)
    >>> y_true, y_pred = np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])
    >>> round(float(loss(y_true, y_pred)), 4)  # -log(0.1 / (0.9 + 0.1))
    2.3026
    >>> round(float(LogitAdjustedLoss([0.9, 0.1], tau=0.0)(y_true, y_pred)), 4)
    0.6931
    """

    def __init__(self, class_prior, *, tau=1.0, output="softmax", name="logit_adjusted", **kwargs):
        super().__init__(class_prior, output=output, name=name, **kwargs)
        if isinstance(tau, bool) or not isinstance(tau, numbers.Real) or not np.isfinite(tau):
            raise ValueError(f"tau must be a finite number; got {tau!r}.")
        self.tau = float(tau)
        if output == "softmax":
            self._shift = self.tau * np.log(np.clip(self.class_prior, _EPS, 1.0))
        else:
            negative, positive = np.log(np.clip(self._binary_prior(), _EPS, 1.0))
            self._shift = self.tau * (positive - negative)

    def _values(self):
        return [self._shift]

    def _adjust(self, logits, y_true):
        return logits + self._value(0, logits.dtype)

    def output_prior(self, fed_prior):
        """``π_fed · π^(-τ)``, renormalised (per label for multilabel)."""
        fed = np.clip(np.asarray(fed_prior, dtype=np.float64), _EPS, 1.0)
        if self.output == "multilabel":
            fed = np.clip(fed, _EPS, 1.0 - _EPS)
            log_odds = np.log(fed) - np.log1p(-fed) - self._shift
            return 1.0 / (1.0 + np.exp(-log_odds))
        prior = np.clip(self.class_prior, _EPS, 1.0)
        mass = fed * prior ** (-self.tau)
        return mass / mass.sum()

    def get_config(self):
        return {**super().get_config(), "tau": self.tau}


@keras.saving.register_keras_serializable(package="imbnet")
class BalancedSoftmaxLoss(LogitAdjustedLoss):
    """Balanced softmax cross-entropy (Ren et al., 2020).

    ``-log(π_y exp(z_y) / Σ_c π_c exp(z_c))``: the softmax reweighted by the
    class prior (the paper writes the class counts ``n_c``; the constant
    ``Σ n`` cancels). This is the logit-adjusted loss at ``τ = 1``, and here
    the same computation; the binary and per-label forms are those of
    :class:`LogitAdjustedLoss`.

    Parameters
    ----------
    class_prior : array-like
        As in :class:`LogitAdjustedLoss`.
    output : {"softmax", "sigmoid", "multilabel"}, default="softmax"

    Examples
    --------
    >>> import numpy as np
    >>> from imbnet import BalancedSoftmaxLoss
    >>> loss = BalancedSoftmaxLoss([0.6, 0.3, 0.1])
    >>> y_pred = np.array([[0.2, 0.3, 0.5]])
    >>> p = np.array([0.6, 0.3, 0.1]) * y_pred[0]
    >>> bool(np.isclose(float(loss(np.array([[0.0, 0.0, 1.0]]), y_pred)),
    ...                 -np.log(p[2] / p.sum())))
    True
    """

    def __init__(self, class_prior, *, output="softmax", name="balanced_softmax", **kwargs):
        super().__init__(class_prior, tau=1.0, output=output, name=name, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["tau"]
        return config


@keras.saving.register_keras_serializable(package="imbnet")
class LDAMLoss(_PriorLoss):
    """Label-distribution-aware margin loss (Cao et al., 2019).

    ``-log softmax(s (z - Δ_y e_y))_y``: the true class's logit is lowered
    by a margin ``Δ_c = C / n_c^(1/4)`` before the cross-entropy, so rare
    classes must win by more. ``C`` is set so that the rarest class's margin
    is ``max_margin``: ``Δ_c = max_margin · (π_min / π_c)^(1/4)``. The binary
    form (one sigmoid unit) is the cross-entropy on ``s (z - y Δ_1 +
    (1 - y) Δ_0)``; a multilabel target gets it per label, with the margins
    of that label's positives and negatives.

    The paper's scale ``s`` (30 there) multiplies normalised (cosine)
    logits, which lie in ``[-1, 1]``. On the plain logits of an ordinary
    output layer, ``s`` only rescales logits the layer can scale itself:
    ``s (z - Δ)`` is the loss at ``s = 1`` with margin ``s Δ`` on logits
    ``s z``. imbnet keeps ``s = 1`` by default, the margin then being in logit
    units, and the estimators tune the margin alone (``ldam_margin``). Measured
    with LDAM-DRW (``max_margin=0.5``) on long-tailed digits (imbalance 50, 5
    seeds, ``benchmarks/long_tail.py``), balanced accuracy was 0.879 ± 0.027
    at ``s = 1``, 0.872 ± 0.025 at 10 and 0.852 ± 0.023 at 30: nothing gained
    from a larger scale on plain logits.

    Parameters
    ----------
    class_prior : array-like
        As in :class:`LogitAdjustedLoss`.
    max_margin : float, default=0.5
        The margin of the rarest class (0.5 in the paper).
    scale : float, default=1.0
        The factor ``s`` applied to the margin-adjusted logits.
    output : {"softmax", "sigmoid", "multilabel"}, default="softmax"

    Examples
    --------
    >>> import numpy as np
    >>> from imbnet import LDAMLoss
    >>> loss = LDAMLoss([0.8, 0.2], max_margin=0.5)
    >>> loss.margins.round(4)  # 0.5 * (0.2 / 0.8) ** 0.25 for the frequent class
    array([0.3536, 0.5   ])
    >>> y_pred = np.array([[0.5, 0.5]])
    >>> expected = np.log1p(np.exp(0.5))  # -log softmax((0, -0.5))[1]
    >>> bool(np.isclose(float(loss(np.array([[0.0, 1.0]]), y_pred)), expected))
    True
    """

    def __init__(
        self, class_prior, *, max_margin=0.5, scale=1.0, output="softmax", name="ldam", **kwargs
    ):
        super().__init__(class_prior, output=output, name=name, **kwargs)
        for label, value in (("max_margin", max_margin), ("scale", scale)):
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not (np.isfinite(value) and value >= 0)
            ):
                raise ValueError(f"{label} must be a non-negative number; got {value!r}.")
        self.max_margin = float(max_margin)
        self.scale = float(scale)
        if output == "softmax":
            self.margins = _margins(self.class_prior, self.max_margin, axis=0)
        else:
            # Rows: the margin of the negatives (Δ_0) and of the positives (Δ_1).
            self.margins = _margins(self._binary_prior(), self.max_margin, axis=0)
            if output == "sigmoid":
                self.margins = self.margins[:, 0]

    def _values(self):
        margins = self.margins if self.output != "sigmoid" else self.margins.reshape(2, 1)
        return [margins, np.float32(self.scale)]

    def _adjust(self, logits, y_true):
        margins = self._value(0, logits.dtype)
        if self.output == "softmax":
            delta = y_true * margins
        else:
            delta = y_true * margins[1] - (1.0 - y_true) * margins[0]
        return self._value(1, logits.dtype) * (logits - delta)

    def get_config(self):
        return {**super().get_config(), "max_margin": self.max_margin, "scale": self.scale}


def output_prior(loss, fed_prior):
    """The class prior under which a network trained with ``loss`` outputs posteriors.

    For the logit-adjusted losses, ``π_fed · π^(-τ)`` renormalised; for any
    other loss (cross-entropy, focal, LDAM), ``fed_prior`` itself: the class
    mix the network was fed. LDAM's margins are no shift of the prior, so no
    prior correction undoes them exactly (nor focal loss's focusing).
    """
    inner = getattr(loss, "loss", None)  # a LabelwiseLoss wrapper
    loss = inner if isinstance(inner, _PriorLoss) else loss
    if isinstance(loss, _PriorLoss):
        return loss.output_prior(fed_prior)
    return np.asarray(fed_prior, dtype=np.float64)


def _check_prior(class_prior, output):
    try:
        prior = np.asarray(class_prior, dtype=np.float64)
    except (TypeError, ValueError):
        prior = None
    if prior is None or prior.ndim != 1 or not np.all(np.isfinite(prior)) or np.any(prior < 0):
        raise ValueError(
            "class_prior must be a 1-D array of non-negative finite numbers (the "
            f"class shares of the training data); got {class_prior!r}."
        )
    if output == "multilabel":
        if np.any(prior > 1):
            raise ValueError(
                "for a multilabel output, class_prior holds the positive rate of each "
                f"label, each in [0, 1]; got {class_prior!r}."
            )
        return prior
    if output == "sigmoid" and prior.shape[0] != 2:
        raise ValueError(
            "a single sigmoid unit (binary) needs the prior of both classes, "
            f"class_prior=[π_0, π_1]; got {prior.shape[0]} value(s)."
        )
    if prior.shape[0] < 2 or prior.sum() <= 0:
        raise ValueError(
            f"class_prior needs a positive share for at least two classes; got {class_prior!r}."
        )
    return prior / prior.sum()


def _margins(prior, max_margin, axis):
    """``max_margin · (π_min / π_c)^(1/4)``, the minimum taken along ``axis``."""
    prior = np.clip(prior, _EPS, 1.0)
    return max_margin * (prior.min(axis=axis, keepdims=True) / prior) ** 0.25


def _softmax_logits(y_pred):
    cached = getattr(y_pred, "_keras_logits", None)
    if cached is not None:
        return cached
    return ops.log(ops.clip(y_pred, keras.config.epsilon(), 1.0))


def _sigmoid_logits(y_pred):
    cached = getattr(y_pred, "_keras_logits", None)
    if cached is not None:
        return cached
    epsilon = keras.config.epsilon()
    p = ops.clip(y_pred, epsilon, 1.0 - epsilon)
    return ops.log(p) - ops.log(1.0 - p)
