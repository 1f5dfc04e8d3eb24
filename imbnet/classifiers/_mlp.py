"""``CostSensitiveMLPClassifier``: scikit-learn's MLP, cost-sensitive, on Keras."""

import warnings
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, StrOptions, to_numpy
from ..data._sparse import (
    DenseBatches,
    DenseRows,
    dense,
    dense_row_source,
    dense_source,
    fits_dense,
    issparse,
    pairs_per_row,
    sparse_row_source,
    sparse_rows,
)
from ..engine._keras_fit import train_with_model_fit
from ..engine._loop import runs_compiled
from ..engine._model_inputs import takes_sparse_rows
from ..engine._records import Stopping
from ..engine._schedules import EpochLearningRate
from ..engine._stopping import StoppingState
from ._base import ImbalancedKerasClassifier
from ._incremental import ContinuedTrainingMixin

__all__ = ["CostSensitiveMLPClassifier"]

# scikit-learn's activation names, and the Keras activation each one is.
_SKLEARN_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


def _stochastic_solver(estimator):
    """scikit-learn's rule: ``partial_fit`` exists for the stochastic solvers only."""
    if estimator.solver == "lbfgs":
        raise AttributeError(
            "partial_fit is only available for stochastic optimizers. lbfgs is not stochastic."
        )
    return True


