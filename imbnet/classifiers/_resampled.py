"""``ResampledKerasClassifier``: any Keras model, with resampling inside fit."""

import functools
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import BaseEstimator

from .._compat import HasMethods, Interval, StrOptions
from .._random import keras_seeded
from ..data._dask import DaskRows, dask_epochs, fit_dask, is_dask_collection
from ..data._text import check_named_inputs, check_text_fit_data
from ..sampling._epochs import BalancedBatchEpochs, PlainEpochs, SamplerEpochs
from ..sampling._samplers import check_row_sampler, check_sampler, in_codes, takes_sample_loss
from ..weighting._losses import LOSSES
from ._base import ImbalancedKerasClassifier
from ._routing import (
    FIT_ROUTED,
    call_builder,
    check_routed,
    is_routed,
    make_keras_loss,
    make_optimizer,
    routed,
)
from ._steady import steady_validation

__all__ = ["ResampledKerasClassifier"]


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
        evaluated per (row, label) entry (:class:`imbnet.weighting._losses.LabelwiseLoss`),
        so that label weights apply entry by entry.

        A model whose input takes strings (``keras.Input((1,),
        dtype="string")``) takes raw text as ``X``: a list of str, a 1-D
        array of strings, a pandas Series or a one-column DataFrame, one
        document per row. Preprocessing layers the model leaves un-adapted
        (``TextVectorization``, ``StringLookup``, ``IntegerLookup``,
        ``Normalization``) are adapted on the training rows of each fit.
    inputs : dict, default=None
        For a model with several named inputs: ``{input name: [DataFrame
        column, ...]}``, e.g. ``{"text": ["title"], "numeric": ["amount",
        "age"]}``; ``X`` is then a DataFrame holding those columns, and each
        ``keras.Input`` is named as its key. The columns of one input are all
        text (strings) or all numeric.
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
    loss : str or a Keras loss, default="log_loss"
        Loss of an uncompiled model: "log_loss" (cross-entropy), "focal",
        "logit_adjusted", "balanced_softmax" or "ldam", matched to the output
        (binary, categorical or multilabel) as in
        :class:`CostSensitiveMLPClassifier`, or any Keras loss. The long-tail
        losses adjust for the class prior of the data passed to ``fit``
        (``class_prior_``, before resampling), as ``class_weight`` does.
    focal_gamma : float, default=2.0
        Focusing parameter of ``loss="focal"``.
    logit_tau : float, default=1.0
        ``τ`` of ``loss="logit_adjusted"``.
    ldam_margin : float, default=0.5
        Margin of the rarest class with ``loss="ldam"``.
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
    class_weight : None, "balanced", "log", "effective", dict or list of dict, default=None
        Class weights computed from the labels passed to ``fit`` (before
        resampling): with a sampler that already balances the classes,
        "balanced" corrects twice. See :func:`imbnet.compute_class_weight`;
        per label for a multilabel target (:func:`imbnet.compute_label_weight`).
    class_weight_mu : float, default=0.15
        Smoothing factor of ``class_weight="log"``.
    class_weight_beta : float in [0, 1), default=0.999
        ``beta`` of ``class_weight="effective"``.
    deferred_reweighting : None, int or float in (0, 1), default=None
        Class weights only from an epoch on (DRW), as in
        :class:`CostSensitiveMLPClassifier`; a float is a fraction of ``epochs``.
        With a sampler, the rows it draws keep their ``sample_weight`` before
        the switch.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` (every class in it),
        stop when its weighted loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, restore the best weights. With a sampler
        redrawn every epoch, the hold-out's classes are weighted to the shares
        of weight they have in the sampler's draws (balanced, for random
        under-sampling), so the rule watches the loss the network is trained
        to lower, as :class:`imbnet.BalancedEnsembleClassifier`'s members do.
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
    _accepts_text = True
    _allow_per_step = True

    _parameter_constraints: dict = {
        **ImbalancedKerasClassifier._parameter_constraints,
        "model": [None, callable, keras.Model],
        "inputs": [None, dict],
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
        inputs=None,
        sampler=None,
        resample="epoch",
        batch_ratio=None,
        augment=None,
        optimizer="adam",
        loss="log_loss",
        focal_gamma=2.0,
        logit_tau=1.0,
        ldam_margin=0.5,
        epochs=10,
        batch_size=32,
        shuffle=True,
        callbacks=None,
        random_state=None,
        verbose=0,
        class_weight=None,
        class_weight_mu=0.15,
        class_weight_beta=0.999,
        deferred_reweighting=None,
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
        self.inputs = inputs
        self.sampler = sampler
        self.resample = resample
        self.batch_ratio = batch_ratio
        self.augment = augment
        self.optimizer = optimizer
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.logit_tau = logit_tau
        self.ldam_margin = ldam_margin
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.class_weight = class_weight
        self.class_weight_mu = class_weight_mu
        self.class_weight_beta = class_weight_beta
        self.deferred_reweighting = deferred_reweighting
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.prior_correction = prior_correction
        self.output_bias_init = output_bias_init
        self.on_divergence = on_divergence
        self._routed_params = dict(routed_params)

    _tol_stops_training = False

    # ------------------------------------------------- routed parameters
    # Routed parameters live in one private dict, not as attributes: they are
    # parameters to get_params, set_params and clone like any other, and
    # their names are checked at fit.
    def _get_param_names(self):
        names = BaseEstimator._get_param_names.__func__(type(self))
        return sorted([*names, *self.__dict__.get("_routed_params", {})])

    def __getattr__(self, name):
        routed_params = self.__dict__.get("_routed_params", {})
        if name in routed_params:
            return routed_params[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def set_params(self, **params):
        """Set parameters, routed ones (``model__units=...``) included."""
        routed_params = {
            name: value
            for name, value in params.items()
            if is_routed(name) or name in self._routed_params
        }
        self._routed_params.update(routed_params)
        return super().set_params(
            **{name: value for name, value in params.items() if name not in routed_params}
        )

    @classmethod
    def from_scikeras(cls, estimator, **params):
        """An imbnet estimator doing what a scikeras ``KerasClassifier`` does.

        The migration path from scikeras: the model (instance or builder),
        its routed parameters (``model__*``, ``optimizer__*``, ``loss__*``),
        optimizer, loss, epochs, batch size, callbacks, shuffle, verbosity,
        class weight and random state are carried over; ``params`` set
        imbnet's own (``sampler``, ``batch_ratio``, ``prior_correction``, ...).
        A scikeras ``fit__*`` routed setting becomes imbnet's equivalent where
        there is one (epochs, batch_size, callbacks); others raise a
        ``TypeError`` naming them.

        Parameters
        ----------
        estimator : scikeras.wrappers.KerasClassifier
            Fitted or not; only its parameters are read.
        **params
            Further parameters of :class:`ResampledKerasClassifier`.

        Returns
        -------
        ResampledKerasClassifier
            Unfitted.

        Examples
        --------
        >>> import keras
        >>> from scikeras.wrappers import KerasClassifier
        >>> from imblearn.under_sampling import RandomUnderSampler
        >>> from imbnet import ResampledKerasClassifier
        >>> def build(meta, hidden=16):
        ...     return keras.Sequential([
        ...         keras.Input((meta["n_features_in_"],)),
        ...         keras.layers.Dense(hidden, activation="relu"),
        ...         keras.layers.Dense(1, activation="sigmoid")])
        >>> kc = KerasClassifier(build, model__hidden=8, loss="binary_crossentropy",
        ...                      epochs=5, optimizer__learning_rate=0.01)
        >>> clf = ResampledKerasClassifier.from_scikeras(kc, sampler=RandomUnderSampler())
        >>> clf.get_params()["model__hidden"], clf.epochs
        (8, 5)
        """
        source = estimator.get_params(deep=False)
        own = set(BaseEstimator._get_param_names.__func__(cls))
        settings = {}
        for name in (
            "optimizer",
            "loss",
            "epochs",
            "batch_size",
            "callbacks",
            "shuffle",
            "verbose",
            "class_weight",
            "random_state",
        ):
            if source.get(name) is not None:
                settings[name] = source[name]
        for name, value in source.items():
            prefix, _, rest = name.partition("__")
            if not rest:
                continue
            if prefix in ("model", "optimizer", "loss"):
                settings[name] = value
            elif prefix == "fit":
                if rest not in FIT_ROUTED:
                    raise TypeError(
                        f"{name!r} has no imbnet equivalent: imbnet runs its own fit loop. "
                        "Remove it, or set the matching imbnet parameter."
                    )
                settings[rest] = value
            elif prefix == "callbacks":
                raise TypeError(f"{name!r}: pass the callback instances in callbacks=[...].")
        unknown = [name for name in params if name not in own and not is_routed(name)]
        if unknown:
            raise TypeError(f"unknown parameters for ResampledKerasClassifier: {unknown}")
        return cls(source["model"], **{**settings, **params})

    # --------------------------------------------------------------- fit
    def _fit(self, X, y, sample_weight):
        if is_dask_collection(X):  # data larger than memory: imbnet.data._dask
            self._input_kind = "array"
            return fit_dask(self, X, y, sample_weight)
        return super()._fit(X, y, sample_weight)

    def _validate_fit_input(self, X, y, sample_weight):
        if self.inputs is None:
            return super()._validate_fit_input(X, y, sample_weight)
        self._input_kind = "named"
        return check_text_fit_data(self, X, y, sample_weight, inputs=self.inputs)

    def _validate_predict_input(self, X):
        if getattr(self, "_input_kind", None) == "named":
            return check_named_inputs(X, self.inputs)
        return super()._validate_predict_input(X)

    def _fit_setting(self, name):
        """A fit setting, overridden by its routed ``fit__`` form if given."""
        return self._routed_params.get(f"fit__{name}", getattr(self, name))

    def _n_epochs(self):
        return self._fit_setting("epochs")

    def _batch_size(self, n_samples=None):
        size = self._fit_setting("batch_size")
        return size if n_samples is None else min(size, n_samples)

    def _fit_callbacks(self):
        return list(self._fit_setting("callbacks") or [])

    def _check_fit_data(self, X, y_encoded):
        if self.model is None:
            raise ValueError(
                "model is required: a keras.Model or a function building one, "
                "e.g. ResampledKerasClassifier(model=build)."
            )
        check_routed(
            self._routed_params,
            model=self.model,
            loss=self.loss,
            own=BaseEstimator._get_param_names.__func__(type(self)),
            imbnet_losses=LOSSES,
        )
        if self.sampler is not None:
            check_sampler(self.sampler)
            coded = in_codes(self.sampler, self.classes_)  # names an unknown class: fails now
            kind = getattr(self, "_input_kind", "array")
            if kind != "array":
                check_row_sampler(coded, y_encoded, data=f"{kind} input")
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
        if self._target.multilabel or self._target.per_step:
            kind = "multilabel" if self._target.multilabel else "class-per-time-step"
            for name in ("sampler", "batch_ratio", "augment"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{name} is not defined for a {kind} y: samplers, "
                        "balanced batches and minority augmentation work on one class per "
                        "sample. Weigh the classes with class_weight instead (and, for a "
                        "class per time step, sample_weight of shape (n_samples, n_steps))."
                    )

    def _build_model(self, meta, seeds):
        with keras_seeded(seeds.seed_for("model")):
            model = self._instantiate_model(meta)
            if not model.built:
                model.build((None,) + tuple(meta["X_shape_"][1:]))
        _check_input_width(model, meta["X_shape_"])
        if not model.compiled:
            model.compile(
                optimizer=self._make_optimizer(), loss=self._make_loss(model.outputs[0].shape[-1])
            )
        return model

    def _instantiate_model(self, meta):
        if isinstance(self.model, keras.Model):
            # Cloning an instance loads nothing: a Lambda layer's function is the
            # caller's own, so Keras's safe mode (meant for files) does not apply.
            with _unsafe_clone_scope():
                model = keras.models.clone_model(self.model)
            if self.model.compiled:
                optimizer = self.model.optimizer
                model.compile(
                    optimizer=type(optimizer).from_config(optimizer.get_config()),
                    loss=self.model.loss,
                )
            return model

        def compile_kwargs():
            # The loss for the output the builder is asked for.
            return {
                "optimizer": self._make_optimizer(),
                "loss": self._make_loss(self._target.output_width),
            }

        return call_builder(self.model, routed(self.get_params(), "model"), meta, compile_kwargs)

    def _make_optimizer(self):
        return make_optimizer(self.optimizer, routed(self.get_params(), "optimizer"))

    def _make_loss(self, width):
        """The loss of an uncompiled model whose output has ``width`` units."""
        if isinstance(self.loss, str) and self.loss in LOSSES:
            return self._target.loss(self.loss, width=width, **self._loss_options())
        return make_keras_loss(self.loss, routed(self.get_params(), "loss"))

    def _augment_layer(self):
        return self.augment

    def _row_loss(self, data):
        """Every training row's cross-entropy under the model as trained so far."""
        return data.target.row_loss(self._network_proba(data.X), data.y)

    def _fit_loop(self, source, validation, data):
        """The base's loop; with a sampler redrawn every epoch and ``early_stopping``,
        the hold-out's loss weighted to the class mix of the draws (as the ensemble's
        members stop: :mod:`imbnet.classifiers._steady`)."""
        target = data.target
        if (
            validation is not None
            and self.sampler is not None
            and self.resample == "epoch"
            and not (target.multilabel or target.per_step)
            and isinstance(validation[0], np.ndarray)
        ):
            X_val, targets_val, w_val = validation
            # the encoded labels back from the network's targets (a column or one-hot)
            labels = targets_val[:, 0] if targets_val.shape[-1] == 1 else targets_val.argmax(axis=1)
            X_val, labels, w_val = steady_validation(
                self, data, (X_val, labels.astype(np.int64), w_val), source
            )
            validation = (X_val, target.encode(labels), w_val)
        return super()._fit_loop(source, validation, data)

    def _epoch_source(self, data):
        """Each epoch: resampled data, class-balanced batches, or plain shuffling."""
        if isinstance(data.X, DaskRows):  # a down-sample drawn on a Dask cluster
            return dask_epochs(self, data)
        minority = None
        if self.augment is not None:
            # Every class but the most frequent one of fit's y, in any epoch's rows.
            minority = functools.partial(data.target.minority_rows, of=data.y)
            data = data._replace(augment_rows=minority(data.y))
        if self.batch_ratio is not None:
            return BalancedBatchEpochs(
                data, batch_size=self._batch_size(data.X.shape[0]), ratio=self.batch_ratio
            )
        if self.sampler is None:
            return PlainEpochs(data, shuffle=self.shuffle)
        # Hard-negative samplers draw from every row's loss under the current model.
        current_loss = (
            functools.partial(self._row_loss, data) if takes_sample_loss(self.sampler) else None
        )
        return SamplerEpochs(
            data,
            sampler=in_codes(self.sampler, data.target.classes_),  # it sees encoded labels
            per_epoch=self.resample == "epoch",
            shuffle=self.shuffle,
            current_loss=current_loss,
            minority_rows=minority,
        )


def _unsafe_clone_scope():
    """Keras's scope that lets ``clone_model`` rebuild ``Lambda`` layers of a live model."""
    import contextlib

    try:
        from keras.src.saving.serialization_lib import SafeModeScope
    except ImportError:  # pragma: no cover - other Keras layouts
        return contextlib.nullcontext()
    return SafeModeScope(False)


def _check_input_width(model, X_shape):
    """A network whose input shape differs from X's: say so at fit, not deep in predict."""
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        return
    expected = tuple(inputs[0].shape[1:])
    actual = tuple(X_shape[1:])
    known = len(expected) == len(actual) and all(
        e is None or e == a for e, a in zip(expected, actual)
    )
    if not known:
        raise ValueError(
            f"the network's input takes rows of shape {expected}, but X has rows of shape "
            f"{actual}: build keras.Input from the builder's meta "
            '(keras.Input((meta["n_features_in_"],)), or meta["X_shape_"][1:])'
        )
