"""CostSensitiveTextClassifier: a built-in network for imbalanced text."""

from numbers import Integral, Real

import keras
import numpy as np
import scipy.sparse

from .._compat import Interval, StrOptions
from ..data._text import check_rows_target
from ..engine._keras_fit import model_input
from ._incremental import ContinuedTrainingMixin
from ._resampled import ResampledKerasClassifier

__all__ = ["CostSensitiveTextClassifier", "WeightedBag"]


@keras.saving.register_keras_serializable(package="imbnet")
class WeightedBag(keras.layers.Layer):
    """The weighted sum of n-gram embeddings: input ``[ids, weights]`` side by side,
    shape (batch, 2 * length); output (batch, output_dim).

    With TF-IDF weights (each position's n-gram's idf over the document's
    TF-IDF norm) and a linear layer after it, the network is a linear model on
    the document's TF-IDF vector, as ``TfidfVectorizer`` with a logistic
    regression; hidden layers after it make it a network on that vector.
    """

    def __init__(self, input_dim, output_dim, embeddings_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim),
            initializer=keras.initializers.RandomUniform(-0.05, 0.05),
            regularizer=self.embeddings_regularizer,
            name="embeddings",
        )

    def call(self, inputs):
        length = inputs.shape[-1] // 2
        ids = keras.ops.cast(inputs[:, :length], "int32")
        weights = inputs[:, length:]
        vectors = keras.ops.take(self.embeddings, ids, axis=0)
        return keras.ops.sum(vectors * weights[..., None], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_regularizer": keras.regularizers.serialize(self.embeddings_regularizer),
        }


_STANDARDIZE = {"lower_and_strip_punctuation", "lower", "strip_punctuation"}