class CostSensitiveMLPClassifier(ContinuedTrainingMixin, ImbalancedKerasClassifier):
    """Multi-layer perceptron classifier for imbalanced data, trained with Keras.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the parameters
    it shares with it have the same names, meanings and defaults. It adds class
    weights, focal loss, dropout and initialisers, prior correction of the
    probabilities and a prior-initialised output bias, and trains on the
    configured Keras backend (an XLA-compiled loop on TensorFlow). Like
    ``MLPClassifier`` it takes binary, multiclass and multilabel targets (a
    0/1 indicator matrix: one sigmoid unit and one binary loss per label).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden layer.
    activation : str, default="relu"
        Hidden-layer activation: scikit-learn's "identity", "logistic", "tanh",
        "relu", or any Keras activation name ("gelu", "elu", ...).
    solver : str, default="adam"
        "adam", "sgd", or another Keras optimizer name ("rmsprop", "adamw",
        "nadam", ...). scikit-learn's "lbfgs" has no Keras counterpart: ``fit``
        refuses it and says to use "adam" or "sgd".
    alpha : float, default=1e-4
        L2 penalty on the weights, scaled as in scikit-learn: each mini-batch
        loss gains ``0.5 * alpha * ||W||^2 / batch_size``.
    batch_size : int or "auto", default="auto"
        Mini-batch size; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Learning-rate schedule of the "sgd" solver, as scikit-learn's (other
        solvers ignore it). "invscaling": after every epoch the rate becomes
        ``learning_rate_init / (t_ + 1) ** power_t``, ``t_`` the training
        rows fed so far. "adaptive": where the stopping rule (``tol``,
        ``n_iter_no_change``) would stop, the rate is divided by 5 instead,
        and training stops only once it is at most 1e-6. The rate changes
        between epochs, so such fits run one epoch per compiled call.
    learning_rate_init : float, default=1e-3
        Learning rate of the optimizer.
    power_t : float, default=0.5
        Exponent of ``learning_rate="invscaling"``.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Whether to shuffle the rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, dropout, batch order and validation split. The same
        int gives the same predictions, also in a new process. Global random
        state (NumPy, Python, TensorFlow, Keras) is never changed.
    tol : float, default=1e-4
        Training stops when the loss (the validation loss with
        ``early_stopping``) has not improved by ``tol`` for
        ``n_iter_no_change`` consecutive epochs.
    verbose : bool, default=False
        Print the loss of every epoch.
    warm_start : bool, default=False
        ``fit`` continues from the weights of the previous fit (same features,
        classes and ``hidden_layer_sizes``, else a ValueError) with a fresh
        optimizer, as scikit-learn's; ``loss_curve_`` and ``t_`` go on.
    momentum : float, default=0.9
        Momentum of the "sgd" solver.
    nesterovs_momentum : bool, default=True
        Whether "sgd" uses Nesterov momentum.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the rows (every class
        represented), monitor its weighted loss, and restore the best weights.
    validation_fraction : float, default=0.1
        Share of each class held out with ``early_stopping``.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Parameters of the "adam" solver.
    n_iter_no_change : int, default=10
        Epochs without improvement before training stops.
    max_fun : int, default=15000
        Accepted for scikit-learn compatibility: only its "lbfgs" solver uses
        it, which imbnet does not have.
    class_weight : None, "balanced", "log", "effective", dict or list of dict, default=None
        Weight of each class in the loss; see :func:`imbnet.compute_class_weight`.
        A dict is keyed by the original class labels. For a multilabel target
        the weights are per label (:func:`imbnet.compute_label_weight`):
        "balanced" and "log" on each label's column, or a list of one dict
        ``{0: w_negative, 1: w_positive}`` per label.
    class_weight_mu : float, default=0.15
        Smoothing factor of ``class_weight="log"``.
    class_weight_beta : float in [0, 1), default=0.999
        ``beta`` of ``class_weight="effective"``: weights
        ``∝ (1 - beta) / (1 - beta^n_c)``, summing to the number of classes.
    deferred_reweighting : None, int or float in (0, 1), default=None
        Deferred re-weighting (DRW, Cao et al., 2019): train without class
        weights (``sample_weight`` only) until an epoch, then with
        ``class_weight`` (which must be set). An int is that epoch (counted
        from 0), a float the fraction of ``max_iter`` (``int(fraction *
        max_iter)``; Cao et al. switch at 0.8). Early stopping counts only
        from the switch on. Works with any ``loss``.
    loss : {"log_loss", "focal", "logit_adjusted", "balanced_softmax", "ldam"}, default="log_loss"
        - "log_loss": cross-entropy.
        - "focal": focal cross-entropy (Keras's focal losses, with class
          balancing left to ``class_weight``).
        - "logit_adjusted": cross-entropy of the logits plus
          ``logit_tau * log(class_prior_)`` (Menon et al., 2021).
        - "balanced_softmax": the same at ``logit_tau=1`` (Ren et al., 2020).
        - "ldam": the true class's logit lowered by a margin
          ``∝ n_c^(-1/4)`` before the cross-entropy (Cao et al., 2019).

        The long-tail losses use the class prior of the training rows
        (``class_prior_``); see :class:`imbnet.LogitAdjustedLoss`,
        :class:`imbnet.BalancedSoftmaxLoss` and :class:`imbnet.LDAMLoss` for
        the binary (single sigmoid unit) and per-label forms.
    focal_gamma : float, default=2.0
        Focusing parameter of the focal loss.
    logit_tau : float, default=1.0
        ``τ`` of ``loss="logit_adjusted"``; 0 is plain cross-entropy.
    ldam_margin : float, default=0.5
        Margin of the rarest class with ``loss="ldam"`` (in logit units).
    kernel_initializer : str, default="glorot_uniform"
        Keras initializer name of the layer weights, seeded by ``random_state``.
    dropout : float, default=0.0
        Dropout rate after each hidden layer.
    prior_correction : bool, default=False
        Map ``predict_proba`` from the class mix the network trained under
        (``training_prior_``: shifted by ``class_weight``) back to the class
        prior of the training data (``class_prior_``):
        ``p(c|x) ∝ p'(c|x) · class_prior_[c] / training_prior_[c]``. The
        probabilities then estimate the real class frequencies (better Brier
        score and log loss; ranking and ROC AUC unchanged). Off by default:
        ``MLPClassifier``'s behaviour, and ``predict`` keeps the cost-sensitive
        decisions the class weights were chosen for; with it on, ``predict``
        (the most probable class) moves back toward the majority class. Read
        at prediction time, so it can be switched on a fitted estimator.
    output_bias_init : {"zeros", "prior"}, default="zeros"
        Initial bias of the output layer: Keras's zeros, or the log of the
        class prior the network trains under (``log(π'_1/π'_0)`` for binary,
        ``log π'_c`` for softmax, the log-odds per label for multilabel), so
        that training starts from the base rate instead of spending its first
        epochs learning it.
    on_divergence : {"raise", "warn"}, default="raise"
        What happens when the training loss (or, at the end, a weight) becomes
        NaN or infinite: "raise" stops at once with a ``FloatingPointError``
        and the estimator keeps the state it had before ``fit``; "warn" stops
        with a ``RuntimeWarning`` and keeps the weights of the last epoch whose
        loss was finite (``loss_curve_`` ends with the non-finite loss).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Feature names seen during fit, when X had string column names.
    class_weight_ : dict or list of dict
        Resolved weight of each class label (per label for multilabel).
    class_prior_ : ndarray of shape (n_classes,)
        Class prior of the training data (its labels weighted by
        ``sample_weight``, without an early-stopping hold-out). For a
        multilabel target, the positive rate of each label.
    training_prior_ : ndarray of shape (n_classes,)
        Class mix the network was trained under: each class's share of the
        total loss weight fed over all epochs (class weight × sample weight ×
        rows fed). For a multilabel target, the weighted positive rate of
        each label.
    model_ : keras.Model
        The trained network.
    history_ : dict
        Per-epoch logs: ``loss`` and, with early stopping, ``val_loss``.
    loss_curve_ : list of float
        Training loss of each epoch.
    n_iter_ : int
        Number of epochs run by the last ``fit`` (1 after ``partial_fit``).
    loss_ : float
        Training loss of the last epoch.
    best_loss_ : float or None
        Lowest training loss of ``loss_curve_``; None with ``early_stopping``
        (see ``best_validation_score_``), as in scikit-learn.
    validation_scores_ : list of float or None
        With ``early_stopping``, the score of the hold-out after every epoch:
        the *negative* weighted validation loss (``-history_["val_loss"]``),
        the quantity training stops on. scikit-learn records the accuracy
        instead; imbnet stops on the class-weighted loss, which accuracy
        hides on imbalanced data. None without early stopping.
    best_validation_score_ : float or None
        The highest of ``validation_scores_`` (the epoch whose weights are
        kept); None without early stopping.
    t_ : int
        Training rows fed over all epochs (warm starts and ``partial_fit``
        calls included), as scikit-learn counts them.
    coefs_ : list of ndarray
        Weight matrix of each layer, ``coefs_[i]`` of shape
        ``(units in, units out)``, read from the Keras ``Dense`` layers.
    intercepts_ : list of ndarray
        Bias vector of each layer, ``intercepts_[i]`` of shape ``(units out,)``.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Output units: 1 for binary, the number of classes or labels otherwise.
    out_activation_ : str
        "logistic" (binary, multilabel) or "softmax" (multiclass).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from imbnet import CostSensitiveMLPClassifier
    >>> X, y = make_classification(n_samples=400, weights=[0.9], random_state=0)
    >>> clf = CostSensitiveMLPClassifier(hidden_layer_sizes=(16,), max_iter=20,
    ...                                  class_weight="balanced", random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.class_weight_
    {0: 0.557..., 1: 4.878...}
    """

    _parameter_constraints: dict = {
        **ImbalancedKerasClassifier._parameter_constraints,
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [str],
        "solver": [str],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "kernel_initializer": [str],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        class_weight=None,
        class_weight_mu=0.15,
        class_weight_beta=0.999,
        deferred_reweighting=None,
        loss="log_loss",
        focal_gamma=2.0,
        logit_tau=1.0,
        ldam_margin=0.5,
        kernel_initializer="glorot_uniform",
        dropout=0.0,
        prior_correction=False,
        output_bias_init="zeros",
        on_divergence="raise",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.class_weight_mu = class_weight_mu
        self.class_weight_beta = class_weight_beta
        self.deferred_reweighting = deferred_reweighting
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.logit_tau = logit_tau
        self.ldam_margin = ldam_margin
        self.kernel_initializer = kernel_initializer
        self.dropout = dropout
        self.prior_correction = prior_correction
        self.output_bias_init = output_bias_init
        self.on_divergence = on_divergence

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    partial_fit = available_if(_stochastic_solver)(ContinuedTrainingMixin.partial_fit)

    def _n_epochs(self):
        return 1 if self._partial_step is not None else self.max_iter

    def _batch_size(self, n_samples=None):
        """scikit-learn's batch size, ``min(200, n_samples)`` for "auto"; without
        ``n_samples`` the configured size, which the compiled program pads an
        epoch of fewer rows to (small data sets then share its compilation)."""
        size = 200 if self.batch_size == "auto" else self.batch_size
        return size if n_samples is None else min(size, n_samples)

    def _fit_callbacks(self):
        schedule = getattr(self, "_active_schedule", None)
        return [] if schedule is None else [schedule]

    def _schedule(self):
        """scikit-learn's "sgd" schedule, or None (constant rate; other solvers)."""
        if self.solver != "sgd" or self.learning_rate == "constant":
            return None
        if self.learning_rate == "invscaling" or self._partial_step is None:
            state = None
        else:  # the rule counts on across partial_fit calls, as scikit-learn's
            state = getattr(self, "_adaptive_state", None)
            state = None if state is None else StoppingState(*state)
        return EpochLearningRate(
            self.learning_rate,
            self.learning_rate_init,
            self.power_t,
            self._rows_per_epoch,
            t=self._previous["t_"] if getattr(self, "_previous", None) else 0,
            monitor=self._monitor(),
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            start=self._reweight_from,
            state=state,
            verbose=self.verbose,
        )

    def _monitor(self):
        return "val_loss" if self.early_stopping else "loss"

    def _stopping(self):
        """scikit-learn's rule, which "adaptive" turns into rate changes; none in partial_fit."""
        if self._partial_step is not None or (
            self.solver == "sgd" and self.learning_rate == "adaptive"
        ):
            return Stopping(None, float(self.tol), int(self.n_iter_no_change), self._reweight_from)
        return super()._stopping()

    def _fit_loop(self, source, validation, data):
        """The base's loop, with the learning-rate schedule; sparse X in dense batches."""
        n_rows = data.X.shape[0]
        self._rows_per_epoch = n_rows
        if self.batch_size != "auto" and self.batch_size > n_rows:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going "
                "to be clipped",
                UserWarning,
                stacklevel=4,
            )
        schedule = self._active_schedule = self._schedule()
        try:
            pairs = whole = None
            if issparse(data.X) and runs_compiled(self.model_, self._fit_callbacks()):
                pairs = pairs_per_row(data.X) if takes_sparse_rows(self.model_) else None
                whole = pairs is None and fits_dense(data.X)
            if pairs is not None:  # the compiled program, on each row's non-zeros
                if validation is not None:
                    validation = (sparse_rows(validation[0]), *validation[1:])
                result = super()._fit_loop(sparse_row_source(source, pairs), validation, data)
            elif whole:  # the compiled program, on the rows densified once
                if validation is not None:
                    validation = (dense(validation[0]), *validation[1:])
                result = super()._fit_loop(dense_source(source), validation, data)
            elif issparse(data.X):
                result = train_with_model_fit(
                    self.model_,
                    dense_row_source(source),
                    self._n_epochs(),
                    self._batch_size(n_rows),
                    self._fit_callbacks(),
                    None if validation is None else DenseBatches(*validation),
                    self._stopping(),
                    self.verbose,
                    None,
                    self.on_divergence,
                )
            else:
                result = super()._fit_loop(source, validation, data)
        finally:
            del self._active_schedule
        if schedule is not None:
            # A plain tuple: saved files hold builtins (see _persistence).
            self._adaptive_state = (float(schedule.state.best), int(schedule.state.count))
            if schedule.stopped:
                result = result._replace(converged=True)
        return result

    def _record_fit(self, result, source):
        super()._record_fit(result, source)
        self.loss_ = self.loss_curve_[-1]
        if self.early_stopping and "val_loss" in self.history_:
            self.validation_scores_ = [-loss for loss in self.history_["val_loss"]]
            self.best_validation_score_ = max(self.validation_scores_)
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_)
        self.n_outputs_ = self._target.output_width
        self.n_layers_ = len(_dense_layers(self.model_)) + 1
        self.out_activation_ = (
            "softmax" if self._target.output_activation == "softmax" else "logistic"
        )

    @property
    def coefs_(self):
        check_is_fitted(self, "model_")
        return [to_numpy(layer.kernel) for layer in _dense_layers(self.model_)]

    @property
    def intercepts_(self):
        check_is_fitted(self, "model_")
        return [
            to_numpy(layer.bias) if layer.use_bias else np.zeros(layer.units, np.float32)
            for layer in _dense_layers(self.model_)
        ]

    def _network_proba(self, X):
        return super()._network_proba(DenseRows(X) if issparse(X) else X)

    def _build_model(self, meta, seeds):
        layer_sizes = _check_layer_sizes(self.hidden_layer_sizes)
        activation = _check_activation(self.activation)
        batch_size = self._batch_size(meta["X_shape_"][0])
        regularizer = keras.regularizers.L2(0.5 * self.alpha / batch_size) if self.alpha else None

        def initializer(position):
            config = {"seed": seeds.seed_for(f"kernel{position}")}
            try:
                try:
                    return keras.initializers.get(
                        {"class_name": self.kernel_initializer, "config": config}
                    )
                except TypeError:  # a constant initializer ("zeros", "ones") takes no seed
                    return keras.initializers.get(self.kernel_initializer)
            except (ValueError, TypeError) as error:
                raise ValueError(
                    f"kernel_initializer={self.kernel_initializer!r} is not a Keras "
                    f"initializer name (e.g. 'glorot_uniform', 'he_uniform'): {error}"
                ) from None

        layers = [keras.Input(shape=(meta["n_features_in_"],))]
        for position, units in enumerate(layer_sizes):
            layers.append(
                keras.layers.Dense(
                    units,
                    activation=activation,
                    kernel_initializer=initializer(position),
                    kernel_regularizer=regularizer,
                )
            )
            if self.dropout:
                layers.append(
                    keras.layers.Dropout(self.dropout, seed=seeds.seed_for(f"dropout{position}"))
                )
        target = self._target
        layers.append(
            keras.layers.Dense(
                target.output_width,
                activation=target.output_activation,
                kernel_initializer=initializer(len(layer_sizes)),
                kernel_regularizer=regularizer,
            )
        )
        model = keras.Sequential(layers)
        model.compile(
            optimizer=self._make_optimizer(),
            loss=target.loss(self.loss, **self._loss_options()),
        )
        return model

    def _make_optimizer(self):
        rate = float(self.learning_rate_init)
        if self.solver == "sgd":
            return keras.optimizers.SGD(
                rate, momentum=float(self.momentum), nesterov=self.nesterovs_momentum
            )
        if self.solver == "adam":
            return keras.optimizers.Adam(
                rate,
                beta_1=float(self.beta_1),
                beta_2=float(self.beta_2),
                epsilon=float(self.epsilon),
            )
        if self.solver == "lbfgs":
            raise ValueError(
                "solver='lbfgs' is not available: Keras has no L-BFGS optimizer. "
                "Use 'adam' (the default) or 'sgd'."
            )
        try:
            optimizer = keras.optimizers.get(self.solver)
        except ValueError:
            raise ValueError(
                f"solver={self.solver!r} is not a Keras optimizer name; use 'adam', "
                "'sgd', 'rmsprop', 'adamw', 'nadam', 'adagrad', ..."
            ) from None
        optimizer.learning_rate = rate
        return optimizer


def _dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def _check_layer_sizes(hidden_layer_sizes):
    sizes = hidden_layer_sizes
    if not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, Integral) or size < 1:
            raise ValueError(
                "hidden_layer_sizes must hold positive integers, e.g. (100,) or "
                f"(64, 32); got {hidden_layer_sizes!r}."
            )
    return [int(size) for size in sizes]


def _check_activation(name):
    name = _SKLEARN_ACTIVATIONS.get(name, name)
    try:
        keras.activations.get(name)
    except ValueError:
        raise ValueError(
            f"activation={name!r} is not known; use 'identity', 'logistic', "
            "'tanh', 'relu' or a Keras activation name."
        ) from None
    return name
