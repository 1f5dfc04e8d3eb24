"""Which fits train side by side, and how one becomes a member of the program.

A *task* is one candidate on one fold: a fresh clone of the estimator with
the candidate's parameters, fitted on the fold's training rows. A task
trains side by side when its network is a :class:`CostSensitiveMLPClassifier`
(alone, or the last step of a scikit-learn / imbalanced-learn ``Pipeline``)
with settings the side-by-side program reproduces (:func:`side_by_side_reason`
says why not otherwise). The steps before the network are fitted on the host
per task, exactly as the pipeline's own ``fit`` would (``fit_transform``, a
sampler's ``fit_resample``); the network's data, class weights, seeds and
starting weights come from the classifier's own fit steps, so a member starts
where a fit of its own would, sees the same row orders, and stops by the
same rule.
"""

import threading
from numbers import Integral
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from ..classifiers._mlp import CostSensitiveMLPClassifier, _check_activation, _check_layer_sizes
from ..engine._member_training import Member, starting_kernels
from ._keys import value_key

__all__ = [
    "FittedMember",
    "Prepared",
    "network_of",
    "prepare",
    "side_by_side_reason",
    "step_keys",
]

# Settings the program reproduces only at these values (anything else: a fit of its own).
_REQUIRED = {
    "solver": "adam",
    "early_stopping": False,
    "warm_start": False,
    "output_bias_init": "zeros",
    "on_divergence": "raise",
}
# The losses the program computes; all but the log loss (and deferred re-weighting)
# for two classes only: a multiclass fit with one of them is fitted on its own.
_LOSSES = ("log_loss", "focal", "logit_adjusted", "balanced_softmax", "ldam")


def network_of(estimator):
    """The network that would train side by side: the estimator or its last step."""
    if isinstance(estimator, Pipeline):  # imbalanced-learn's Pipeline subclasses it
        return estimator.steps[-1][1]
    return estimator


def side_by_side_reason(estimator, fit_params=None):
    """Why ``estimator``'s fits would not train side by side, or None if they would.

    :mod:`imbnet.model_selection` trains the fits of a
    :class:`imbnet.CostSensitiveMLPClassifier`, alone or as the last step of a
    pipeline, side by side in one compiled program when its settings are ones
    the program reproduces (Adam, no early stopping, dropout or warm start;
    any ``loss``, the long-tail and focal ones for two classes; deferred
    re-weighting; prior correction); any other estimator is fitted one fit at
    a time, as scikit-learn would, with the same results.

    Parameters
    ----------
    estimator : estimator or Pipeline
        With its parameters set (e.g. one candidate of a grid).
    fit_params : dict, default=None
        The parameters passed to ``fit``; only ``sample_weight`` for the
        network (and not after a sampler) trains side by side.

    Returns
    -------
    reason : str or None
        None if the fits train side by side; else what prevents it.

    Examples
    --------
    >>> from imbnet import CostSensitiveMLPClassifier
    >>> from imbnet.model_selection import side_by_side_reason
    >>> side_by_side_reason(CostSensitiveMLPClassifier()) is None
    True
    >>> side_by_side_reason(CostSensitiveMLPClassifier(early_stopping=True))
    'early_stopping=True'
    """
    fit_params = {} if fit_params is None else fit_params
    network = network_of(estimator)
    if type(network) is not CostSensitiveMLPClassifier:
        return f"the network is a {type(network).__name__}, not a CostSensitiveMLPClassifier"
    for name, value in _REQUIRED.items():
        if getattr(network, name) != value:
            return f"{name}={getattr(network, name)!r}"
    if network.loss not in _LOSSES:
        return f"loss={network.loss!r}"
    if network.dropout or network.verbose:
        return "dropout or verbose"
    allowed = {"sample_weight"}
    if network is not estimator:
        name = estimator.steps[-1][0]
        allowed = {f"{name}__sample_weight"}
        if any(hasattr(step, "fit_resample") for _, step in estimator.steps[:-1]):
            allowed = set()  # a sampler changes the rows the weights belong to
    if set(fit_params) - allowed:
        return f"fit parameters {sorted(set(fit_params) - allowed)}"
    return None


