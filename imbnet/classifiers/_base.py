"""Shared base of imbnet's Keras classifiers: the fit, in named steps.

A scikit-learn classifier (``ClassifierMixin, BaseEstimator``: tags, cloning,
``get_params``/``set_params``, ``__repr__`` are scikit-learn's) whose ``fit``
reads top to bottom as a few steps a subclass can override:

1. :meth:`_prepare_data`: validate ``X``, ``y`` and ``sample_weight``; make
   the target object (:mod:`imbnet.weighting._targets`), which owns everything that
   depends on the kind of target; the class and row weights; the
   early-stopping hold-out; the class prior.
2. :meth:`_initialize_model`: build the Keras model (subclasses:
   ``_build_model``) and bind it to the target.
3. :meth:`_initialize_epochs`: the epoch source, what every epoch trains on
   (:mod:`imbnet.sampling._epochs`); then the output bias, if asked for, from the
   class mix of the first epoch.
4. :meth:`_fit_loop`: the training loop (:func:`imbnet.engine._loop.train`), with
   scikit-learn's stopping rule on the training or validation loss.
5. :meth:`_record_fit`: the fitted attributes (history, priors).

What scikeras's ``KerasClassifier`` gets wrong and this base does not: it
is a classifier to scikit-learn >= 1.6 (``ClassifierMixin`` left of the
base); parameters come from the ``__init__`` signature, not ``vars(self)``;
the caller's ``sample_weight`` is never modified; global random state is
never seeded.
"""

import os
import sys
import warnings
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, StrOptions
from .._naming import private_layer_names
from .._persistence import KerasStateMixin
from .._random import SeedStream, fit_seed, reseed_layer
from .._validation import validate_fit_data, validate_predict_data
from ..data._dask import check_in_memory, is_dask_collection, predict_dask
from ..data._text import (
    NamedInputs,
    adapt_preprocessing,
    check_model_inputs,
    check_text,
    check_text_fit_data,
    is_text,
)
from ..engine._loop import Stopping, predict_outputs, train
from ..sampling._epochs import DeferredReweighting, FitData, PlainEpochs
from ..weighting._class_weight import CLASS_WEIGHT_STRINGS
from ..weighting._long_tail_losses import output_prior
from ..weighting._losses import LOSSES
from ..weighting._priors import set_output_bias
from ..weighting._targets import make_target

__all__ = ["ImbalancedKerasClassifier"]

# Frames in these directories are library code, skipped when a warning points at its caller.
_LIBRARY_DIRS = tuple(
    os.path.dirname(module.__file__) + os.sep
    for module in (sys.modules[__package__], sys.modules["sklearn"])
)


