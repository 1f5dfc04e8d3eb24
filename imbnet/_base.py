"""Shared base of imbnet's Keras classifiers.

Built on scikeras's ``BaseWrapper`` (the Keras wrapping: model building from a
``model`` callable with ``meta``, routed parameters, pickling of Keras models),
with the repairs scikeras 0.13 needs on scikit-learn >= 1.6 and the imbalance
handling both estimators share (class weights, sample weights, focal loss,
stratified early stopping, seeded fits). What is broken in scikeras, and the
repair:

- Tags: ``KerasClassifier(BaseWrapper, ClassifierMixin)`` puts
  ``ClassifierMixin`` right of ``BaseEstimator`` in the MRO, so its tags report
  no estimator type: ``is_classifier`` is False, ``cv=5`` becomes plain KFold
  and ``roc_auc`` scores are NaN. A subclass cannot reorder that MRO, so this
  base derives from ``BaseWrapper`` with ``ClassifierMixin`` on the left, as
  scikit-learn requires, and keeps none of ``KerasClassifier``.
- Parameters: scikeras reads parameter names from ``vars(self)``; here they
  come from the ``__init__`` signature, as in scikit-learn.
- Validation: scikit-learn's ``validate_data`` (feature names, feature count,
  NaN/inf, sparse and dtype errors), ``_check_sample_weight`` and
  ``check_classification_targets``, their messages completed with the fix
  (``_validation``).
- ``sample_weight`` is never modified in place (``KerasClassifier`` multiplies
  the caller's array by the class weights).
- Random state: scikeras seeds the global Python/NumPy/TensorFlow generators
  during fit; here every random choice gets its own seed and global state is
  left alone.
- ``__repr__`` and ``set_params`` are scikit-learn's.
"""

from numbers import Integral, Real

import keras
import numpy as np
from scikeras.wrappers import BaseWrapper
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._batching import epoch_order, stratified_holdout
from ._class_weight import (
    CLASS_WEIGHT_STRINGS,
    compute_class_weight,
    compute_label_sample_weight,
    compute_label_weight,
    compute_sample_weight,
)
from ._engine import Epoch, predict_outputs, train
from ._long_tail_losses import output_prior
from ._losses import LOSSES, LabelwiseLoss
from ._naming import private_layer_names
from ._persistence import keras_to_references, references_to_keras
from ._priors import PriorTally, correct_proba, data_prior, output_bias, set_output_bias
from ._random import SeedStream, fit_seed, reseed_layer
from ._validation import validate_fit_data, validate_predict_data

__all__ = ["ImbalancedKerasClassifier"]


def _never(estimator):
    return False


