"""``BalancedEnsembleClassifier``: networks on balanced draws, trained side by side."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

from .._compat import HasMethods, Interval
from .._naming import private_layer_names
from .._random import SeedStream, fit_seed
from .._validation import validate_predict_data
from ..engine._loop import predict_outputs
from ..engine._stacking import reseeded_kernels, stack_models
from ..sampling._epochs import MemberDraws
from ..sampling._samplers import check_sampler, takes_sample_loss
from ._base import ImbalancedKerasClassifier, LogProbaMixin
from ._mlp import CostSensitiveMLPClassifier

__all__ = ["BalancedEnsembleClassifier"]


class BalancedEnsembleClassifier(ClassifierMixin, LogProbaMixin, MetaEstimatorMixin, BaseEstimator):
    """Networks trained on balanced draws of the data, side by side, probabilities averaged.

    Each of ``n_estimators`` networks of ``estimator``'s architecture and
    training settings trains on its own balanced draw of the rows, drawn
    afresh every epoch: by default a random under-sample (every class cut to
    the size of the rarest, as imbalanced-learn's ``RandomUnderSampler``), or
    any imbalanced-learn ``sampler``. ``predict_proba`` averages the members'
    probabilities. This is what ``BalancedBaggingClassifier`` /
    ``EasyEnsembleClassifier`` do with any estimator, but the members train
    together: one Keras model holds them side by side (stacked weights), so
    one compiled program runs every member's mini-batch step at once, and
    without a sampler many epochs per call (the draws are row indices).

    Parameters
    ----------
    estimator : CostSensitiveMLPClassifier or ResampledKerasClassifier, default=None
        The network and its training settings (epochs, batch size, optimizer,
        loss, class_weight, early_stopping, tol, prior_correction, ...), cloned
        for the fit. Its own ``sampler``, ``batch_ratio`` and ``augment`` must
        be unset (the ensemble draws the rows). None:
        ``CostSensitiveMLPClassifier()``.
    n_estimators : int, default=10
        Number of networks.
    sampler : imbalanced-learn sampler, default=None
        Draws each member's rows every epoch (cloned, seeded from
        ``random_state``). None: random under-sampling to the rarest class,
        done by index without imbalanced-learn's overhead.
    random_state : int, RandomState instance or None, default=None
        Seeds every member's weights and draws, and ``estimator``'s own
        randomness (its ``random_state`` is replaced). The same int gives the
        same predictions.

    Attributes
    ----------
    estimator_ : imbnet classifier
        The fitted clone of ``estimator``; its ``model_`` holds the members
        side by side, its ``history_`` / ``loss_curve_`` the members' mean loss
        (plus their regularisation terms), its ``n_iter_`` the epochs run (the
        members stop together).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only if ``X`` had string column names.

    Notes
    -----
    Members share the epoch count: with ``early_stopping`` or ``tol`` they
    stop together, on the members' mean (validation) loss. Targets with one
    class per row only (binary or multiclass).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from imbnet import BalancedEnsembleClassifier, CostSensitiveMLPClassifier
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> ensemble = BalancedEnsembleClassifier(
    ...     CostSensitiveMLPClassifier(hidden_layer_sizes=(8,), max_iter=20),
    ...     n_estimators=5, random_state=0,
    ... ).fit(X, y)
    >>> ensemble.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "sampler": [HasMethods(["fit_resample"]), None],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, n_estimators=10, *, sampler=None, random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.sampler = sampler
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        member = self.estimator if self.estimator is not None else CostSensitiveMLPClassifier()
        member_tags = member.__sklearn_tags__()
        tags.input_tags = member_tags.input_tags
        tags.input_tags.sparse = False  # members side by side take dense rows
        tags.classifier_tags.multi_label = False
        return tags

    def fit(self, X, y, sample_weight=None):
        """Train the members side by side, each on its own balanced draws.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels, at least two classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplied by the class weights of ``estimator``; drawn rows keep
            their weight. The caller's array is not modified.

        Returns
        -------
        self : object
        """
        self._validate_params()
        _check_dense(X)
        member = self._member()
        seeds = SeedStream(fit_seed(self.random_state))
        member.set_params(random_state=seeds.seed_for("estimator"))
        member._validate_params()
        data, validation = member._prepare_data(X, y, sample_weight)
        self._check_member(member)
        n_members = self.n_estimators
        # Each member's loss at the scale of a fit of its own (Keras averages over members).
        data = data._replace(
            weights=data.weights * n_members, class_weight=data.class_weight * n_members
        )
        with private_layer_names():
            networks, copies = _member_networks(
                member, member._model_meta(data.X), seeds, n_members
            )
            data = data._replace(targets=member._target.encode(data.y))
            if validation is not None:
                X_val, y_val, w_val = validation
                validation = tuple(
                    _side_by_side(a, n_members)
                    for a in (X_val, member._target.encode(y_val), w_val * n_members)
                )
            # One member stands for all while the output biases are set, then all are stacked.
            member.model_ = networks[0]
            source = MemberDraws(data, n_members=n_members, sampler=self.sampler)
            source = member._initialize_epochs(data, source=source, output_models=networks)
            member.model_ = stack_models(networks, data.X.shape[1:], copies)
            result = member._fit_loop(source, validation, data)
        member._record_fit(result, source)
        self.estimator_ = member
        self.classes_ = member.classes_
        self.n_features_in_ = member.n_features_in_
        if hasattr(member, "feature_names_in_"):
            self.feature_names_in_ = member.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def _member(self):
        member = (
            clone(self.estimator) if self.estimator is not None else CostSensitiveMLPClassifier()
        )
        if not isinstance(member, ImbalancedKerasClassifier):
            raise TypeError(
                "BalancedEnsembleClassifier trains imbnet networks side by side: estimator "
                "must be a CostSensitiveMLPClassifier or ResampledKerasClassifier; got "
                f"{type(member).__name__}. For any other classifier use imbalanced-learn's "
                "BalancedBaggingClassifier."
            )
        return member

    def _check_member(self, member):
        target = member._target
        if target.multilabel or target.per_step:
            raise ValueError(
                f"BalancedEnsembleClassifier draws balanced rows by their class; a "
                f"{target.type_name} y has no one class per row. Use the estimator alone "
                "with class_weight."
            )
        for name in ("sampler", "batch_ratio", "augment"):
            if getattr(member, name, None) is not None:
                raise ValueError(
                    f"the estimator's {name} is set, but the ensemble draws every member's "
                    f"rows itself: set {name}=None on the estimator (and, for a sampler, "
                    "pass it as BalancedEnsembleClassifier(sampler=...))."
                )
        if self.sampler is not None:
            check_sampler(self.sampler)
            if takes_sample_loss(self.sampler):
                raise ValueError(
                    f"{type(self.sampler).__name__} draws from each row's current loss, "
                    "which differs between members; use it with ResampledKerasClassifier."
                )

    def predict_proba(self, X):
        """The members' mean class probabilities (prior-corrected if the estimator says so).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        member, proba = self._member_proba(X)
        proba = np.mean(proba, axis=0)
        if member.prior_correction:
            proba = member._target.correct(proba, member.class_prior_, member.training_prior_)
        return proba

    def predict(self, X):
        """The class of highest mean probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_._target.decide(self.predict_proba(X))

    def _member_proba(self, X):
        """Every member's probabilities: shape (n_estimators, n_samples, n_classes)."""
        check_is_fitted(self, "estimator_")
        _check_dense(X)
        member = self.estimator_
        X = validate_predict_data(member, X, allow_nd=member._allow_nd)
        n_members = member.model_.inputs[0].shape[1]
        outputs = predict_outputs(member.model_, _side_by_side(X, n_members))
        return member, np.stack(
            [member._target.proba(outputs[:, k]) for k in range(outputs.shape[1])]
        )