class CostSensitiveTextClassifier(ContinuedTrainingMixin, ResampledKerasClassifier):
    """A bag-of-n-grams network for raw text, with imbalanced-learning options.

    Raw strings in, one document per row: a ``TextVectorization`` layer learns
    the vocabulary of word n-grams from the training rows of each fit (never
    from validation or test rows, so cross-validation does not leak it); each
    document becomes its sequence of n-gram ids, whose embeddings are
    averaged, passed through optional hidden layers, and classified. The
    vocabulary is applied once per fit outside the training program, so the
    epochs run in imbnet's compiled training loop like any numeric network.

    Every imbalance option of :class:`imbnet.CostSensitiveMLPClassifier`
    applies (``class_weight`` incl. "balanced", "log", "effective"; the
    focal and long-tail losses; ``prior_correction``; ``early_stopping``),
    and so do ``sampler`` (samplers that select rows: ``RandomUnderSampler``,
    ``RandomOverSampler``, :class:`imbnet.HardNegativeSampler`, ...) and
    ``batch_ratio``, as in :class:`imbnet.ResampledKerasClassifier`.

    Parameters
    ----------
    max_tokens : int, default=20000
        Size of the vocabulary (n-grams kept by frequency, plus the padding
        and out-of-vocabulary ids).
    ngrams : int, default=2
        Word n-grams up to this length (1: words only).
    standardize : {"lower_and_strip_punctuation", "lower", "strip_punctuation"} or None, \
default="lower_and_strip_punctuation"
        Text normalisation before splitting on whitespace.
    max_length : int or "auto", default="auto"
        N-gram ids kept per document (longer documents are cut). "auto": the
        95th percentile of the training documents' lengths, rounded up to a
        power of two between 16 and 512.
    embedding_dim : int or "auto", default="auto"
        Size of each n-gram's embedding. "auto": one value per output unit
        without hidden layers (the network is then a linear model on the
        document's TF-IDF vector, as a logistic regression), 64 with them.
    hidden_layer_sizes : tuple of int, default=()
        Dense ReLU layers between the averaged embedding and the output.
    dropout : float, default=0.0
        Dropout rate after the averaged embedding and each hidden layer.
    alpha : float, default=3e-3
        L2 penalty on the embeddings and kernels, added to each batch's mean loss
        as ``0.5 * alpha * ||W||^2``.
    learning_rate_init : float, default=0.05
        Adam's learning rate.
    epochs : int, default=60
    batch_size : int, default=256
    sampler, resample, batch_ratio, loss, focal_gamma, logit_tau, ldam_margin, \
shuffle, callbacks, random_state, verbose, class_weight, class_weight_mu, \
class_weight_beta, deferred_reweighting, early_stopping, validation_fraction, \
n_iter_no_change, tol, prior_correction, output_bias_init, on_divergence
        As in :class:`imbnet.ResampledKerasClassifier`.

    Attributes
    ----------
    vectorizer_ : keras.Model
        Text to n-gram ids: the fitted ``TextVectorization`` layer (its
        vocabulary travels with the estimator when saved).
    vocabulary_size_ : int
        N-grams in the learnt vocabulary, padding and out-of-vocabulary ids included.
    max_length_ : int
        N-gram ids per document.
    idf_ : ndarray of shape (n_ids,)
        Inverse document frequency of each of the ``vocabulary_size_`` n-gram ids
        over the training rows (scikit-learn's smoothed formula; 0 for padding and
        out-of-vocabulary ids).
    model_ : keras.Model
        The network on the ids.
    classes_, n_classes_, class_weight_, class_prior_, history_, n_iter_
        As in :class:`imbnet.ResampledKerasClassifier`.

    Notes
    -----
    Text needs Keras's TensorFlow backend. Each ``fit`` learns its vocabulary
    anew. ``partial_fit`` learns the vocabulary and the idf from the rows of
    its first call and keeps them fixed after: later calls train on the
    n-grams that vocabulary knows (new words count as out-of-vocabulary, id 1,
    which carries no weight), so give the first call a representative sample.

    Examples
    --------
    >>> from imbnet import CostSensitiveTextClassifier
    >>> texts = ["cheap pills now", "meeting at noon", "lunch at noon?",
    ...          "win cheap pills", "notes from the meeting", "see you at lunch"] * 5
    >>> y = [1, 0, 0, 1, 0, 0] * 5
    >>> clf = CostSensitiveTextClassifier(class_weight="balanced", epochs=5, random_state=0)
    >>> clf.fit(texts, y).predict(["cheap pills", "lunch meeting"]).tolist()
    [1, 0]
    """

    _allow_nd = False
    _allow_per_step = False
    warm_start = False  # no warm_start parameter: each fit starts anew
    # The network is built here: no user model, no named inputs, no augmentation.
    augment = None
    inputs = None

    _parameter_constraints: dict = {
        **ResampledKerasClassifier._parameter_constraints,
        "max_tokens": [Interval(Integral, 3, None, closed="left")],
        "ngrams": [Interval(Integral, 1, None, closed="left")],
        "standardize": [None, StrOptions(_STANDARDIZE)],
        "max_length": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        max_tokens=20000,
        ngrams=2,
        standardize="lower_and_strip_punctuation",
        max_length="auto",
        embedding_dim="auto",
        hidden_layer_sizes=(),
        dropout=0.0,
        alpha=3e-3,
        learning_rate_init=0.05,
        sampler=None,
        resample="epoch",
        batch_ratio=None,
        loss="log_loss",
        focal_gamma=2.0,
        logit_tau=1.0,
        ldam_margin=0.5,
        epochs=60,
        batch_size=256,
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
    ):
        self.max_tokens = max_tokens
        self.ngrams = ngrams
        self.standardize = standardize
        self.max_length = max_length
        self.embedding_dim = embedding_dim
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.sampler = sampler
        self.resample = resample
        self.batch_ratio = batch_ratio
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
        self._routed_params = {}

    # No routed ``model__`` / ``optimizer__`` parameters: the network is built here.
    def _get_param_names(self):
        return super(ResampledKerasClassifier, self)._get_param_names()

    def set_params(self, **params):
        """Set parameters, as any scikit-learn estimator."""
        return super(ResampledKerasClassifier, self).set_params(**params)

    @property
    def model(self):
        """The builder of the network on n-gram ids (see the class docstring)."""
        return self._network

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    # ------------------------------------------------------------ fit
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train one epoch on ``(X, y)``, continuing from the current state.

        The first call learns the vocabulary and the idf from its rows; later
        calls keep them (see the Notes of the class). As scikit-learn's
        ``partial_fit``: ``classes`` is required on the first call; settings
        that need the whole training set at once (``early_stopping``, a string
        ``class_weight``, the prior-adjusted losses, ``deferred_reweighting``)
        are refused with the fix in the message.

        Parameters
        ----------
        X : list of str, array-like of str or pandas Series of shape (n_samples,)
            One document per row.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            The class labels of all calls; required on the first call.

        Returns
        -------
        self : object

        Examples
        --------
        >>> from imbnet import CostSensitiveTextClassifier
        >>> clf = CostSensitiveTextClassifier(random_state=0)
        >>> clf = clf.partial_fit(["cheap pills", "see you at noon"], [1, 0], classes=[0, 1])
        >>> size = clf.vocabulary_size_
        >>> clf = clf.partial_fit(["cheap pills now", "lunch at noon"], [1, 0])
        >>> clf.vocabulary_size_ == size, len(clf.history_["loss"])
        (True, 2)
        """
        return super().partial_fit(X, y, sample_weight=sample_weight, classes=classes)

    def _validate_partial_input(self, X, y, sample_weight, *, reset):
        """The first call: text checked, vocabulary and idf learnt; later calls: the
        text column checked against the first's. Returns the n-gram ids."""
        if reset:
            texts, y, sample_weight = self._validate_fit_input(X, y, sample_weight)
            self._fit_vectorizer(texts)
        else:
            texts = super()._validate_predict_input(X)
            y, sample_weight = check_rows_target(texts, y, sample_weight)
        return self._token_ids(texts), y, sample_weight

    def _partial_data(self, X, y, sample_weight):
        data = super()._partial_data(X, y, sample_weight)
        self._check_fit_data(data.X, data.y)  # as fit: a sampler must select rows
        return data

    def _n_epochs(self):
        return 1 if self._partial_step is not None else super()._n_epochs()

    def _record_fit(self, result, source):
        super()._record_fit(result, source)
        self.__dict__.pop("t_", None)  # the mixin's count of rows fed: not kept here

    def _validate_fit_input(self, X, y, sample_weight):
        if isinstance(X, np.ndarray) and X.dtype.kind not in "OUS":
            raise TypeError(
                "CostSensitiveTextClassifier takes raw text, one document per row (a list "
                f"of str, a 1-D array of strings or a pandas Series); got a numeric array "
                f"of shape {X.shape}. For numeric features use CostSensitiveMLPClassifier."
            )
        return super()._validate_fit_input(X, y, sample_weight)

    def _prepare_data(self, X, y, sample_weight):
        if self._partial_step is not None:  # already n-gram ids: _validate_partial_input
            return super()._prepare_data(X, y, sample_weight)
        data, validation = super()._prepare_data(X, y, sample_weight)
        # The vocabulary from the training rows only (the hold-out is already out).
        self._fit_vectorizer(data.X)
        data = data._replace(X=self._token_ids(data.X))
        if validation is not None:
            validation = (self._token_ids(validation[0]), *validation[1:])
        return data, validation

    def _fit_vectorizer(self, texts):
        layer = keras.layers.TextVectorization(
            max_tokens=self.max_tokens,
            standardize=self.standardize,
            ngrams=None if self.ngrams == 1 else self.ngrams,
            output_mode="int",
        )
        layer.adapt(model_input(texts[:, 0]))
        self.vectorizer_ = keras.Sequential([keras.Input((1,), dtype="string"), layer])
        if hasattr(self, "idf_"):
            del self.idf_
        self.vocabulary_size_ = int(layer.vocabulary_size())
        if self.max_length == "auto":
            lengths = np.count_nonzero(self._raw_ids(texts), axis=1)
            wanted = max(int(np.percentile(lengths, 95)), 1)
            self.max_length_ = int(min(512, max(16, 2 ** int(np.ceil(np.log2(wanted))))))
        else:
            self.max_length_ = int(self.max_length)

    def _raw_ids(self, texts, batch_size=4096):
        chunks = [
            keras.ops.convert_to_numpy(self.vectorizer_(model_input(texts[i : i + batch_size])))
            for i in range(0, len(texts), batch_size)
        ]
        width = max(chunk.shape[1] for chunk in chunks)
        return np.concatenate([np.pad(c, ((0, 0), (0, width - c.shape[1]))) for c in chunks])

    def _token_ids(self, texts):
        """Each document as ``max_length_`` n-gram ids (0 pads) beside their TF-IDF
        weights, float32 for the engine: shape (n, 2 * max_length_)."""
        ids = self._raw_ids(texts)[:, : self.max_length_]
        ids = np.pad(ids, ((0, 0), (0, self.max_length_ - ids.shape[1])))
        if not hasattr(self, "idf_"):  # fit: the document frequencies of the training rows
            self.idf_ = _idf(ids, self.vocabulary_size_)
        weights = self.idf_[ids]
        norm = np.sqrt(_per_document(ids, weights**2, self.vocabulary_size_))
        weights = weights / np.maximum(norm, 1e-12)[:, None]
        return np.concatenate([ids, weights], axis=1).astype(np.float32)

    def _network(self, meta):
        """Averaged n-gram embeddings -> hidden layers -> output."""
        regularizer = keras.regularizers.L2(0.5 * self.alpha) if self.alpha else None
        target = self._target
        layers = [
            keras.Input((meta["n_features_in_"],)),
            WeightedBag(self.max_tokens, self._embedding_dim(), embeddings_regularizer=regularizer),
        ]
        for units in tuple(self.hidden_layer_sizes):
            if self.dropout:
                layers.append(keras.layers.Dropout(self.dropout))
            layers.append(
                keras.layers.Dense(int(units), activation="relu", kernel_regularizer=regularizer)
            )
        if self.dropout:
            layers.append(keras.layers.Dropout(self.dropout))
        layers.append(
            keras.layers.Dense(
                target.output_width,
                activation=target.output_activation,
                kernel_regularizer=regularizer,
            )
        )
        return keras.Sequential(layers)

    def _embedding_dim(self):
        if self.embedding_dim != "auto":
            return int(self.embedding_dim)
        return 64 if tuple(self.hidden_layer_sizes) else self._target.output_width

    def _make_optimizer(self):
        return keras.optimizers.Adam(float(self.learning_rate_init))

    # -------------------------------------------------------- predict
    def _validate_predict_input(self, X):
        return self._token_ids(super()._validate_predict_input(X))