class RowOrders:
    """The row orders of a fit's epochs, as its own fit draws them: one
    permutation of ``range(n_rows)`` per epoch from ``default_rng(seed)``
    (``arange`` when not ``shuffle``). ``orders(first, count)`` returns those
    of epochs ``first .. first + count - 1``; members with the same seed and
    row count share one object, which draws each range once (a range asked
    out of turn is drawn again from the start). Thread-safe.
    """

    def __init__(self, seed, n_rows, shuffle):
        self.seed, self.n_rows, self.shuffle = seed, n_rows, shuffle
        self._lock = threading.Lock()
        self._rng, self._next, self._last = np.random.default_rng(seed), 0, None

    def __getstate__(self):  # sent to another process (a Dask worker): start afresh
        return {"seed": self.seed, "n_rows": self.n_rows, "shuffle": self.shuffle}

    def __setstate__(self, state):
        self.__init__(state["seed"], state["n_rows"], state["shuffle"])

    def __call__(self, first, count):
        rows = np.broadcast_to(np.arange(self.n_rows), (count, self.n_rows))
        if not self.shuffle:
            return rows
        with self._lock:
            if self._last is not None and self._last[0] == (first, count):
                return self._last[1]
            if first < self._next:
                self._rng, self._next = np.random.default_rng(self.seed), 0
            if first > self._next:  # skipped epochs
                skipped = np.broadcast_to(np.arange(self.n_rows), (first - self._next, self.n_rows))
                self._rng.permuted(skipped, axis=1)
            drawn = self._rng.permuted(rows, axis=1)
            drawn.flags.writeable = False
            self._next, self._last = first + count, ((first, count), drawn)
            return drawn


class Prepared(NamedTuple):
    """A task ready to train: its estimator (steps before the network fitted), the
    network's settings, its :class:`Member` and the key of its architecture."""

    estimator: object
    network: object
    member: Member
    key: tuple
    target: object
    loss: object = None  # the network's Keras loss (its output prior)
    fed: tuple = None  # the class mix fed before and from the re-weighting switch


def step_keys(estimator):
    """For each step before the network: a key of its class and parameters, or
    None from the first step that is not deterministic (a ``random_state``
    that is None or a generator) on. See :func:`prepare`."""
    if network_of(estimator) is estimator:
        return []
    keys, reuse = [], True
    for name, step in estimator.steps[:-1]:
        if step is None or step == "passthrough":
            keys.append(None)
            continue
        params = step.get_params(deep=True)
        reuse = reuse and all(
            isinstance(value, Integral)
            for key, value in params.items()
            if key.endswith("random_state")
        )
        keys.append((name, value_key(step)) if reuse else None)
    return keys


def prepare(estimator, X_train, y_train, fit_params, steps_cache=None, rows_key=None, keys=None):
    """Fit the steps before the network on the task's rows; the network's member.

    ``steps_cache`` (a dict shared by a search's tasks), ``rows_key`` (which
    training rows these are, e.g. the fold's number) and ``keys``
    (:func:`step_keys` of the estimator): a prefix of steps with the same
    parameters already fitted on the same rows is reused, fitted step and
    output, instead of fitted again; only when the steps are deterministic,
    so the reuse gives what a fit of its own would. Raises whatever the
    pipeline's own fit would raise up to the network's training.
    """
    network = network_of(estimator)
    Xt, yt = X_train, y_train
    if network is not estimator:
        reuse = steps_cache is not None and rows_key is not None and keys is not None
        prefix = (rows_key,)
        for position, (name, step) in enumerate(estimator.steps[:-1]):
            if step is None or step == "passthrough":
                continue
            if reuse:
                reuse = keys[position] is not None
                prefix = (*prefix, keys[position])
                if reuse and prefix in steps_cache:
                    step, Xt, yt = steps_cache[prefix]
                    estimator.steps[position] = (name, step)
                    continue
            if hasattr(step, "fit_resample"):
                Xt, yt = step.fit_resample(Xt, yt)
            else:
                Xt = step.fit_transform(Xt, yt)
            if reuse:
                steps_cache[prefix] = (step, Xt, yt)
    sample_weight = next(iter(fit_params.values()), None)
    network._validate_params()
    data, _ = network._prepare_data(Xt, yt, sample_weight)
    target = data.target
    if target.multilabel or target.per_step or not isinstance(data.X, np.ndarray):
        return None
    if data.X.ndim != 2:
        return None
    sizes = _check_layer_sizes(network.hidden_layer_sizes)
    activation = _check_activation(network.activation)
    n_outputs = target.output_width
    binary_only = network.loss != "log_loss" or network.deferred_reweighting is not None
    if network.loss not in _LOSSES or (binary_only and n_outputs != 1):
        return None
    loss_options = _loss_options(network, data)
    widths = [data.X.shape[1], *sizes, n_outputs]
    shapes = list(zip(widths[:-1], widths[1:]))
    seeds = [data.seeds.seed_for(f"kernel{position}") for position in range(len(shapes))]
    kernels = starting_kernels(network.kernel_initializer, seeds, shapes)
    source = (data.seeds.seed_for("batches"), data.X.shape[0], bool(network.shuffle))
    if steps_cache is None:
        orders = RowOrders(*source)
    else:  # fits of one seed and row count draw the same orders: draw them once
        orders = steps_cache.setdefault(("orders", *source), RowOrders(*source))
    member = Member(
        X=np.asarray(data.X, np.float32),
        y=np.asarray(data.y, np.int32),
        w=loss_options["fed_weights"],
        kernels=kernels,
        orders=orders,
        batch_size=network._batch_size(),
        max_iter=int(network.max_iter),
        tol=float(network.tol),
        n_iter_no_change=int(network.n_iter_no_change),
        alpha=float(network.alpha),
        learning_rate=float(network.learning_rate_init),
        beta_1=float(network.beta_1),
        beta_2=float(network.beta_2),
        epsilon=float(network.epsilon),
        **loss_options["member"],
    )
    key = (tuple(sizes), activation, data.X.shape[1], n_outputs)
    return Prepared(
        estimator, network, member, key, target, loss_options["loss"], loss_options["fed"]
    )


