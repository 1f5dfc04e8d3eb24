"""Training that continues: ``warm_start`` and ``partial_fit``, as scikit-learn's MLP.

scikit-learn's ``MLPClassifier`` continues an earlier fit in two ways, and
:class:`ContinuedTrainingMixin` gives an imbnet estimator both, by overriding
steps of its fit (:class:`imbnet.classifiers._base.ImbalancedKerasClassifier`):

- ``warm_start=True``: ``fit`` starts from the weights of the previous fit
  (same features, classes and architecture, else a ValueError), with a fresh
  optimizer, as scikit-learn creates a new one; ``loss_curve_``,
  ``history_`` and ``t_`` go on from the previous fit, ``n_iter_`` counts this
  fit's epochs.
- ``partial_fit(X, y, classes=...)``: one epoch on the rows given, the model
  and its optimizer state kept between calls. ``classes`` is required on the
  first call (the labels of all calls); labels outside it are refused.
  Hold-outs (``early_stopping``) and what needs the class frequencies of the
  whole training set (string ``class_weight``, the prior-adjusted losses,
  ``deferred_reweighting``) are refused with the fix in the message.

The estimator's ``_n_epochs`` and ``_stopping`` read ``_partial_step`` (None
in ``fit``, "first" or "next" in ``partial_fit``).
"""

import numpy as np
from sklearn.utils.multiclass import type_of_target

from .._random import SeedStream, fit_seed
from .._validation import validate_fit_data
from ..data._dask import check_in_memory
from ..sampling._epochs import FitData
from ..weighting._losses import PRIOR_LOSSES
from ..weighting._targets import ClassTarget, make_target

__all__ = ["ContinuedTrainingMixin"]