class ImbalancedKerasClassifier(ClassifierMixin, BaseWrapper):
    """Base class of imbnet's classifiers; not for direct use.

    Subclasses implement ``_build_model(meta, seeds)`` returning a compiled
    Keras model, ``_n_epochs()``, ``_batch_size(n_samples)`` and
    ``_fit_callbacks()``; they may override ``_epoch_source`` (what each epoch
    trains on), ``_augmenter`` and ``_check_fit_data``.
    """

    # Whether X may have more than two dimensions (images, sequences).
    _allow_nd = False

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

    # scikit-learn's own parameter handling, not scikeras's vars(self) one.
    _get_param_names = classmethod(BaseEstimator._get_param_names.__func__)
    set_params = BaseEstimator.set_params
    __repr__ = BaseEstimator.__repr__

    # scikeras's incremental API does not fit this class's fit loop.
    partial_fit = available_if(_never)(BaseWrapper.partial_fit)
    initialize = available_if(_never)(BaseWrapper.initialize)

    # imbnet.save / imbnet.load store Keras objects in Keras's format, not skops's.
    def __getstate__(self):
        return keras_to_references(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(references_to_keras(state))

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
            Training data; NaN, infinite values and sparse matrices are refused.
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
        X, y, sample_weight = validate_fit_data(self, X, y, sample_weight, allow_nd=self._allow_nd)
        y, self._multilabel, self.classes_, y_encoded = _encode_labels(y)
        self.n_classes_ = self.classes_.shape[0]
        if self._multilabel:
            self.class_weight_ = compute_label_weight(
                self.class_weight, Y=y_encoded, mu=self.class_weight_mu,
                beta=self.class_weight_beta,
            )
            weights = compute_label_sample_weight(self.class_weight_, y_encoded, sample_weight)
        else:
            self.class_weight_ = compute_class_weight(
                self.class_weight, classes=self.classes_, y=y, mu=self.class_weight_mu,
                beta=self.class_weight_beta,
            )
            weights = compute_sample_weight(
                [self.class_weight_[label] for label in self.classes_.tolist()],
                y_encoded,
                sample_weight,
            )
        self._check_fit_data(X, y_encoded)
        n_epochs = self._n_epochs()
        reweight_from = self._reweighting_epoch(n_epochs)

        seeds = SeedStream(fit_seed(self.random_state))
        validation = None
        if self.early_stopping:
            train_rows, valid_rows = stratified_holdout(
                y_encoded, self.validation_fraction, seeds.rng("validation")
            )
            validation = (X[valid_rows], y_encoded[valid_rows], weights[valid_rows])
            X, y_encoded, weights = X[train_rows], y_encoded[train_rows], weights[train_rows]
            if sample_weight is not None:
                sample_weight = sample_weight[train_rows]
        self.class_prior_ = data_prior(
            y_encoded, sample_weight, n_classes=self.n_classes_, multilabel=self._multilabel
        )

        with private_layer_names():  # see _naming: repeated fits leak otherwise
            self.model_ = self._build_model(self._model_meta(X), seeds)
            self._target_encoding = _target_encoding(
                self.model_, self.n_classes_, self._multilabel
            )
            if self._multilabel and not isinstance(self.model_.loss, LabelwiseLoss):
                # Per-entry weights need a loss per entry, whatever loss the model came with.
                self.model_.compile(
                    optimizer=self.model_.optimizer, loss=LabelwiseLoss(self.model_.loss)
                )
            if validation is not None:
                X_valid, y_valid, w_valid = validation
                validation = (X_valid, self._encode_targets(y_valid), w_valid)
            source = self._epoch_source(X, y_encoded, weights, seeds)
            callbacks = self._fit_callbacks()
            if reweight_from:  # deferred re-weighting (DRW)
                source = _deferring(source, reweight_from, self._row_class_weight)
                callbacks = [*callbacks, _EarlyStoppingFrom(reweight_from, callbacks)]
            source, tally = self._tallied(source)
            if self.output_bias_init == "prior":
                # Start at the base rate of what the first epoch feeds the network
                # (as the loss sees it: the long-tail losses shift it).
                source = _replaying(source(0), source)
                width = self.model_.outputs[0].shape[-1]
                start = output_prior(self.model_.loss, tally.prior())
                set_output_bias(
                    self.model_, output_bias(start, width=width, multilabel=self._multilabel)
                )
            augment = self._augment_layer()
            if isinstance(augment, keras.layers.Layer):
                reseed_layer(augment, seeds.seed_for("augment"))
            history = train(
                self.model_,
                source,
                epochs=n_epochs,
                batch_size=self._batch_size(X.shape[0]),
                callbacks=callbacks,
                validation=validation,
                verbose=self.verbose,
                augment=augment,
                on_divergence=self.on_divergence,
            )
        self.history_ = {key: list(values) for key, values in history.history.items()}
        self.loss_curve_ = self.history_["loss"]
        self.n_iter_ = len(self.loss_curve_)
        # With DRW, the network ends fitted to the re-weighted epochs, if it reached them.
        first = reweight_from if reweight_from < self.n_iter_ else 0
        self.training_prior_ = output_prior(self.model_.loss, tally.prior(self.n_iter_, first))
        return self

    def _loss_prior(self):
        """The class prior the long-tail losses adjust for: that of the training rows."""
        return self.class_prior_

    def _reweighting_epoch(self, n_epochs):
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
        return int(deferred * n_epochs)

    def _row_class_weight(self, targets):
        """The class weight in each entry of an epoch's encoded ``targets``."""
        if self._multilabel:
            negative = np.array([weights[0] for weights in self.class_weight_])
            positive = np.array([weights[1] for weights in self.class_weight_])
            return np.where(targets > 0.5, positive, negative)
        weights = np.array([self.class_weight_[label] for label in self.classes_.tolist()])
        if self._target_encoding == "one_hot":
            return targets @ weights
        return weights[targets[:, 0].astype(np.int64)]

    def _tallied(self, source):
        """``source``, counting the class mix of every epoch it hands out."""
        tally = PriorTally(n_classes=self.n_classes_, multilabel=self._multilabel)

        def tallied(epoch):
            arrays = source(epoch)
            tally.add(epoch, arrays.y, arrays.w, arrays.order, self._target_encoding)
            return arrays

        return tallied, tally

    def _check_fit_data(self, X, y_encoded):
        """Hook for subclass checks of the training data, before any training."""

    def _augment_layer(self):
        """Hook: a layer applied to the rows an epoch marks in ``augment_rows``."""
        return None

    def _encode_targets(self, y_encoded):
        """Targets in the form the model's output and loss expect."""
        if self._target_encoding == "multilabel":
            return y_encoded.astype(np.float32)
        if self._target_encoding == "one_hot":
            return np.eye(self.n_classes_, dtype=np.float32)[y_encoded]
        return y_encoded.reshape(-1, 1).astype(np.float32)

    def _model_meta(self, X):
        """What a model builder may know of the data, named as in scikeras's ``meta``."""
        return {
            "n_features_in_": X.shape[1],
            "X_shape_": X.shape,
            "X_dtype_": X.dtype,
            "classes_": self.classes_,
            "n_classes_": self.n_classes_,
            "target_type_": (
                "multilabel-indicator" if self._multilabel
                else "binary" if self.n_classes_ == 2 else "multiclass"
            ),
            "n_outputs_": 1,
            "n_outputs_expected_": 1,
        }

    def _epoch_source(self, X, y_encoded, weights, seeds):
        """Every epoch: the resident training arrays and a fresh row order."""
        targets = self._encode_targets(y_encoded)
        rng = seeds.rng("batches")

        def source(epoch):
            return Epoch(X, targets, weights, epoch_order(X.shape[0], shuffle=self.shuffle, rng=rng))

        return source

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
        X = validate_predict_data(self, X, allow_nd=self._allow_nd)
        proba = self._network_proba(X)
        if self.prior_correction:
            proba = correct_proba(
                proba, self.class_prior_, self.training_prior_, multilabel=self._multilabel
            )
        return proba

    def _network_proba(self, X):
        """The network's probabilities for validated ``X``, uncorrected."""
        outputs = predict_outputs(self.model_, X).astype(np.float64)
        if self._multilabel:
            return outputs
        if outputs.shape[1] == 1:
            positive = outputs[:, 0]
            return np.column_stack([1.0 - positive, positive])
        return outputs / outputs.sum(axis=1, keepdims=True)

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
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]


