"""``ResampledKerasClassifier``: any Keras model, with resampling inside fit."""

import inspect
from numbers import Integral, Real

import keras
import numpy as np
from scikeras._utils import (
    accepts_kwargs,
    get_loss_class_function_or_string,
    get_optimizer_class,
    has_param,
    route_params,
    try_to_convert_strings_to_classes,
    unflatten_params,
)
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._base import ImbalancedKerasClassifier
from ._batching import BalancedBatchPlan, epoch_order
from ._engine import Epoch
from ._hard_negatives import row_log_loss
from ._losses import LOSSES, make_loss
from ._random import keras_seeded
from ._resampling import check_sampler, resample, takes_sample_loss
from ._validation import add_hint, did_you_mean

__all__ = ["ResampledKerasClassifier"]

# Prefixes of routed parameters, as in scikeras: model__units=64 reaches the
# model builder as units=64, optimizer__learning_rate the optimizer, loss__x the
# loss, and fit__epochs / fit__batch_size / fit__callbacks override the fit settings.
ROUTING_PREFIXES = ("model", "optimizer", "loss", "fit")
FIT_ROUTED = ("epochs", "batch_size", "callbacks")


class ResampledKerasClassifier(ImbalancedKerasClassifier):
    """Any Keras classifier, with imbalance handling inside ``fit``.

    The user brings the network, imbnet brings the imbalance handling: an
    imbalanced-learn sampler re-drawn every epoch, class-balanced mini-batches
    at a chosen ratio, class and sample weights, focal loss, augmentation of
    minority rows, stratified early stopping. The result is a scikit-learn
    classifier (tags, ``predict_proba`` in ``classes_`` order) that tunes with
    ``GridSearchCV`` and scores with ``cross_val_score``.

    Parameters
    ----------
    model : keras.Model or callable
        A Keras model (compiled or not; cloned with fresh weights for each
        fit), or a builder as in scikeras: a callable that may take ``meta``
        (``n_features_in_``, ``n_classes_``, ``X_shape_``, ``classes_``,
        ``target_type_``, ...), ``compile_kwargs``, and routed parameters
        (``model__units=64`` reaches it as ``units=64``). The model outputs
        probabilities: 1 sigmoid unit (binary) or one softmax unit per class;
        for a multilabel target (``meta["target_type_"] ==
        "multilabel-indicator"``) one sigmoid unit per label. A compiled model
        keeps its loss and optimizer; an uncompiled one is compiled with
        ``optimizer`` and ``loss``. With a multilabel target the loss is
        evaluated per (row, label) entry (:class:`imbnet._losses.LabelwiseLoss`),
        so that label weights apply entry by entry.
    sampler : imbalanced-learn sampler, default=None
        Any object with ``fit_resample``, cloned for each fit; its parameters
        tune as ``sampler__sampling_strategy``. Its ``random_state`` is
        replaced by a seed drawn from this estimator's ``random_state``. A
        sampler whose ``fit_resample`` takes ``sample_loss``, such as
        :class:`imbnet.HardNegativeSampler`, gets before every epoch but the
        first the cross-entropy of each training row under the current model
        (one forward pass over the rows), and must be redrawn every epoch. A
        sampler with a ``redraw(seed)`` method, such as
        :class:`imbnet.GANOverSampler`, is fitted at the first epoch only and
        redrawn from that fit at the others (its GAN is trained once per fit).
        Not for multilabel targets.
    resample : {"epoch", "once"}, default="epoch"
        Re-draw the sampler every epoch (random under-sampling then sees a
        different majority subset each epoch, and over the epochs most of the
        data), or once per fit.
    batch_ratio : float >= 1, default=None
        Class-balanced mini-batches: every batch holds the classes at shares
        proportional to ``min(n_c / n_rarest, batch_ratio)`` (1: equal
        classes; 3: three majority rows per minority row), drawn each epoch
        from the original arrays without a resampled copy. An epoch has
        ``ceil(n_samples / batch_size)`` batches. Not combined with ``sampler``.
    augment : keras layer or callable, default=None
        Applied to the minority-class rows (every class but the most frequent)
        of each training batch: a Keras preprocessing layer (``RandomFlip``,
        ``GaussianNoise``, ...) or a callable on tensors written with
        ``keras.ops``. The random streams of a Keras layer are restarted from
        ``random_state`` at every fit (the layer's own seed is replaced).
    optimizer : str or keras optimizer, default="adam"
        Optimizer of an uncompiled model; ``optimizer__learning_rate=...`` sets
        its parameters. An optimizer instance is copied for each fit.
    loss : "log_loss", "focal" or a Keras loss, default="log_loss"
        Loss of an uncompiled model: cross-entropy or focal cross-entropy
        matched to the output (binary or categorical), or any Keras loss.
    focal_gamma : float, default=2.0
        Focusing parameter of ``loss="focal"``.
    epochs : int, default=10
        Number of epochs.
    batch_size : int, default=32
        Mini-batch size.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    callbacks : list of keras.callbacks.Callback, default=None
        Keras callbacks; epoch-level hooks are called on the compiled path.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights of the model (also of unseeded layers), dropout,
        batches, resampling and validation split, without changing any global
        random state.
    verbose : int, default=0
        Print one line per epoch.
    class_weight : None, "balanced", "log", dict or list of dict, default=None
        Class weights computed from the labels passed to ``fit`` (before
        resampling): with a sampler that already balances the classes,
        "balanced" corrects twice. See :func:`imbnet.compute_class_weight`;
        per label for a multilabel target (:func:`imbnet.compute_label_weight`).
    class_weight_mu : float, default=0.15
        Smoothing factor of ``class_weight="log"``.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` (every class in it),
        stop when its weighted loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, restore the best weights.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    prior_correction : bool, default=False
        Map ``predict_proba`` from the class mix the network trained under
        (``training_prior_``: shifted by the sampler, balanced batches and
        class weights) back to the class prior of the training data
        (``class_prior_``), as in :class:`CostSensitiveMLPClassifier`.
    output_bias_init : {"zeros", "prior"}, default="zeros"
        "prior" sets the bias of the model's output layer (its last
        ``Dense`` layer, which must have a bias of the output width) to the
        log class prior of the first epoch's training data, as in
        :class:`CostSensitiveMLPClassifier`; otherwise a ``ValueError``.
    on_divergence : {"raise", "warn"}, default="raise"
        What happens when the training loss (or, at the end, a weight) becomes
        NaN or infinite: "raise" stops at once with a ``FloatingPointError``
        and the estimator keeps the state it had before ``fit``; "warn" stops
        with a ``RuntimeWarning`` and keeps the weights of the last epoch whose
        loss was finite (``loss_curve_`` ends with the non-finite loss).
    **routed_params
        Parameters prefixed ``model__``, ``optimizer__`` or ``loss__``, and
        ``fit__epochs``, ``fit__batch_size``, ``fit__callbacks`` (scikeras's
        names for the fit settings, which they override).

    Attributes
    ----------
    classes_, n_classes_, n_features_in_, feature_names_in_, class_weight_,
    class_prior_, training_prior_, model_, history_, loss_curve_, n_iter_
        As in :class:`CostSensitiveMLPClassifier`. ``training_prior_`` is
        measured on what the network was fed: the rows the sampler returned
        (averaged over the epochs with ``resample="epoch"``) or the balanced
        batches, each with its class and sample weight.

    Examples
    --------
    >>> import keras
    >>> from imblearn.under_sampling import RandomUnderSampler
    >>> from sklearn.datasets import make_classification
    >>> from imbnet import ResampledKerasClassifier
    >>> def build(meta, units=16):
    ...     return keras.Sequential([
    ...         keras.Input((meta["n_features_in_"],)),
    ...         keras.layers.Dense(units, activation="relu"),
    ...         keras.layers.Dense(1, activation="sigmoid"),
    ...     ])
    >>> X, y = make_classification(n_samples=500, weights=[0.9], random_state=0)
    >>> clf = ResampledKerasClassifier(build, sampler=RandomUnderSampler(),
    ...                                model__units=8, epochs=5, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:3]).shape
    (3, 2)
    """

    _allow_nd = True

    _parameter_constraints: dict = {
        **ImbalancedKerasClassifier._parameter_constraints,
        "model": [None, callable, keras.Model],
        "sampler": [None, HasMethods(["fit_resample"])],
        "resample": [StrOptions({"epoch", "once"})],
        "batch_ratio": [None, Interval(Real, 1, None, closed="left")],
        "augment": [None, callable],
        "optimizer": [str, keras.optimizers.Optimizer, type],
        "loss": [StrOptions(set(LOSSES)), str, keras.losses.Loss, callable],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [None, list],
    }

    def __init__(
        self,
        model=None,
        *,
        sampler=None,
        resample="epoch",
        batch_ratio=None,
        augment=None,
        optimizer="adam",
        loss="log_loss",
        focal_gamma=2.0,
        epochs=10,
        batch_size=32,
        shuffle=True,
        callbacks=None,
        random_state=None,
        verbose=0,
        class_weight=None,
        class_weight_mu=0.15,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        prior_correction=False,
        output_bias_init="zeros",
        on_divergence="raise",
        **routed_params,
    ):
        self.model = model
        self.sampler = sampler
        self.resample = resample
        self.batch_ratio = batch_ratio
        self.augment = augment
        self.optimizer = optimizer
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.class_weight = class_weight
        self.class_weight_mu = class_weight_mu
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.prior_correction = prior_correction
        self.output_bias_init = output_bias_init
        self.on_divergence = on_divergence
        self._routed_params = dict(routed_params)

    # ------------------------------------------------- routed parameters
    # Routed parameters live in one private dict, not as attributes: they are
    # parameters to get_params, set_params and clone like any other, and
    # their names are checked at fit.
    def _get_param_names(self):
        names = BaseEstimator._get_param_names.__func__(type(self))
        return sorted([*names, *self.__dict__.get("_routed_params", {})])

    def __getattr__(self, name):
        routed = self.__dict__.get("_routed_params", {})
        if name in routed:
            return routed[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def set_params(self, **params):
        """Set parameters, routed ones (``model__units=...``) included."""
        routed = {
            name: value
            for name, value in params.items()
            if _is_routed(name) or name in self._routed_params
        }
        self._routed_params.update(routed)
        return super().set_params(
            **{name: value for name, value in params.items() if name not in routed}
        )

    def _routed(self, prefix):
        return route_params(self.get_params(), destination=prefix, pass_filter=set(), strict=True)

    # --------------------------------------------------------------- fit
    def _fit_setting(self, name):
        """A fit setting, overridden by its routed ``fit__`` form if given."""
        return self._routed_params.get(f"fit__{name}", getattr(self, name))

    def _n_epochs(self):
        return self._fit_setting("epochs")

    def _batch_size(self, n_samples):
        return min(self._fit_setting("batch_size"), n_samples)

    def _fit_callbacks(self):
        callbacks = list(self._fit_setting("callbacks") or [])
        if self.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    min_delta=self.tol,
                    patience=self.n_iter_no_change,
                    restore_best_weights=True,
                )
            )
        return callbacks

    def _check_fit_data(self, X, y_encoded):
        if self.model is None:
            raise ValueError(
                "model is required: a keras.Model or a function building one, "
                "e.g. ResampledKerasClassifier(model=build)."
            )
        self._check_routed()
        if self.sampler is not None:
            check_sampler(self.sampler)
            if self.batch_ratio is not None:
                raise ValueError(
                    "sampler and batch_ratio both set: choose one way of balancing "
                    "the training data."
                )
            if takes_sample_loss(self.sampler) and self.resample == "once":
                raise ValueError(
                    f"{type(self.sampler).__name__} draws from the current loss of every "
                    "row, which changes as the network learns: use resample='epoch'."
                )
        if self._multilabel:
            for name in ("sampler", "batch_ratio", "augment"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{name} is not defined for a multilabel y: samplers, balanced "
                        "batches and minority augmentation work on one class per sample. "
                        "Weigh the labels with class_weight (per label) instead."
                    )

    def _check_routed(self):
        """Every routed parameter reaches something that takes it; else a TypeError."""
        builder = _builder_parameters(self.model)
        own = BaseEstimator._get_param_names.__func__(type(self))
        for name in self._routed_params:
            prefix, _, rest = name.partition("__")
            if prefix == "fit" and rest not in FIT_ROUTED:
                raise TypeError(
                    f"{name!r} is not a routed fit setting; the ones there are: "
                    + ", ".join(f"fit__{setting}" for setting in FIT_ROUTED)
                    + ". imbnet runs its own fit loop rather than model.fit."
                    + did_you_mean(name, [f"fit__{setting}" for setting in FIT_ROUTED])
                )
            if not _is_routed(name):
                hint = (
                    f" Did you mean 'model__{name}'?"
                    if builder and name in builder
                    else did_you_mean(name, own)
                )
                raise TypeError(
                    f"ResampledKerasClassifier got an unexpected parameter {name!r}. "
                    "Parameters for the model builder, optimizer or loss take a prefix: "
                    f"model__{name.split('__')[-1]}, optimizer__..., loss__...{hint}"
                )
            if prefix == "model" and isinstance(self.model, keras.Model):
                raise TypeError(
                    f"{name!r} is routed to a model builder, but model is a keras.Model, "
                    "which is cloned as it is. Pass a function that builds the model, "
                    f"e.g. def build(meta, {rest}): ..., as model=build."
                )
            if prefix == "model" and builder is not None and rest not in builder:
                raise TypeError(
                    f"{name!r} is not a parameter of the model builder "
                    f"{getattr(self.model, '__name__', 'model')}({', '.join(builder)})."
                    + did_you_mean(name, [f"model__{param}" for param in builder])
                    + " Add the parameter to the builder or fix the name."
                )
            if prefix == "loss" and isinstance(self.loss, str) and self.loss in LOSSES:
                raise TypeError(
                    f"{name!r} is routed to the loss, but loss={self.loss!r} is imbnet's "
                    "and takes no routed parameters (focal_gamma sets the focal loss). "
                    "To configure a Keras loss, pass it: loss='binary_crossentropy', "
                    f"{name}=..."
                )

    def _build_model(self, meta, seeds):
        with keras_seeded(seeds.seed_for("model")):
            model = self._instantiate_model(meta)
            if not model.built:
                model.build((None,) + tuple(meta["X_shape_"][1:]))
        if not model.compiled:
            model.compile(
                optimizer=self._make_optimizer(), loss=self._make_loss(model.outputs[0].shape[-1])
            )
        return model

    def _instantiate_model(self, meta):
        if isinstance(self.model, keras.Model):
            model = keras.models.clone_model(self.model)
            if self.model.compiled:
                optimizer = self.model.optimizer
                model.compile(
                    optimizer=type(optimizer).from_config(optimizer.get_config()),
                    loss=self.model.loss,
                )
            return model
        build = self.model
        kwargs = self._routed("model")
        if has_param(build, "meta") or accepts_kwargs(build):
            kwargs["meta"] = meta
        if has_param(build, "compile_kwargs") or accepts_kwargs(build):
            # The loss for the output the builder is asked for: 1 sigmoid unit
            # (binary) or one softmax unit per class.
            width = 1 if meta["n_classes_"] == 2 else meta["n_classes_"]
            kwargs["compile_kwargs"] = {
                "optimizer": self._make_optimizer(),
                "loss": self._make_loss(width),
            }
        model = build(**kwargs)
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"the model builder returned {type(model).__name__}, not a keras.Model."
            )
        return model

    def _make_optimizer(self):
        routed = self._routed("optimizer")
        try:
            optimizer = try_to_convert_strings_to_classes(self.optimizer, get_optimizer_class)
            optimizer = unflatten_params(items=optimizer, params=routed)
            if isinstance(optimizer, keras.optimizers.Optimizer):
                # A fresh copy: the user's instance would carry its state (step
                # count, moments) from one fit into the next.
                optimizer = type(optimizer).from_config(optimizer.get_config())
            return optimizer
        except (ValueError, TypeError) as error:
            add_hint(error, _routed_hints("optimizer", self.optimizer, routed, _OPTIMIZER_FIX))
            raise

    def _make_loss(self, width):
        """The loss of an uncompiled model whose output has ``width`` units."""
        if isinstance(self.loss, str) and self.loss in LOSSES:
            return make_loss(
                self.loss, n_outputs=width, focal_gamma=self.focal_gamma,
                multilabel=self._multilabel,
            )
        routed = self._routed("loss")
        try:
            loss = try_to_convert_strings_to_classes(self.loss, get_loss_class_function_or_string)
            return unflatten_params(items=loss, params=routed)
        except (ValueError, TypeError) as error:
            add_hint(error, _routed_hints("loss", self.loss, routed, _LOSS_FIX))
            raise

    def _augment_layer(self):
        return self.augment

    def _epoch_source(self, X, y_encoded, weights, seeds):
        """Each epoch: resampled data, class-balanced batches, or plain shuffling."""
        rng = seeds.rng("batches")
        # Minority rows (to augment): every class but the most frequent one of fit's y.
        majority = None if self._multilabel else np.argmax(np.bincount(y_encoded))

        def epoch_arrays(X_e, y_e, w_e):
            augment_rows = y_e != majority if self.augment is not None else None
            return X_e, self._encode_targets(y_e), w_e, augment_rows

        if self.sampler is None and self.batch_ratio is None:
            resident = epoch_arrays(X, y_encoded, weights)

            def source(epoch):
                order = epoch_order(X.shape[0], shuffle=self.shuffle, rng=rng)
                return Epoch(*resident[:3], order, resident[3])

            return source

        if self.batch_ratio is not None:
            plan = BalancedBatchPlan(y_encoded, self._batch_size(len(y_encoded)), self.batch_ratio, rng)
            resident = epoch_arrays(X, y_encoded, weights)

            def source(epoch):
                X_e, targets, w_e, augment_rows = resident
                return Epoch(X_e, targets, w_e, plan.epoch(), augment_rows)

            return source

        class_weight = [self.class_weight_[label] for label in self.classes_.tolist()]
        # Weights that differ from the bare class weights carry a sample_weight.
        user_weights = bool(np.any(weights != np.asarray(class_weight, np.float32)[y_encoded]))
        # Hard-negative samplers draw from every row's loss under the current model.
        mines = takes_sample_loss(self.sampler)
        # A sampler with redraw (GANOverSampler) is fitted at draw 0 only, then redrawn.
        fitted = [] if callable(getattr(self.sampler, "redraw", None)) else None
        cache = {}

        def drawn(draw):
            if draw not in cache:
                cache.clear()
                sample_loss = None
                if mines and draw > 0:
                    sample_loss = row_log_loss(self._network_proba(X), y_encoded)
                resampled = resample(
                    self.sampler, X, y_encoded, weights, class_weight,
                    seed=seeds.seed_for(f"sampler{draw}"), user_weights=user_weights,
                    sample_loss=sample_loss, fitted=fitted,
                )
                cache[draw] = epoch_arrays(*resampled)
            return cache[draw]

        drawn(0)  # now: a sampler that cannot resample this data fails before training

        def source(epoch):
            X_e, targets, w_e, augment_rows = drawn(epoch if self.resample == "epoch" else 0)
            order = epoch_order(X_e.shape[0], shuffle=self.shuffle, rng=rng)
            return Epoch(X_e, targets, w_e, order, augment_rows)

        return source