class _RecordedSeeds(SeedStream):
    """A :class:`SeedStream` that remembers the purpose of every seed it gives."""

    def __init__(self, seed):
        super().__init__(seed)
        self.purposes = {}

    def seed_for(self, purpose):
        seed = super().seed_for(purpose)
        self.purposes[seed] = purpose
        return seed


def _member_networks(member, meta, seeds, n_members):
    """The members' networks, bound to the target: ``(networks, copies)``.

    Building a Keras model costs more than training a small one, so when the
    members are perceptrons whose initializers are seeded from the builder's
    :class:`SeedStream`, only the first is built: ``copies`` holds the others'
    starting kernels, drawn by the first's initializers with the seeds the
    others' builds would have given them (the same weights).
    """
    member_seeds = [seeds.seed_for(f"member{k}") for k in range(n_members)]
    recorded = _RecordedSeeds(member_seeds[0])
    networks = [member._build_model(meta, recorded)]

    def reseeder(stream):
        """The seed ``stream`` gives for the purpose the first build used ``seed`` for."""
        purposes = recorded.purposes
        return lambda seed: stream.seed_for(purposes[seed]) if seed in purposes else None

    copies = []
    for seed in member_seeds[1:]:
        kernels = reseeded_kernels(networks[0], reseeder(SeedStream(seed)))
        if kernels is None:  # not a perceptron, or seeds not from the stream: build them all
            networks += [member._build_model(meta, SeedStream(s)) for s in member_seeds[1:]]
            copies = []
            break
        copies.append(kernels)
    for network in networks:
        member._target.bind(network)
    return networks, copies


def _check_dense(X):
    if sp.issparse(X):
        raise TypeError(
            "Sparse data was passed for X, but dense data is required: the ensemble's "
            "members read dense rows side by side. Use X.toarray() to convert to a dense "
            "numpy array."
        )


def _side_by_side(array, n_members):
    """``array`` repeated for every member: shape (n, n_members, ...), a view."""
    return np.broadcast_to(array[:, None], (array.shape[0], n_members) + array.shape[1:])
