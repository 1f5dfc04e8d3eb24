"""Generative oversampling: a conditional Wasserstein GAN that writes minority rows.

This module knows nothing of imbnet's estimators. :class:`GANOverSampler` is
an imbalanced-learn over-sampler: ``fit_resample`` trains a conditional GAN
on the rows it is given and appends synthetic rows of the classes that
``sampling_strategy`` asks for; ``redraw`` draws fresh synthetic rows from the
trained generator without training again.
"""

import collections
import math
from numbers import Integral, Real

import keras
import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.preprocessing import QuantileTransformer, StandardScaler, label_binarize
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from .._naming import private_layer_names
from .._persistence import KerasStateMixin
from .._random import SeedStream, fit_seed
from ..engine._adam import adam_step_size, adam_update
from ..engine._chunks import MIN_ROWS, bucket

__all__ = ["GANOverSampler"]

# Decay of the moving average of the generator's weights, per generator step.
AVERAGE_DECAY = 0.99


class GANOverSampler(KerasStateMixin, BaseOverSampler):
    """Over-sample with a conditional GAN trained on the data (WGAN-GP).

    ``fit_resample`` trains a generator and a critic, two small Keras
    networks both conditioned on the class (one-hot), with the Wasserstein
    loss and gradient penalty of Gulrajani et al. (2017), on class-balanced
    batches of all the rows it is given. Then it returns the original rows,
    unchanged and in order, followed by synthetic rows of each class that
    ``sampling_strategy`` over-samples, written by the generator.

    Numeric columns are normalised per class before training
    (``column_transform``): with ``"quantile"`` (the default) each column of
    each class is mapped through its empirical quantiles to a standard normal,
    and the generator's output is mapped back through the same quantiles.
    Skewed, heavy-tailed and multi-modal columns thus become Gaussian, which
    a small network fed Gaussian noise matches easily, and every synthetic
    value lies in the range that class observed; the GAN learns how the
    columns go together. Per class, a minority of a hundred rows gets a map
    of its own rather than a few quantiles in a tail of the majority's.
    ``"standard"`` only centres and scales each column of each class.

    ``redraw(random_state)`` returns a new resampled set with fresh synthetic
    rows from the trained generator (no training: one forward pass).
    :class:`imbnet.ResampledKerasClassifier` with this sampler trains the GAN
    once per fit and redraws the synthetic rows every epoch.

    The GAN trains with TensorFlow: on another Keras backend (``KERAS_BACKEND``
    "jax" or "torch") ``fit_resample`` raises a ``RuntimeError`` saying so.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        How many rows of each class to add, as imbalanced-learn defines it
        for over-samplers: a float (binary only) is the minority/majority
        ratio after resampling; "minority", "not minority", "not majority",
        "all" or "auto" (= "not majority") equalise the classes named; a
        dict gives the number of rows of each class after resampling; a
        callable takes ``y`` and returns such a dict.
    random_state : int, RandomState instance or None, default=None
        Seeds the networks' weights, the training batches and noise, and the
        synthetic rows; the same seed gives the same rows. No global random
        state is read or changed.
    epochs : int, default=300
        Training epochs. An epoch is as many generator steps as it takes
        class-balanced batches to show about every row of the largest
        over-sampled class once (with ``n_critic`` critic steps each).
    batch_size : int, default=128
        Rows per training batch, drawn with the classes in equal shares.
        Doubled from 64 with ``learning_rate`` (from 1e-3): half the steps
        for the same rows shown, at unchanged test scores and fidelity in
        ``benchmarks/generative_oversampling.py``, about 1.4x faster.
    latent_dim : int, default=16
        Size of the generator's noise input.
    hidden_units : tuple of int, default=(64, 64)
        Widths of the hidden layers of the generator and of the critic.
    n_critic : int, default=5
        Critic steps per generator step.
    gp_weight : float, default=10.0
        Weight of the gradient penalty in the critic's loss.
    learning_rate : float, default=2e-3
        Adam's learning rate for both networks (``beta_1=0.5``, ``beta_2=0.9``).
    column_transform : {"quantile", "standard"}, default="quantile"
        Per-class normalisation of the columns (see above).

    Attributes
    ----------
    sampling_strategy_ : dict
        Rows added per class (imbalanced-learn's form).
    generator_ : keras.Model
        The trained generator, mapping ``[noise, one-hot class]`` to rows in
        the normalised space.
    history_ : dict of list of float
        Mean losses per epoch: ``"critic"`` (its Wasserstein estimate with
        the penalty, negated: lower is better for the critic) and
        ``"generator"``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from imbnet import GANOverSampler
    >>> X, y = make_classification(n_samples=300, n_features=4, weights=[0.9],
    ...                            random_state=0)
    >>> sampler = GANOverSampler(epochs=20, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> import numpy as np
    >>> np.bincount(y), np.bincount(y_res)
    (array([269,  31]), array([269, 269]))
    >>> bool((X_res[:300] == X).all())     # the original rows come first
    True
    >>> X_new, y_new = sampler.redraw(random_state=1)   # fresh synthetic rows
    >>> bool((X_new[300:] != X_res[300:]).any())
    True
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_units": [tuple, list],
        "n_critic": [Interval(Integral, 1, None, closed="left")],
        "gp_weight": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "column_transform": [StrOptions({"quantile", "standard"})],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        epochs=300,
        batch_size=128,
        latent_dim=16,
        hidden_units=(64, 64),
        n_critic=5,
        gp_weight=10.0,
        learning_rate=2e-3,
        column_transform="quantile",
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.epochs = epochs
        self.batch_size = batch_size
        self.latent_dim = latent_dim
        self.hidden_units = hidden_units
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.learning_rate = learning_rate
        self.column_transform = column_transform

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    def _check_X_y(self, X, y, accept_sparse=None):
        y_type = type_of_target(y)
        one_hot = y_type == "multilabel-indicator" and np.all(np.asarray(y).sum(axis=1) == 1)
        # Two one-hot columns would come back as one (label_binarize of two classes).
        two_columns = np.ndim(y) == 2 and np.shape(y)[1] == 2
        if y_type in ("multilabel-indicator", "multiclass-multioutput") and (
            not one_hot or two_columns
        ):
            raise ValueError(
                "GANOverSampler over-samples classes of a 1-D target; y is "
                f"{y_type} of shape {np.shape(y)}. Pass one class per row."
            )
        # A one-hot y is a multiclass y, as in imbalanced-learn; redraw answers in kind.
        X, y, self._one_hot = super()._check_X_y(X, y, accept_sparse=False)
        return X, y, self._one_hot

    def _fit_resample(self, X, y):
        if keras.backend.backend() != "tensorflow":
            # The GAN's training step is TensorFlow code (tf.function, nested
            # GradientTape for the gradient penalty) on Keras layers: it needs
            # Keras's layers to compute in TensorFlow.
            raise RuntimeError(
                "GANOverSampler trains its GAN with TensorFlow, but Keras runs on the "
                f"{keras.backend.backend()!r} backend. Set KERAS_BACKEND=tensorflow before "
                "Keras is first imported, or use another over-sampler (e.g. "
                "imblearn.over_sampling.SMOTE)."
            )
        units = tuple(self.hidden_units)
        if not units or not all(isinstance(u, Integral) and u > 0 for u in units):
            raise ValueError(
                "hidden_units must be a non-empty tuple of positive ints, "
                f"got {self.hidden_units!r}."
            )
        seeds = SeedStream(fit_seed(self.random_state))
        classes, y_encoded = np.unique(y, return_inverse=True)
        self._classes = classes
        self._X_fit, self._y_fit = X, y
        self._transforms = [
            _column_transform(self.column_transform, X[y_encoded == k], seeds.seed_for(f"t{k}"))
            for k in range(classes.shape[0])
        ]
        Z = np.empty(X.shape, np.float32)
        for k, transform in enumerate(self._transforms):
            Z[y_encoded == k] = transform.transform(X[y_encoded == k])
        counts = np.bincount(y_encoded, minlength=classes.shape[0])
        wanted = [
            counts[np.searchsorted(classes, c)] for c, n in self.sampling_strategy_.items() if n > 0
        ]
        self.history_ = {"critic": [], "generator": []}
        gan = _ConditionalWGAN.reused(
            n_features=X.shape[1],
            n_classes=classes.shape[0],
            latent_dim=self.latent_dim,
            hidden_units=units,
            learning_rate=float(self.learning_rate),
            gp_weight=float(self.gp_weight),
            n_critic=self.n_critic,
        )
        gan.reset(seeds)
        if wanted:  # nothing to add: no training
            steps = math.ceil(classes.shape[0] * max(wanted) / self.batch_size)
            plan = _BatchPlan(y_encoded, self.batch_size, seeds.rng("batches"))
            onehot = np.eye(classes.shape[0], dtype=np.float32)[y_encoded]
            critic, generator = gan.train(Z, onehot, plan, steps, self.epochs)
            self.history_["critic"].extend(critic)
            self.history_["generator"].extend(generator)
        self.generator_ = gan.release()
        return self._resampled(seeds.seed_for("draw"))

    def redraw(self, random_state=None):
        """The last ``fit_resample``'s data with fresh synthetic rows; no training.

        Parameters
        ----------
        random_state : int, RandomState instance or None, default=None
            Seeds the noise fed to the trained generator.

        Returns
        -------
        X_resampled, y_resampled : ndarrays
            The rows ``fit_resample`` was given, unchanged and in order, then
            as many synthetic rows of each class as ``fit_resample`` added.
        """
        check_is_fitted(self, "generator_")
        X_resampled, y_resampled = self._resampled(fit_seed(random_state))
        if self._one_hot:
            y_resampled = label_binarize(y_resampled, classes=self._classes)
        return X_resampled, y_resampled

    def _resampled(self, seed):
        rng = np.random.default_rng(seed)
        X_parts, y_parts = [self._X_fit], [self._y_fit]
        for label, n_new in self.sampling_strategy_.items():
            if n_new <= 0:
                continue
            k = int(np.searchsorted(self._classes, label))
            noise = rng.standard_normal((n_new, self.latent_dim)).astype(np.float32)
            onehot = np.zeros((n_new, self._classes.shape[0]), np.float32)
            onehot[:, k] = 1.0
            Z = keras.ops.convert_to_numpy(
                self.generator_(np.concatenate([noise, onehot], axis=1), training=False)
            )
            X_parts.append(self._transforms[k].inverse_transform(Z).astype(self._X_fit.dtype))
            y_parts.append(np.full(n_new, label, dtype=self._y_fit.dtype))
        return np.concatenate(X_parts), np.concatenate(y_parts)


def _column_transform(kind, X_class, seed):
    """Per-column map of one class's rows to roughly standard normal columns."""
    if kind == "quantile":
        transform = QuantileTransformer(
            n_quantiles=min(1000, X_class.shape[0]),
            output_distribution="normal",
            random_state=seed,
        )
    else:
        transform = StandardScaler()
    return transform.fit(X_class)


