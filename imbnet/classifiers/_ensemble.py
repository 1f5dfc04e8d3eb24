"""``BalancedEnsembleClassifier``: networks on balanced draws, trained side by side."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

from .._compat import HasMethods, Interval, StrOptions
from .._naming import private_layer_names
from .._random import SeedStream, fit_seed
from .._validation import validate_predict_data
from ..data._dask import check_in_memory
from ..engine._loop import predict_outputs
from ..engine._stacking import StackedDense, padded_width, reseeded_kernels, stack_models
from ..sampling._epochs import MemberDraws
from ..sampling._samplers import check_sampler, in_codes, takes_sample_loss
from ._base import ImbalancedKerasClassifier, LogProbaMixin
from ._mlp import CostSensitiveMLPClassifier
from ._steady import steady_validation, watching_steady_rows

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
    many epochs per call when the draws are row indices (without a sampler,
    or with imbalanced-learn's ``RandomUnderSampler`` / ``RandomOverSampler``).

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
        done by index without imbalanced-learn's overhead. A
        ``RandomUnderSampler`` or ``RandomOverSampler`` (without
        ``shrinkage``) is fitted once; every member's draw then keeps the
        class counts it resolved, with rows drawn afresh by index.
    draws_per_epoch : int or "auto", default=1
        Without a ``sampler``: how many fresh under-samples a member trains on
        in one epoch, one after the other (so that its mini-batches see more
        of the majority classes per epoch). "auto": as many as make up about
        the data's row count (at least one), so that a member's epoch has as
        many rows, and steps, as a single network's epoch on all the rows.
        1: one under-sample per epoch, as imbalanced-learn's
        ``BalancedBaggingClassifier`` trains each estimator on one.
    member_training : {"auto", "estimator"}, default="auto"
        "auto": members of a ``CostSensitiveMLPClassifier`` train with its
        settings scaled to their small draws: mini-batches of 32 rows (if
        its ``batch_size`` is "auto"), three times its ``learning_rate_init`` and
        half its ``n_iter_no_change`` (at least 1). A member's draw is
        twice the rarest class's rows, which scikit-learn's batch
        ``min(200, n_samples)`` makes one optimizer step per epoch, too few
        to train on (see the user guide for the measured effect).
        ``estimator_.get_params()`` shows the settings the members used.
        "estimator": the estimator's settings as they are (the default
        before this option; other estimators always).
    out_of_bag : float in (0, 1) or None, default=None
        Without a ``sampler``: each member leaves this share of every class's
        rows (a random choice of its own, at least one row of a class of two
        or more) out of all its draws, and its stopping rule watches its loss
        on those rows (weighted to its draws' class mix; unless the
        estimator's ``early_stopping`` holds rows out, which it then watches):
        each member stops where it stops generalising, as a bagging
        ensemble's out-of-bag rows, without holding rows out of the
        ensemble. None: every member draws from all the rows.
    prior_correction : bool, default=None
        Map the mean probabilities from the class mix the members trained on
        back to the data's class prior (as the estimator's own
        ``prior_correction``). None: as ``estimator.prior_correction`` says
        (False by default).
    random_state : int, RandomState instance or None, default=None
        Seeds every member's weights and draws, and ``estimator``'s own
        randomness (its ``random_state`` is replaced). The same int gives the
        same predictions.

    Attributes
    ----------
    estimator_ : imbnet classifier
        The fitted clone of ``estimator``; its ``model_`` holds the members
        side by side, its ``history_`` / ``loss_curve_`` the mean loss of the
        members still training (plus their regularisation terms), its
        ``history_["val_loss"]`` the members' mean of the loss the stopping rule
        watched (see Notes), its ``n_iter_`` the epochs run (the longest
        member's).
    estimators_ : list of n_estimators classifiers
        Views of the members, each predicting alone (``predict``,
        ``predict_proba``, prior-corrected as the ensemble); no copies of
        the weights.
    n_iter_ : ndarray of shape (n_estimators,)
        The epochs each member trained (each stops on its own, see Notes).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only if ``X`` had string column names.

    Notes
    -----
    With ``early_stopping`` or ``tol``, each member stops on its own:
    scikit-learn's rule on the member's loss on rows that do not change
    between epochs; a member that stops is frozen at its best epoch's weights
    while the others go on, and training ends when all have stopped (members
    that are not perceptrons stop together, on the members' mean of that
    loss). A member's loss on its own draw jumps with the draw, and
    scikit-learn's ``tol`` rule would stop on that noise; instead the rule
    watches the loss on the hold-out
    (``early_stopping``) or on the training rows (every row of a class of at
    most 256 rows, or twice the rarest class's count; a random subset of
    that many of a larger class), weighted so that each class has the share
    of weight it has in the draws (balanced, with the default
    under-sampling). Targets with one class per row only (binary or
    multiclass).

    Members that are perceptrons (``CostSensitiveMLPClassifier``) are stacked
    at an input width rounded up to a power of two (at least 16; the extra
    columns are zeros), so that data sets of many widths share one compiled
    program.

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
    >>> len(ensemble.estimators_), ensemble.estimators_[0].predict(X[:3]).shape
    (5, (3,))
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "sampler": [HasMethods(["fit_resample"]), None],
        "draws_per_epoch": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "member_training": [StrOptions({"auto", "estimator"})],
        "out_of_bag": [Interval(Real, 0, 1, closed="neither"), None],
        "prior_correction": ["boolean", None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        n_estimators=10,
        *,
        sampler=None,
        draws_per_epoch=1,
        member_training="auto",
        out_of_bag=None,
        prior_correction=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.sampler = sampler
        self.draws_per_epoch = draws_per_epoch
        self.member_training = member_training
        self.out_of_bag = out_of_bag
        self.prior_correction = prior_correction
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
        check_in_memory(self, X, y, sample_weight)
        _check_dense(X)
        member = self._member()
        seeds = SeedStream(fit_seed(self.random_state))
        member.set_params(random_state=seeds.seed_for("estimator"))
        member._validate_params()
        if self.member_training == "auto":  # from valid settings, valid ones
            member.set_params(**_small_draw_settings(member))
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
            # Perceptrons take rows padded with zero columns: one program for many widths.
            width = padded_width(networks[0])
            if width is not None:
                data = data._replace(X=_with_width(data.X, width))
                if validation is not None:
                    validation = (_with_width(validation[0], width), *validation[1:])
            data = data._replace(targets=member._target.encode(data.y))
            # One member stands for all while the output biases are set, then all are stacked.
            member.model_ = networks[0]
            source = MemberDraws(
                data,
                n_members=n_members,
                sampler=in_codes(self.sampler, member._target.classes_),
                draws_per_epoch=self._draws_per_epoch(data.y),
                out_of_bag=self.out_of_bag,
            )
            source = member._initialize_epochs(data, source=source, output_models=networks)
            member.model_ = stack_models(networks, data.X.shape[1:], copies)
            steady = steady_validation(member, data, validation, source)
            if steady is not None:
                X_s, y_s, w_s = steady
                steady = (
                    _side_by_side(X_s, n_members),
                    _side_by_side(member._target.encode(y_s), n_members),
                    # one column per member (out-of-bag rows), or the same for all
                    w_s * n_members if w_s.ndim == 2 else _side_by_side(w_s * n_members, n_members),
                )
            # Stacked perceptrons: each member stops on its own steady loss.
            per_member = n_members if _stacks_perceptrons(member.model_) else 0
            with watching_steady_rows(member, steady, members=per_member):
                result = member._fit_loop(source, steady, data)
        member._record_fit(result, source)
        self.estimator_ = member
        if result.member_epochs is not None:
            self.n_iter_ = np.asarray(result.member_epochs, dtype=int)
        else:
            self.n_iter_ = np.full(n_members, member.n_iter_)
        self.classes_ = member.classes_
        self.n_features_in_ = member.n_features_in_
        if hasattr(member, "feature_names_in_"):
            self.feature_names_in_ = member.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def _draws_per_epoch(self, y):
        """The under-samples per member and epoch (1 with a sampler)."""
        if self.sampler is not None:
            return 1
        if self.draws_per_epoch != "auto":
            return int(self.draws_per_epoch)
        counts = np.bincount(np.asarray(y))
        counts = counts[counts > 0]
        return max(1, int(round(counts.sum() / (counts.min() * counts.size))))

    @property
    def estimators_(self):
        """Views of the fitted members, each predicting alone (see the class docstring)."""
        check_is_fitted(self, "estimator_")
        return [_MemberView(self, k) for k in range(len(self.n_iter_))]

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
            in_codes(self.sampler, target.classes_)  # names an unknown class: fails now
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
        return self._corrected(member, np.mean(proba, axis=0))

    def _corrected(self, member, proba):
        """``proba`` mapped back to the data's class prior, if prior correction is on."""
        correct = getattr(self, "prior_correction", None)  # None in 0.1 pickles
        if correct is None:
            correct = member.prior_correction
        if correct:
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

    def _member_proba(self, X, members=None):
        """Every member's probabilities: shape (n_estimators, n_samples, n_classes);
        only those of the indices ``members``, if given."""
        check_is_fitted(self, "estimator_")
        _check_dense(X)
        member = self.estimator_
        X = validate_predict_data(member, X, allow_nd=member._allow_nd, check_rank=False)
        n_members, width = member.model_.inputs[0].shape[1:3]
        outputs = predict_outputs(member.model_, _side_by_side(_with_width(X, width), n_members))
        members = range(outputs.shape[1]) if members is None else members
        return member, np.stack([member._target.proba(outputs[:, k]) for k in members])


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