class LogProbaMixin:
    """``predict_log_proba`` from ``predict_proba`` (a probability of 0 gives -inf)."""

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of the shape of ``predict_proba(X)``
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class ImbalancedKerasClassifier(ClassifierMixin, LogProbaMixin, KerasStateMixin, BaseEstimator):
    """Base class of imbnet's classifiers; not for direct use.

    Subclasses implement ``_build_model(meta, seeds)`` returning a compiled
    Keras model, ``_n_epochs()``, ``_batch_size(n_samples=None)`` and
    ``_fit_callbacks()``; they may override any step of the fit
    (``_prepare_data``, ``_check_fit_data``, ``_initialize_model``,
    ``_initialize_epochs``, ``_fit_loop``, ``_record_fit``) and
    ``_augment_layer``.
    """

    # Whether X may have more than two dimensions (images, sequences).
    _allow_nd = False
    # Whether X may be text, one document per row, for models that read strings.
    _accepts_text = False
    # Whether y may hold a class per time step (a network with sequence output).
    _allow_per_step = False
    # Whether tol / n_iter_no_change stop training on the training loss
    # (scikit-learn's MLP does; a Keras user's `epochs` is a fixed count).
    _tol_stops_training = True

    _parameter_constraints: dict = {
        "class_weight": [None, StrOptions(set(CLASS_WEIGHT_STRINGS)), dict, list],
        "class_weight_mu": [Interval(Real, 0, None, closed="neither")],
        "loss": [StrOptions(set(LOSSES))],
        "focal_gamma": [Interval(Real, 0, None, closed="left")],
        "logit_tau": [Interval(Real, 0, None, closed="left")],
        "ldam_margin": [Interval(Real, 0, None, closed="left")],
        "class_weight_beta": [Interval(Real, 0, 1, closed="left")],
        "deferred_reweighting": [
            None,
            Interval(Integral, 0, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
        ],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "prior_correction": ["boolean"],
        "output_bias_init": [StrOptions({"zeros", "prior"})],
        "on_divergence": [StrOptions({"raise", "warn"})],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.classifier_tags.multi_label = True
        return tags

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``(X, y)``, weighting classes and samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN and infinite values are refused, sparse
            matrices unless the estimator's ``input_tags.sparse`` is True
            (:class:`imbnet.CostSensitiveMLPClassifier`: densified batch by batch).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels of any type, at least two classes; or a multilabel
            0/1 indicator matrix (one sigmoid output and one binary loss per
            label).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; multiplied by the class weights. The caller's
            array is not modified.

        Returns
        -------
        self : object
            The fitted estimator.

        Notes
        -----
        ``fit`` is transactional: if it raises, or is interrupted
        (``KeyboardInterrupt``, e.g. Ctrl-C, in the middle of an epoch), the
        estimator keeps exactly the state it had before the call: unfitted, or
        the previous fit, which still predicts as before. Bad input is
        refused before training starts. An exception raised in a user's model
        builder, callback or sampler reaches the caller with its own type and
        traceback.
        """
        self._validate_params()
        snapshot = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise

    def _fit(self, X, y, sample_weight):
        data, validation = self._prepare_data(X, y, sample_weight)
        with private_layer_names():  # see _naming: repeated fits leak otherwise
            self._initialize_model(data)
            data = data._replace(targets=self._target.encode(data.y))
            if validation is not None:
                X_val, y_val, w_val = validation
                validation = (X_val, self._target.encode(y_val), w_val)
            source = self._initialize_epochs(data)
            result = self._fit_loop(source, validation, data)
        self._record_fit(result, source)
        return self

    def _prepare_data(self, X, y, sample_weight):
        """Step 1: validated data, target, weights, hold-out and class prior.

        Returns ``(data, validation)``: a :class:`imbnet.sampling._epochs.FitData` of
        the training rows (``targets`` not yet encoded: that needs the model)
        and ``(X, y_encoded, weights)`` of the hold-out, or None.
        """
        check_in_memory(self, X, y, sample_weight)
        X, y, sample_weight = self._validate_fit_input(X, y, sample_weight)
        target, y_encoded = make_target(y, n_steps=X.shape[1] if X.ndim == 3 else None)
        if target.per_step and not self._allow_per_step:
            raise ValueError(
                f"y is 2-D, shape {y.shape}, but not a 0/1 indicator matrix: "
                f"{type(self).__name__} takes 1-D class labels or a multilabel 0/1 indicator "
                "matrix, as MLPClassifier does. For a class "
                "per time step use ResampledKerasClassifier with a model that outputs "
                "(n_samples, n_steps, n_classes)."
            )
        self._target = target
        self.classes_ = target.classes_
        self.n_classes_ = target.n_classes
        self.class_weight_ = target.class_weight(
            self.class_weight, y_encoded, mu=self.class_weight_mu, beta=self.class_weight_beta
        )
        weights = target.row_weights(self.class_weight_, y_encoded, sample_weight)
        self._check_fit_data(X, y_encoded)
        seeds = SeedStream(fit_seed(self.random_state))
        validation = None
        if self.early_stopping:
            train_rows, valid_rows = target.holdout(
                y_encoded, self.validation_fraction, seeds.rng("validation")
            )
            validation = (X[valid_rows], y_encoded[valid_rows], weights[valid_rows])
            X, y_encoded, weights = X[train_rows], y_encoded[train_rows], weights[train_rows]
            if sample_weight is not None:
                sample_weight = sample_weight[train_rows]
        self.class_prior_ = target.prior(y_encoded, sample_weight)
        data = FitData(
            X=X,
            y=y_encoded,
            targets=None,
            weights=weights,
            class_weight=target.class_weight_vector(self.class_weight_),
            sample_weight=sample_weight,
            target=target,
            seeds=seeds,
        )
        return data, validation

    def _check_fit_data(self, X, y_encoded):
        """Hook for subclass checks of the training data, before any training."""

    def _validate_fit_input(self, X, y, sample_weight):
        """X, y and sample_weight checked for fit: numeric arrays, or text (one
        document per row) for an estimator whose models may read strings."""
        self._input_kind = "text" if self._accepts_text and is_text(X) else "array"
        if self._input_kind == "text":
            return check_text_fit_data(self, X, y, sample_weight)
        return validate_fit_data(self, X, y, sample_weight, allow_nd=self._allow_nd)

    def _validate_predict_input(self, X):
        """X checked against what fit saw: text if fit took text."""
        if getattr(self, "_input_kind", "array") == "text":
            return check_text(_text_columns(self, X))
        return validate_predict_data(self, X, allow_nd=self._allow_nd)

    def _initialize_model(self, data):
        """Step 2: build ``model_`` and bind it to the target (output width, loss)."""
        self.model_ = self._target.bind(self._build_model(self._model_meta(data.X), data.seeds))
        if isinstance(data.X, NamedInputs):
            check_model_inputs(self.model_, data.X.arrays)
        # Preprocessing layers the builder left without vocabulary or statistics
        # learn them here, from the training rows only (never validation rows).
        adapt_preprocessing(self.model_, data.X)

    def _initialize_epochs(self, data, source=None, output_models=None):
        """Step 3: the epoch source; the output bias from the first epoch's class mix.

        With ``deferred_reweighting`` the epochs before the switch train
        without class weights (:class:`imbnet.sampling._epochs.DeferredReweighting`).
        ``source`` (default: :meth:`_epoch_source`) and ``output_models``, the
        networks whose output bias starts at the prior (default: ``model_``),
        let a meta-estimator train several networks side by side.
        """
        source = self._epoch_source(data) if source is None else source
        self._reweight_from = self._reweighting_epoch()
        if self._reweight_from:
            source = DeferredReweighting(
                source,
                self._reweight_from,
                lambda targets: data.target.entry_class_weight(self.class_weight_, targets),
                data.target.encoding,
            )
        if self.output_bias_init == "prior":
            first = source(0)
            tally = data.target.tally()
            tally.add(0, first.y, first.w, first.order, data.target.encoding)
            # The base rate as the loss sees it: the long-tail losses shift it.
            start = output_prior(self.model_.loss, tally.prior())
            for model in output_models or [self.model_]:
                width = model.outputs[0].shape[-1]
                set_output_bias(model, data.target.output_bias(start, width))
        augment = self._augment_layer()
        if isinstance(augment, keras.layers.Layer):
            reseed_layer(augment, data.seeds.seed_for("augment"))
        return source

    def _epoch_source(self, data):
        """Every epoch: the training arrays in a fresh row order."""
        return PlainEpochs(data, shuffle=self.shuffle)

    def _fit_loop(self, source, validation, data):
        """Step 4: train; returns :class:`imbnet.engine._records.TrainResult`."""
        return train(
            self.model_,
            source,
            epochs=self._n_epochs(),
            batch_size=self._batch_size(),  # an epoch of fewer rows is one batch
            callbacks=self._fit_callbacks(),
            validation=validation,
            stopping=self._stopping(),
            verbose=self.verbose,
            augment=self._augment_layer(),
            on_divergence=self.on_divergence,
        )

    def _stopping(self):
        """scikit-learn's rule, on the validation loss with early stopping; from the
        switch of deferred re-weighting on (the loss changes scale there)."""
        if self.early_stopping:
            monitor = "val_loss"
        elif self._tol_stops_training:
            monitor = "loss"
        else:
            monitor = None
        return Stopping(monitor, float(self.tol), int(self.n_iter_no_change), self._reweight_from)

    def _reweighting_epoch(self):
        """The epoch from which class weights apply: 0, or later with ``deferred_reweighting``."""
        deferred = self.deferred_reweighting
        if deferred is None:
            return 0
        if self.class_weight is None:
            raise ValueError(
                "deferred_reweighting switches the class weights on at an epoch, but "
                "class_weight=None gives none: set class_weight (e.g. 'effective', as "
                "Cao et al.'s LDAM-DRW), or leave deferred_reweighting=None."
            )
        if isinstance(deferred, Integral):
            return int(deferred)
        return int(deferred * self._n_epochs())

    def _loss_options(self):
        """What the training losses take beyond their name: the long-tail losses
        adjust for the class prior of the training rows (``class_prior_``)."""
        return dict(
            focal_gamma=self.focal_gamma,
            class_prior=self.class_prior_,
            logit_tau=self.logit_tau,
            ldam_margin=self.ldam_margin,
        )

    def _record_fit(self, result, source):
        """Step 5: history, loss curve, epochs run and the training prior."""
        self.history_ = result.history
        self.loss_curve_ = self.history_["loss"]
        self.n_iter_ = len(self.loss_curve_)
        # With deferred re-weighting the network ends fitted to the re-weighted
        # epochs, if it reached them; the long-tail losses shift the prior.
        first = self._reweight_from if self._reweight_from < self.n_iter_ else 0
        self.training_prior_ = output_prior(
            self.model_.loss, source.tally.prior(self.n_iter_, first)
        )
        if self._tol_stops_training and not result.converged and self.n_iter_ == self._n_epochs():
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.n_iter_}) reached and "
                "the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=_user_stacklevel(),
            )

    def _augment_layer(self):
        """Hook: a layer applied to the rows an epoch marks in ``augment_rows``."""
        return None

    def _model_meta(self, X):
        """What a model builder may know of the data, named as in scikeras's ``meta``."""
        return {
            "n_features_in_": X.shape[1],
            "X_shape_": X.shape,
            "X_dtype_": X.dtype,
            "classes_": self.classes_,
            "n_classes_": self.n_classes_,
            "target_type_": self._target.type_name,
            "n_outputs_": 1,
            "n_outputs_expected_": 1,
        }

    # -------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Class probabilities, one column per class in ``classes_`` order.

        With ``prior_correction=True`` they are mapped from the class mix the
        network trained under (``training_prior_``) back to the class prior
        of the training data (``class_prior_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            For a multilabel target, shape (n_samples, n_labels): the
            probability of each label being 1 (scikit-learn's
            ``MLPClassifier`` convention).
        """
        check_is_fitted(self, "model_")
        if is_dask_collection(X):  # a lazy Dask array, computed on the workers
            return predict_dask(self, X, "predict_proba")
        X = self._validate_predict_input(X)
        proba = self._network_proba(X)
        if self.prior_correction:
            proba = self._target.correct(proba, self.class_prior_, self.training_prior_)
        return proba

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on ``(X, y)``, weighted by ``sample_weight``.

        scikit-learn's ``ClassifierMixin.score``: the fraction of rows predicted
        right (for a multilabel target, with every label right). For a class
        per time step, the fraction of (row, step) entries predicted right.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        check_is_fitted(self, "model_")
        return self._target.score(y, self.predict(X), sample_weight)

    def _network_proba(self, X):
        """The network's probabilities for validated ``X``, uncorrected."""
        outputs = predict_outputs(self.model_, X)
        finite = np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1)
        if not finite.all():
            # Else argmax would silently pick the first class for those rows.
            bad = np.flatnonzero(~finite)
            raise ValueError(
                f"the network's outputs are NaN or infinite for {len(bad)} of "
                f"{len(outputs)} rows (e.g. row {bad[0]}), so it has no prediction for "
                "them. A row the model cannot represent does this, e.g. a document with "
                "no words under a masked average of word embeddings (the average of no "
                "words is NaN): give such rows a placeholder word, or check the model's "
                "layers for a division by zero."
            )
        return self._target.proba(outputs)

    def predict(self, X):
        """Predicted class labels, of the same type as the labels of ``y``.

        The class of highest ``predict_proba`` (scikit-learn's convention):
        cost-sensitive with class weights or resampling, or, with
        ``prior_correction=True``, the most probable class under the data's
        own prior (fewer minority predictions). For a decision threshold
        tuned to a metric, use :class:`sklearn.model_selection.TunedThresholdClassifierCV`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            For a multilabel target, the 0/1 matrix of shape
            (n_samples, n_labels): each label whose probability exceeds 0.5.
        """
        check_is_fitted(self, "model_")
        if is_dask_collection(X):  # a lazy Dask array, computed on the workers
            return predict_dask(self, X, "predict")
        return self._target.decide(self.predict_proba(X))


def _user_stacklevel():
    """The ``stacklevel`` of the first caller outside imbnet (and scikit-learn), for a
    warning raised anywhere inside a fit: it points at the user's line whatever steps
    and mixins the fit went through."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame, level = frame.f_back, level + 1
    return level


def _text_columns(estimator, X):
    """Of a DataFrame at predict, the text column fit saw (by name)."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or not hasattr(X, "columns"):
        return X
    missing = [name for name in names if name not in X.columns]
    if missing:
        raise ValueError(
            f"X has no column {missing[0]!r}, the text column the model was fitted on; "
            f"its columns are {list(X.columns)[:10]}."
        )
    return X[list(names)]