class ContinuedTrainingMixin:
    """``warm_start`` and ``partial_fit`` for an imbnet estimator (see the module)."""

    _partial_step = None

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train one epoch on ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            The class labels of all calls (e.g. ``np.unique(y_all)``); required
            on the first call, where ``y`` need not hold every class (required
            for a multilabel ``y`` too, as in scikit-learn, which then takes the
            labels from ``y``'s columns).

        Returns
        -------
        self : object

        Examples
        --------
        >>> import numpy as np
        >>> from imbnet import CostSensitiveMLPClassifier
        >>> X = np.random.default_rng(0).normal(size=(60, 3))
        >>> y = (X[:, 0] > 0).astype(int)
        >>> clf = CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), random_state=0)
        >>> clf = clf.partial_fit(X[:30], y[:30], classes=[0, 1]).partial_fit(X[30:], y[30:])
        >>> clf.n_iter_, clf.t_, len(clf.loss_curve_)
        (1, 60, 2)
        """
        if not hasattr(self, "model_"):  # as scikit-learn's partial_fit: not once fitted
            self._validate_params()
        step = self._first_partial_call(classes)
        snapshot = dict(self.__dict__)
        try:
            self._partial_step = step
            self._partial_classes = classes
            self._fit(X, y, sample_weight)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        del self._partial_step, self._partial_classes
        return self

    def _first_partial_call(self, classes):
        """ "first" or "next"; scikit-learn's checks of ``classes``."""
        if not hasattr(self, "model_"):
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: the labels "
                    "of all calls, e.g. classes=np.unique(y_all)."
                )
            return "first"
        if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"`classes={np.unique(classes)!r}` is not the same as on the first call to "
                f"partial_fit, was: {self.classes_!r}. Pass the same classes, or none."
            )
        return "next"

    # ------------------------------------------------------ fit steps
    def _prepare_data(self, X, y, sample_weight):
        if self._partial_step is not None:
            self._previous = None if self._partial_step == "first" else self._continued()
            return self._partial_data(X, y, sample_weight), None
        previous = None
        if self.warm_start and hasattr(self, "model_"):
            previous = self._continued()
            previous["weights"] = self.model_.get_weights()
        data, validation = super()._prepare_data(X, y, sample_weight)
        if previous is not None:
            _check_same_problem(self, previous)
        self._previous = previous
        return data, validation

    def _continued(self):
        """What the next call goes on from."""
        return {
            "history_": {key: list(value) for key, value in self.history_.items()},
            "t_": getattr(self, "t_", 0),
            "n_features_in_": self.n_features_in_,
            "classes_": self.classes_,
        }

    def _partial_data(self, X, y, sample_weight):
        _check_partial_settings(self)
        check_in_memory(self, X, y, sample_weight, method="partial_fit")
        first = self._partial_step == "first"
        X, y, sample_weight = self._validate_partial_input(X, y, sample_weight, reset=first)
        if first:
            self._target = _partial_target(y, self._partial_classes)
            self.classes_ = self._target.classes_
            self.n_classes_ = self._target.n_classes
        target = self._target
        y_encoded = _encode(target, y)
        self.class_weight_ = target.class_weight(
            self.class_weight, y_encoded, mu=self.class_weight_mu, beta=self.class_weight_beta
        )
        weights = target.row_weights(self.class_weight_, y_encoded, sample_weight)
        # The class prior of all the rows given so far.
        mass = float(len(y_encoded) if sample_weight is None else np.sum(sample_weight))
        seen = target.prior(y_encoded, sample_weight) * mass
        if not first and hasattr(self, "_seen_labels"):
            seen = seen + self._seen_labels[0]
            mass = mass + self._seen_labels[1]
        self._seen_labels = (seen, mass)
        self.class_prior_ = seen / max(mass, 1e-12)
        self._fed_now = float(np.sum(weights))
        return FitData(
            X=X,
            y=y_encoded,
            targets=None,
            weights=weights,
            class_weight=target.class_weight_vector(self.class_weight_),
            sample_weight=sample_weight,
            target=target,
            seeds=SeedStream(fit_seed(self.random_state)),
        )

    def _validate_partial_input(self, X, y, sample_weight, *, reset):
        """X, y and sample_weight of a ``partial_fit`` call, checked (and, with
        ``reset``, the first call, ``n_features_in_`` set); a hook for other inputs."""
        return validate_fit_data(self, X, y, sample_weight, allow_nd=self._allow_nd, reset=reset)

    def _initialize_model(self, data):
        if self._partial_step != "next":
            super()._initialize_model(data)
        elif getattr(self.model_, "optimizer", None) is None:
            # A loaded estimator's network has no optimizer: a fresh one, the weights kept.
            weights = self.model_.get_weights()
            super()._initialize_model(data)
            self.model_.set_weights(weights)
        # else "next": the model and its optimizer state go on

    def _initialize_epochs(self, data, source=None, output_models=None):
        if self._partial_step == "next":
            self._reweight_from = 0
            return self._epoch_source(data) if source is None else source
        source = super()._initialize_epochs(data, source, output_models)
        previous = getattr(self, "_previous", None)
        if previous is not None and "weights" in previous:
            _set_previous_weights(self.model_, previous["weights"])
        return source

    def _record_fit(self, result, source):
        if self._partial_step is not None:
            result = result._replace(converged=True)  # scikit-learn warns in fit only
        super()._record_fit(result, source)
        previous = self.__dict__.pop("_previous", None)
        rows = self.__dict__.pop("_rows_per_epoch", 0)
        t = 0
        if previous is not None:
            self.history_ = {
                key: previous["history_"].get(key, []) + values
                for key, values in self.history_.items()
            }
            self.loss_curve_ = self.history_["loss"]
            t = previous["t_"]
        self.t_ = t + self.n_iter_ * rows
        if self._partial_step is not None:
            fed = self.__dict__.pop("_fed_now")
            if self._partial_step == "next" and getattr(self, "_fed_before", 0) > 0:
                before = self._fed_before
                self.training_prior_ = (
                    self._training_prior_before * before + self.training_prior_ * fed
                ) / (before + fed)
                fed = fed + before
            self._fed_before, self._training_prior_before = fed, self.training_prior_
        else:
            for name in ("_fed_before", "_training_prior_before", "_seen_labels"):
                self.__dict__.pop(name, None)