class _BatchPlan:
    """Class-balanced batches of row indices: each row's class drawn uniformly."""

    def __init__(self, y_encoded, batch_size, rng):
        self.order = np.argsort(y_encoded, kind="stable")
        counts = np.bincount(y_encoded)
        self.counts = counts
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.batch_size = batch_size
        self.rng = rng

    def draw(self, shape):
        """Row indices of shape ``shape + (batch_size,)`` and their classes."""
        shape = tuple(shape) + (self.batch_size,)
        classes = self.rng.integers(self.counts.shape[0], size=shape)
        offsets = np.floor(self.rng.random(shape) * self.counts[classes]).astype(np.int64)
        return self.order[self.starts[classes] + offsets].astype(np.int32), classes.astype(np.int32)


class _ConditionalWGAN:
    """Generator and critic, both conditioned on a one-hot class, and their training.

    Compiling the training function (XLA: once for data sets of up to
    ``MIN_ROWS`` rows, once per power of two above) takes seconds, longer
    than training on a few hundred rows; so the networks, optimizers and
    compiled function of a fit are kept (a few, by architecture) and reused by
    later fits, which ``reset`` every variable from their own seeds first: a
    reused instance trains exactly as a new one would. An instance in use is
    out of the cache, so concurrent fits never share one.
    """

    _cache = collections.OrderedDict()
    _cache_size = 4

    @classmethod
    def reused(cls, **architecture):
        """A cached instance of this architecture, or a new one; ``release`` it after training."""
        key = tuple(sorted(architecture.items()))
        gan = cls._cache.pop(key, None)
        if gan is None:
            with private_layer_names():
                gan = cls(**architecture)
        gan._key = key
        return gan

    def release(self):
        """A copy of the trained generator (the moving average); back to the cache."""
        with private_layer_names():
            generator = _mlp(*self._generator_shape, skip=True, name="generator")
        _copy_weights(self.average, generator)
        self._cache[self._key] = self
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return generator

    def __init__(
        self, *, n_features, n_classes, latent_dim, hidden_units, learning_rate, gp_weight, n_critic
    ):
        import tensorflow as tf

        self._tf = tf
        self.n_classes = n_classes
        self.latent_dim = latent_dim
        self.gp_weight = gp_weight
        self.n_critic = n_critic
        self._generator_shape = (latent_dim + n_classes, hidden_units, n_features)
        self.generator = _mlp(*self._generator_shape, skip=True, name="generator")
        # The generator returned: a moving average of the trained one's weights,
        # which settles where the trained weights keep circling (Yazici et al., 2019).
        self.average = _mlp(*self._generator_shape, skip=True, name="generator")
        self.critic = _mlp(n_features + n_classes, hidden_units, 1, name="critic")
        self.n_updates = keras.Variable(0.0, trainable=False, name="n_updates")
        self.noise = keras.random.SeedGenerator(0)
        self.g_optimizer = _Adam(self.generator.trainable_variables, learning_rate)
        self.c_optimizer = _Adam(self.critic.trainable_variables, learning_rate)
        # All the steps of many epochs in one call, compiled by XLA (which fuses
        # the many small operations of two small networks and their gradient
        # penalty); XLA compiles once per shape, so the shapes depend on the
        # data as little as possible (see ``train``).
        self._steps = tf.function(self._train_steps, jit_compile=True, autograph=False)

    def reset(self, seeds):
        """Fresh weights, optimizer state and noise stream, all from ``seeds``."""
        _initialise(self.generator, seeds.seed_for("generator"))
        _initialise(self.critic, seeds.seed_for("critic"))
        _copy_weights(self.generator, self.average)
        self.g_optimizer.reset()
        self.c_optimizer.reset()
        self.n_updates.assign(0.0)
        state = self.noise.state
        start = np.array([seeds.seed_for("noise"), 0])
        state.assign(start.astype(keras.backend.standardize_dtype(state.dtype)))

    def train(self, Z, onehot, plan, steps, epochs):
        """``epochs`` of ``steps`` generator steps, each after ``n_critic`` critic
        steps; the mean critic and generator losses of every epoch."""
        tf = self._tf
        # The rows, padded to at least MIN_ROWS, then to a power of two: never
        # drawn (a step gathers its batches), the padding costs no work, and data
        # sets of up to MIN_ROWS rows share one compilation.
        n_rows = max(MIN_ROWS, bucket(Z.shape[0]))
        Z = np.concatenate([Z, np.zeros((n_rows - Z.shape[0], Z.shape[1]), np.float32)])
        onehot = np.concatenate(
            [onehot, np.zeros((n_rows - onehot.shape[0], onehot.shape[1]), np.float32)]
        )
        Z, onehot = tf.constant(Z), tf.constant(onehot)
        # Batch indices for up to _STEPS_PER_CALL steps per call: one shape for
        # every fit (a grid over sampling_strategy or epochs compiles nothing new).
        per_call = max(1, min(epochs, _STEPS_PER_CALL // steps))
        capacity = max(_STEPS_PER_CALL, bucket(steps))
        critic, generator = [], []
        for start in range(0, epochs, per_call):
            n_epochs = min(per_call, epochs - start)
            n_steps = n_epochs * steps
            critic_rows, _ = plan.draw((capacity, self.n_critic))
            _, generator_classes = plan.draw((capacity,))
            losses = self._steps(
                Z, onehot, critic_rows, generator_classes, tf.constant(n_steps, tf.int32)
            )
            losses = np.asarray(losses)[:n_steps].reshape(n_epochs, steps, 2).mean(axis=1)
            critic.extend(losses[:, 0].astype(float).tolist())
            generator.extend(losses[:, 1].astype(float).tolist())
        return critic, generator

    def _fake(self, condition):
        noise = keras.random.normal(
            (self._tf.shape(condition)[0], self.latent_dim), seed=self.noise
        )
        return self.generator(self._tf.concat([noise, condition], axis=1), training=True)

    def _critic_step(self, real, condition):
        tf = self._tf
        fake = self._fake(condition)
        n = tf.shape(real)[0]
        mix = keras.random.uniform((n, 1), seed=self.noise)
        between = mix * real + (1.0 - mix) * fake
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(between)
                between_score = self.critic(tf.concat([between, condition], 1), training=True)
            slopes = inner.gradient(between_score, between)
            penalty = tf.reduce_mean((tf.sqrt(tf.reduce_sum(slopes**2, axis=1) + 1e-12) - 1.0) ** 2)
            # The real and the fake rows in one pass of the critic (the gradient
            # penalty's second derivative runs over the interpolated rows only).
            rows = tf.concat([tf.concat([real, fake], 0), tf.tile(condition, [2, 1])], 1)
            scores = self.critic(rows, training=True)
            loss = (
                tf.reduce_mean(scores[n:]) - tf.reduce_mean(scores[:n]) + self.gp_weight * penalty
            )
        self.c_optimizer.apply(tape.gradient(loss, self.critic.trainable_variables))
        return loss

    def _generator_step(self, condition):
        tf = self._tf
        with tf.GradientTape() as tape:
            fake = self._fake(condition)
            loss = -tf.reduce_mean(self.critic(tf.concat([fake, condition], 1), training=True))
        variables = self.generator.trainable_variables
        self.g_optimizer.apply(tape.gradient(loss, variables))
        decay = tf.minimum(AVERAGE_DECAY, (1.0 + self.n_updates) / (10.0 + self.n_updates))
        for average, variable in zip(self.average.trainable_variables, variables):
            average.assign(decay * average + (1.0 - decay) * variable)
        self.n_updates.assign_add(1.0)
        return loss

    def _train_steps(self, Z, onehot, critic_rows, generator_classes, n_steps):
        """The first ``n_steps`` steps; every step's (critic, generator) loss."""
        tf = self._tf

        def step(i, losses):
            # n_critic critic steps, unrolled (a nested while_loop breaks TensorFlow 2.17).
            critic_loss = tf.constant(0.0)
            for j in range(self.n_critic):
                rows = critic_rows[i, j]
                critic_loss += self._critic_step(tf.gather(Z, rows), tf.gather(onehot, rows))
            condition = tf.one_hot(generator_classes[i], self.n_classes)
            generator_loss = self._generator_step(condition)
            return i + 1, losses.write(i, tf.stack([critic_loss / self.n_critic, generator_loss]))

        losses = tf.TensorArray(tf.float32, size=tf.shape(critic_rows)[0], element_shape=(2,))
        _, losses = tf.while_loop(lambda i, _: i < n_steps, step, (tf.constant(0), losses))
        return losses.stack()


class _Adam:
    """Adam with WGAN-GP's betas (0.5, 0.9), computed as ``keras.optimizers.Adam``
    computes it (no weight decay, clipping or moving average), in plain
    TensorFlow operations (:mod:`imbnet.engine._adam`): the training program
    applies an optimizer ``n_critic + 1`` times a step, and Keras's optimizer
    took about 0.2 s to trace at each, a second of every process's first fit."""

    def __init__(self, variables, learning_rate, beta_1=0.5, beta_2=0.9, epsilon=1e-7):
        self.variables = list(variables)
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = (
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
        )
        self.iterations = keras.Variable(0, dtype="int64", trainable=False, name="iterations")
        self.moments = [
            keras.Variable(np.zeros(v.shape, np.float32), trainable=False, name=name)
            for name in ("momentum", "velocity")
            for v in self.variables
        ]

    def reset(self):
        """The state of an optimizer that never stepped."""
        self.iterations.assign(0)
        for moment in self.moments:
            moment.assign(np.zeros(moment.shape, np.float32))

    def apply(self, gradients):
        import tensorflow as tf

        t = tf.cast(self.iterations + 1, tf.float32)
        step_size = adam_step_size(self.learning_rate, self.beta_1, self.beta_2, t)
        n = len(self.variables)
        for variable, gradient, m, v in zip(
            self.variables, gradients, self.moments[:n], self.moments[n:]
        ):
            values = adam_update(
                variable, gradient, m, v, step_size, self.beta_1, self.beta_2, self.epsilon
            )
            for target, value in zip((variable, m, v), values):
                target.assign(value)
        self.iterations.assign_add(1)


# Steps per compiled call (bounds the arrays of batch indices drawn ahead).
_STEPS_PER_CALL = 2048


def _mlp(n_inputs, hidden_units, n_outputs, *, name, skip=False):
    """Dense layers with leaky ReLU (weights set by :func:`_initialise`).

    With ``skip``, a linear map of the inputs is added to the output, so that
    a Gaussian with any covariance (the normalised columns of a class, if
    they go together linearly) is the network's easiest output.
    """
    inputs = keras.Input((n_inputs,))
    hidden = inputs
    for units in hidden_units:
        hidden = keras.layers.Dense(units, activation="leaky_relu", kernel_initializer="zeros")(
            hidden
        )
    outputs = keras.layers.Dense(n_outputs, kernel_initializer="zeros")(hidden)
    if skip:
        linear = keras.layers.Dense(n_outputs, use_bias=False, kernel_initializer="zeros")(inputs)
        outputs = keras.layers.Add()([outputs, linear])
    return keras.Model(inputs, outputs, name=name)


def _initialise(model, seed):
    """Glorot-uniform kernels, each from its own seed, and zero biases."""
    stream = SeedStream(seed)
    for position, variable in enumerate(model.trainable_variables):
        if len(variable.shape) == 2:
            initializer = keras.initializers.GlorotUniform(
                seed=stream.seed_for(f"kernel{position}")
            )
            variable.assign(initializer(variable.shape))
        else:
            variable.assign(np.zeros(variable.shape, np.float32))


def _copy_weights(source, target):
    for to, value in zip(target.weights, source.weights):
        to.assign(value.numpy())