def _is_routed(name):
    prefix, separator, rest = name.partition("__")
    return bool(separator) and bool(rest) and prefix in ROUTING_PREFIXES


# Arguments imbnet itself passes to a model builder.
_BUILDER_FILLED = ("meta", "compile_kwargs")
_OPTIMIZER_FIX = (
    "Could not interpret optimizer",
    "optimizer must be a Keras optimizer name ('adam', 'sgd', 'rmsprop', 'adamw', ...), "
    "class or instance.",
)
_LOSS_FIX = (
    "Could not interpret loss",
    "loss must be 'log_loss', 'focal', a Keras loss name ('binary_crossentropy', "
    "'categorical_crossentropy', ...), class, instance or function.",
)


def _builder_parameters(model):
    """Names a model builder takes as routed parameters; None if it takes any."""
    if model is None or isinstance(model, keras.Model) or accepts_kwargs(model):
        return None
    try:
        parameters = inspect.signature(model).parameters.values()
    except (TypeError, ValueError):  # a callable without a signature
        return None
    return [
        p.name for p in parameters
        if p.name not in _BUILDER_FILLED and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _routed_hints(kind, target, routed, unknown_name_fix):
    """Fixes for an error making ``target`` (the optimizer or loss setting) from
    routed ``{kind}__*`` parameters: a bad name, or a misspelt parameter."""
    getter = get_optimizer_class if kind == "optimizer" else get_loss_class_function_or_string
    try:
        target_class = getter(target) if isinstance(target, str) else target
    except ValueError:
        target_class = None
    if not inspect.isclass(target_class):
        return [unknown_name_fix]
    accepted = [name for name in inspect.signature(target_class).parameters if name != "kwargs"]
    unknown = [name for name in routed if "__" not in name and name not in accepted]
    if not unknown:
        return [unknown_name_fix]
    fix = f"{kind}__{unknown[0]} is not a parameter of {target_class.__name__}." + did_you_mean(
        f"{kind}__{unknown[0]}", [f"{kind}__{name}" for name in accepted]
    )
    return [unknown_name_fix, ("not recognized", fix), ("unexpected keyword", fix)]