def _loss_options(network, data):
    """The member's loss settings (see :class:`imbnet.engine._member_training.Member`),
    the network's Keras loss, and the class mix it is fed before and after the switch
    of deferred re-weighting, as the network's own fit computes them."""
    loss = data.target.loss(network.loss, **network._loss_options())
    options = {}
    if network.loss == "focal":
        options["gamma"] = float(network.focal_gamma)
    elif network.loss != "log_loss":
        values = loss.program_values()
        if network.loss == "ldam":
            options["margins"] = tuple(float(v) for v in np.ravel(values[0]))
            options["scale"] = float(values[1])
        else:
            options["shift"] = float(np.ravel(values[0])[0])
    w = np.asarray(data.weights, np.float32)
    y = np.asarray(data.y).reshape(-1).astype(np.int64)
    early = w
    switch = network._reweighting_epoch()
    if switch:  # the epochs before the switch: sample weights only
        vector = np.asarray(data.target.class_weight_vector(network.class_weight_), np.float64)
        early = (w.astype(np.float64) / vector[y]).astype(np.float32)
        options.update(w_late=w, switch=int(switch))

    def shares(weights):
        mass = np.bincount(y, np.asarray(weights, np.float64), minlength=network.n_classes_)
        return mass / max(mass.sum(), 1e-12)

    fed = (switch, shares(early), shares(w))
    return {"member": options, "fed_weights": early, "loss": loss, "fed": fed}


# Hidden activations computed in NumPy (float32) at predict; others through Keras.
_NUMPY_ACTIVATIONS = {
    "relu": lambda h: np.maximum(h, 0),
    "tanh": np.tanh,
    "linear": lambda h: h,
    "sigmoid": lambda h: (1 / (1 + np.exp(-h))).astype(np.float32),
}


class FittedMember(ClassifierMixin, BaseEstimator):
    """A network trained side by side, as the scorers see it: the fitted
    ``CostSensitiveMLPClassifier``'s ``predict_proba`` / ``predict``, computed
    from its weights (no Keras model is built for it).

    Parameters
    ----------
    network : CostSensitiveMLPClassifier
        The unfitted settings it was trained with (``get_params`` shows them).
    """

    def __init__(self, network=None):
        self.network = network

    def fit(self, X, y, sample_weight=None):
        """Not refitted: a member exists only as a side-by-side fit's result."""
        raise TypeError(
            "a network trained side by side is not refitted; fit its "
            "CostSensitiveMLPClassifier (the `network` parameter) instead."
        )

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    def _set_fit(self, prepared, result):
        network = prepared.network
        self.classes_ = network.classes_
        self.n_classes_ = network.n_classes_
        self.n_features_in_ = network.n_features_in_
        if hasattr(network, "feature_names_in_"):
            self.feature_names_in_ = network.feature_names_in_
        self.class_weight_ = network.class_weight_
        self.class_prior_ = network.class_prior_
        if prepared.fed is not None:  # as the network's own fit records it
            from ..weighting._long_tail_losses import output_prior

            switch, early, late = prepared.fed
            fed = late if switch < result.n_iter else early
            self.training_prior_ = output_prior(prepared.loss, fed)
        self.coefs_ = result.kernels
        self.intercepts_ = result.biases
        self.n_iter_ = result.n_iter
        self.loss_ = result.loss
        self._activation = _check_activation(network.activation)
        self._target = prepared.target
        return self

    def predict_proba(self, X):
        """Class probabilities, as the fitted network's (float32 forward pass)."""
        import keras

        from .._validation import validate_predict_data

        X = validate_predict_data(self, X, allow_nd=False)
        h = np.asarray(X, np.float32)
        activation = _NUMPY_ACTIVATIONS.get(self._activation)
        if activation is None:
            keras_activation = keras.activations.get(self._activation)

            def activation(h):
                return keras.ops.convert_to_numpy(keras_activation(h))

        for position, (kernel, bias) in enumerate(zip(self.coefs_, self.intercepts_)):
            h = h @ kernel + bias
            if position < len(self.coefs_) - 1:
                h = activation(h)
        if h.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-h[:, 0].astype(np.float64)))
            proba = np.column_stack([1.0 - p, p]).astype(np.float32)
        else:
            h = h.astype(np.float64) - h.max(axis=1, keepdims=True)
            e = np.exp(h)
            proba = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        if self.network.prior_correction:  # read at prediction time, as the network's
            proba = self._target.correct(proba, self.class_prior_, self.training_prior_)
        return proba

    def predict(self, X):
        """The class of highest probability."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