def _encode_labels(y):
    """``(y, multilabel, classes, y_encoded)`` for the ``y`` given to fit.

    Class labels become positions in ``classes`` (their sorted unique
    values); a multilabel indicator matrix stays a 0/1 matrix with
    ``classes = arange(n_labels)``, as in scikit-learn's ``MLPClassifier``.
    """
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    if y.ndim == 2:
        kind = type_of_target(y)
        if kind != "multilabel-indicator":
            raise ValueError(
                f"y is 2-D but not a 0/1 indicator matrix ({kind} target): give "
                "1-D class labels, or one 0/1 column per label for a multilabel target."
            )
        if hasattr(y, "toarray"):
            y = y.toarray()
        y = (np.asarray(y) > 0).astype(np.int64)
        return y, True, np.arange(y.shape[1]), y
    classes, y_encoded = np.unique(y, return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError(
            f"y contains only one class ({classes[0].item()!r}); a classifier "
            "needs samples of at least two classes. Pass samples of every class (in "
            "cross-validation, StratifiedKFold puts every class in every fold)."
        )
    return y, False, classes, y_encoded


def _replaying(first, source):
    """``source`` that hands out ``first`` for epoch 0, once, instead of redrawing it."""
    pending = [first]

    def replaying(epoch):
        if epoch == 0 and pending:
            return pending.pop()
        return source(epoch)

    return replaying


def _deferring(source, start, row_class_weight):
    """``source`` whose epochs before ``start`` carry no class weights (DRW, Cao et
    al., 2019): their weights are divided by the class weight of each entry,
    which leaves the ``sample_weight``; from ``start`` on they are as given."""

    def deferring(epoch):
        arrays = source(epoch)
        if epoch >= start:
            return arrays
        plain = np.asarray(arrays.w, np.float64) / row_class_weight(arrays.y)
        return arrays._replace(w=plain.astype(np.float32))

    return deferring


class _EarlyStoppingFrom(keras.callbacks.Callback):
    """Holds back ``EarlyStopping`` callbacks until epoch ``start``, the switch of
    deferred re-weighting: the unweighted stage neither stops training nor
    supplies the weights restored, and the loss changes scale at the switch."""

    def __init__(self, start, callbacks):
        super().__init__()
        self.start = start
        self.stoppers = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]

    def on_epoch_begin(self, epoch, logs=None):
        if epoch <= self.start:
            for stopper in self.stoppers:
                stopper.on_train_begin()


def _target_encoding(model, n_classes, multilabel=False):
    """How targets must look for ``model``: "column" (one sigmoid unit, or integer
    labels for a sparse categorical loss), "one_hot" (one unit per class) or
    "multilabel" (one sigmoid unit per label)."""
    width = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    if multilabel:
        if width != n_classes:
            raise ValueError(
                f"the model has {width} output units, but y has {n_classes} labels: "
                f"a multilabel target needs {n_classes} sigmoid units, one per label."
            )
        return "multilabel"
    if width not in (1, n_classes):
        raise ValueError(
            f"the model has {width} output units, but y has {n_classes} classes: use "
            f"1 sigmoid unit (binary only) or {n_classes} softmax units."
        )
    if width == 1:
        if n_classes != 2:
            raise ValueError(
                f"the model has 1 output unit, but y has {n_classes} classes: use "
                f"{n_classes} softmax units."
            )
        return "column"
    loss = model.loss
    name = loss if isinstance(loss, str) else type(loss).__name__
    return "column" if "sparse" in name.lower() else "one_hot"