def _per_document(ids, values, n_ids):
    """Sum over each document's distinct n-grams of ``values`` (given per position,
    the same for every repeat of an n-gram), times its count there: for TF-IDF
    norms, ``sum_t (count_t * idf_t)^2`` from per-position ``idf^2``."""
    rows = np.repeat(np.arange(ids.shape[0]), ids.shape[1])
    counts = scipy.sparse.csr_matrix(
        (np.ones(ids.size), (rows, ids.ravel())), shape=(ids.shape[0], n_ids)
    )
    per_id = scipy.sparse.csr_matrix(
        (values.ravel(), (rows, ids.ravel())), shape=(ids.shape[0], n_ids)
    )  # summed over repeats: count * value
    return np.asarray(counts.multiply(per_id).sum(axis=1)).ravel()


def _idf(ids, n_ids):
    """Smoothed inverse document frequency of each id (scikit-learn's formula);
    0 for padding (id 0) and out-of-vocabulary n-grams (id 1)."""
    rows = np.repeat(np.arange(ids.shape[0]), ids.shape[1])
    present = scipy.sparse.csr_matrix(
        (np.ones(ids.size), (rows, ids.ravel())), shape=(ids.shape[0], n_ids)
    )
    df = np.asarray((present > 0).sum(axis=0)).ravel()
    idf = np.log((1 + ids.shape[0]) / (1 + df)) + 1.0
    idf[:2] = 0.0
    return idf