def _check_same_problem(estimator, previous):
    """warm_start: the same features and classes as the previous fit (scikit-learn's rule)."""
    if estimator.n_features_in_ != previous["n_features_in_"]:
        raise ValueError(
            f"X has {estimator.n_features_in_} features, but the previous fit, which "
            f"warm_start=True continues, had {previous['n_features_in_']}. Pass the same "
            "columns, or set warm_start=False to fit anew."
        )
    old, new = previous["classes_"], estimator.classes_
    if len(old) != len(new) or set(old.tolist()) != set(new.tolist()):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in the "
            f"previous call to fit. Previously got {old}, `y` has {new}. Set "
            "warm_start=False to fit anew."
        )


def _set_previous_weights(model, weights):
    current = model.get_weights()
    if [w.shape for w in current] != [w.shape for w in weights]:
        raise ValueError(
            "warm_start=True continues from the previous fit's weights, but the network "
            "now has other layer shapes (hidden_layer_sizes changed?). Keep the "
            "architecture, or set warm_start=False to fit anew."
        )
    model.set_weights(weights)


def _check_partial_settings(estimator):
    problems = []
    if estimator.early_stopping:
        problems.append(
            "partial_fit does not support early_stopping=True: it trains one epoch on "
            "the rows it is given and holds none out. Set early_stopping=False"
        )
    if isinstance(estimator.class_weight, str):
        problems.append(
            f"class_weight={estimator.class_weight!r} is computed from the labels of the "
            "whole training set, which partial_fit never sees at once. Pass the weights "
            "as a dict, e.g. class_weight=imbnet.compute_class_weight("
            f"{estimator.class_weight!r}, classes=classes, y=y_sample) on a large enough "
            "sample of the labels"
        )
    if estimator.loss in PRIOR_LOSSES:
        problems.append(
            f"loss={estimator.loss!r} adjusts for the class prior of the whole training "
            "set, which partial_fit never sees at once. Use fit, or loss='log_loss' or "
            "'focal'"
        )
    if estimator.deferred_reweighting is not None:
        problems.append(
            "deferred_reweighting counts the epochs of one fit; partial_fit trains one "
            "epoch per call. Set deferred_reweighting=None (switch class_weight yourself "
            "between calls)"
        )
    if problems:
        raise ValueError(problems[0] + ".")


def _partial_target(y, classes):
    """The target of a first ``partial_fit``: ``classes``' labels, or y's multilabel columns."""
    if np.ndim(y) == 2 and type_of_target(y).startswith("multilabel"):
        return make_target(y)[0]
    labels = np.unique(np.asarray(classes))
    if labels.shape[0] < 2:
        raise ValueError(
            f"classes={labels!r} holds fewer than two classes; pass the labels of all "
            "calls, e.g. classes=np.unique(y_all)."
        )
    return ClassTarget(labels)


def _encode(target, y):
    """``y`` encoded for ``target``; labels it does not know are refused."""
    if target.multilabel:
        other, y_encoded = make_target(y)
        if not other.multilabel or other.n_classes != target.n_classes:
            raise ValueError(
                f"y must be a 0/1 indicator matrix of {target.n_classes} labels, as on "
                "the first call to partial_fit."
            )
        return y_encoded
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    known = np.isin(y, target.classes_)
    if not known.all():
        raise ValueError(
            f"`y` has classes not in `self.classes_`. `self.classes_` has "
            f"{target.classes_}. 'y' has {np.unique(y[~known])}. Pass the labels of all "
            "calls as classes= on the first call."
        )
    return np.searchsorted(target.classes_, y).astype(np.int64)