class _MemberView(ClassifierMixin):
    """One member of a fitted :class:`BalancedEnsembleClassifier`, predicting alone.

    A light view (no copy of the weights): its predictions are those of member
    ``index`` of the ensemble's side-by-side model, prior-corrected as the
    ensemble is. Refitting the ensemble changes what it predicts.
    """

    def __init__(self, ensemble, index):
        self.ensemble = ensemble
        self.index = index
        self.classes_ = ensemble.classes_
        self.n_features_in_ = ensemble.n_features_in_

    def __repr__(self):
        return f"<member {self.index} of {type(self.ensemble).__name__}>"

    @property
    def n_iter_(self):
        """The epochs this member trained."""
        return int(self.ensemble.n_iter_[self.index])

    def predict_proba(self, X):
        """This member's class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        member, proba = self.ensemble._member_proba(X, members=[self.index])
        return self.ensemble._corrected(member, proba[0])

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The class of highest probability for this member.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.ensemble.estimator_._target.decide(self.predict_proba(X))


def _small_draw_settings(member):
    """``member``'s training settings scaled to an ensemble's small draws (see the
    ``member_training`` parameter): for a ``CostSensitiveMLPClassifier``,
    mini-batches of 32 rows if its batch size is "auto", three times its learning rate,
    half its patience; nothing for other estimators."""
    if not isinstance(member, CostSensitiveMLPClassifier):
        return {}
    settings = {
        "learning_rate_init": 3 * member.learning_rate_init,
        "n_iter_no_change": max(1, member.n_iter_no_change // 2),
    }
    if member.batch_size == "auto":
        settings["batch_size"] = _SMALL_DRAW_BATCH
    return settings


_SMALL_DRAW_BATCH = 32


def _stacks_perceptrons(model):
    """Whether ``model`` holds its members as stacked perceptrons (a member axis
    on every weight), which the compiled program stops member by member."""
    return any(isinstance(layer, StackedDense) for layer in model.layers)


def _check_dense(X):
    if sp.issparse(X):
        raise TypeError(
            "Sparse data was passed for X, but dense data is required: the ensemble's "
            "members read dense rows side by side. Use X.toarray() to convert to a dense "
            "numpy array."
        )


def _with_width(X, width):
    """2-D ``X`` with zero columns appended up to ``width`` (see ``padded_width``)."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] >= width:
        return X
    return np.pad(X, ((0, 0), (0, width - X.shape[1])))


def _side_by_side(array, n_members):
    """``array`` repeated for every member: shape (n, n_members, ...), a view."""
    return np.broadcast_to(array[:, None], (array.shape[0], n_members) + array.shape[1:])
