"""Perceptrons side by side, each trained as if alone: one compiled program.

Model selection trains many small networks of one architecture that differ
only in numbers (class weights, penalties, learning rates, seeds, stopping
settings) and in the rows they learn from (folds, a sampler's output). Here
they are *members* of one program: their weights are stacked (kernel
``(n_members, d, units)``, as :class:`imbnet.engine._stacking.StackedDense`),
every mini-batch step gathers one batch of rows per member, shape
``(n_members, slots, d)``, and each member's loss, gradient and Adam update
are its own:

- a member's batch loss is the weighted mean over its own real rows plus its
  own L2 penalty ``0.5 * alpha / batch_size * ||W||^2``, as a single fit
  computes it; its gradient reaches only its own weights;
- the Adam moments and step count are per member, and a member whose batch
  is empty (fewer batches than another member's) or who has stopped takes no
  step: its weights, moments and step count do not change (frozen);
- after every epoch, each member's epoch loss (the weighted mean over its
  rows, plus its penalty) goes through scikit-learn's stopping rule
  (:mod:`imbnet.engine._stopping`) with its own ``tol`` / ``n_iter_no_change``,
  and its own ``max_iter`` ends it; a non-finite loss marks it diverged.

Each step is written out as one pass: the forward and backward matrix
products of every member (the backward pass spelled out for the sigmoid or
softmax output and the usual hidden activations, TensorFlow's own gradient
for any other), and one Adam update over every member's weights at once,
kept as one flat vector per member (kernels, then biases).

The host draws the row orders a chunk of epochs at a time, once per *source*
(members with the same orders callable and row count, e.g. one seed on one
fold, share one); inside the program each member reads its batch's rows from
its source. The program runs the chunk's epochs without returning to Python
and stops early once every member has stopped. This module knows nothing of
estimators.
"""

import functools
from typing import NamedTuple

import keras
import numpy as np

from . import _stopping

__all__ = ["Member", "MemberResult", "starting_kernels", "train_members"]

# Order slots handed over per call at most (epochs x batches x slots x members).
_ORDER_BUDGET = 1 << 21
_MAX_EPOCHS_PER_CALL = 64


class Member(NamedTuple):
    """One network's data and settings.

    ``X`` (n, d) float32, ``y`` (n,) encoded class indices, ``w`` (n,) row
    weights (class weight x sample weight); ``kernels`` the starting kernels of
    the Dense layers (biases start at zero); ``orders(first, count)`` the row
    orders of epochs ``first .. first + count - 1``, shape (count, n).
    """

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    kernels: list
    orders: object
    batch_size: int
    max_iter: int
    tol: float
    n_iter_no_change: int
    alpha: float
    learning_rate: float
    beta_1: float
    beta_2: float
    epsilon: float


class MemberResult(NamedTuple):
    """A member's trained ``kernels`` and ``biases``, epochs run, how it ended."""

    kernels: list
    biases: list
    n_iter: int
    converged: bool
    diverged: bool
    loss: float


def _bucket(n):
    return 1 << max(0, int(n) - 1).bit_length()


def _members_padded(n):
    """Member slots of a chunk of ``n``: a power of two up to 8, then a multiple
    of 4 (every padded member costs a real one's arithmetic; few shapes compile)."""
    return _bucket(n) if n <= 8 else -(-n // 4) * 4


def _slots_padded(batches, members):
    """Row slots of a step: the largest batch, rounded up to a multiple of 8 when
    it is a member's whole (small) data set rather than its ``batch_size`` (so a
    warm process meets few shapes when the data size moves a little)."""
    slots = max(batches)
    if slots in {m.batch_size for m in members}:
        return slots
    return min(-(-slots // 8) * 8, max(m.batch_size for m in members))


def train_members(members, *, activation, n_outputs):
    """Train ``members`` (perceptrons of one architecture) side by side.

    Parameters
    ----------
    members : list of Member
        All with the same number of features and layer sizes.
    activation : str
        Keras name of the hidden layers' activation.
    n_outputs : int
        1: a sigmoid unit and binary cross-entropy; more: softmax and
        categorical cross-entropy over that many classes.

    Returns
    -------
    list of MemberResult
    """
    import tensorflow as tf

    n_real = len(members)
    k_pad = _members_padded(n_real)
    sizes = [m.X.shape[0] for m in members]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_rows = max(1024, _bucket(int(offsets[-1]) + 1))
    n_features = members[0].X.shape[1]
    X_all = np.zeros((n_rows, n_features), np.float32)
    y_all = np.zeros(n_rows, np.int32)
    w_all = np.zeros(n_rows, np.float32)
    for k, m in enumerate(members):
        X_all[offsets[k] : offsets[k + 1]] = m.X
        y_all[offsets[k] : offsets[k + 1]] = m.y
        w_all[offsets[k] : offsets[k + 1]] = m.w
    batch = [min(m.batch_size, n) for m, n in zip(members, sizes)]
    n_batches = [-(-n // b) for n, b in zip(sizes, batch)]
    slots = _slots_padded(batch, members)
    # members drawing the same row orders (one seed and row count) share one source
    sources, source_of = {}, []
    for m, n in zip(members, sizes):
        source_of.append(sources.setdefault((id(m.orders), n), (len(sources), m.orders, n))[0])
    sources = list(sources.values())
    longest_rows = max(sizes)
    per_call = _ORDER_BUDGET // max(1, len(sources) * longest_rows)
    per_call = int(min(_MAX_EPOCHS_PER_CALL, max(1, 1 << (max(1, per_call).bit_length() - 1))))

    def column(values, dtype=np.float32, fill=0):
        out = np.full(k_pad, fill, dtype)
        out[:n_real] = values
        return tf.constant(out)

    hyper = dict(
        lr=column([m.learning_rate for m in members]),
        beta_1=column([m.beta_1 for m in members]),
        beta_2=column([m.beta_2 for m in members]),
        epsilon=column([m.epsilon for m in members], fill=1.0),
        penalty=column([0.5 * m.alpha / b for m, b in zip(members, batch)]),
        tol=column([m.tol for m in members]),
        patience=column([m.n_iter_no_change for m in members], np.int32),
        max_iter=column([m.max_iter for m in members], np.int32),
        batch=column(batch, np.int32, 1),
        n_rows=column(sizes, np.int32),
        source=column(source_of, np.int32),
        offset=column(offsets[:-1], np.int32),
    )
    shapes = [tuple(k.shape) for k in members[0].kernels]
    layout = _Layout(shapes)
    flat = np.zeros((k_pad, layout.size), np.float32)
    for k, m in enumerate(members):
        flat[k, : layout.n_kernel_values] = np.concatenate([np.ravel(w) for w in m.kernels])
    flat = tf.constant(flat)
    state = dict(
        flat=flat,
        m=tf.zeros_like(flat),
        v=tf.zeros_like(flat),
        t=tf.zeros(k_pad),
        best=tf.fill([k_pad], np.float32(np.inf)),
        count=tf.zeros(k_pad, tf.int32),
        n_iter=tf.zeros(k_pad, tf.int32),
        running=column([True] * n_real, bool, False),
        diverged=tf.zeros(k_pad, tf.bool),
        loss=tf.zeros(k_pad),
    )
    program = _program(shapes, activation, n_outputs, slots)
    data = (tf.constant(X_all), tf.constant(y_all), tf.constant(w_all))
    epoch = 0
    longest = max(m.max_iter for m in members)
    running = np.array([True] * n_real)
    orders = np.zeros((len(sources), per_call, longest_rows), np.int32)
    while epoch < longest and running.any():
        count = min(per_call, longest - epoch)
        wanted = {source_of[k] for k in np.flatnonzero(running)}
        for position, draw, n in sources:
            if position in wanted:
                orders[position, :count, :n] = draw(epoch, count)
        state = program(
            *data,
            tf.constant(orders),
            tf.constant(count, tf.int32),
            tf.constant(max(n_batches), tf.int32),
            hyper,
            state,
        )
        epoch += count
        running = state["running"].numpy()[:n_real]
    kernels, biases = layout.split(state["flat"].numpy())
    n_iter = state["n_iter"].numpy()
    diverged = state["diverged"].numpy()
    count = state["count"].numpy()
    losses = state["loss"].numpy()
    results = []
    for k, m in enumerate(members):
        results.append(
            MemberResult(
                [w[k] for w in kernels],
                [b[k] for b in biases],
                int(n_iter[k]),
                bool(count[k] > m.n_iter_no_change) and not diverged[k],
                bool(diverged[k]),
                float(losses[k]),
            )
        )
    return results


class _Layout:
    """Where each layer's kernel and bias sit in a member's flat weight vector:
    the kernels (row-major) first, then the biases."""

    def __init__(self, shapes):
        self.shapes = [tuple(int(d) for d in s) for s in shapes]
        sizes = [a * b for a, b in self.shapes] + [b for _, b in self.shapes]
        self.bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.n_kernel_values = self.bounds[len(self.shapes)]
        self.size = self.bounds[-1]

    def pieces(self, flat, xp_reshape):
        n = len(self.shapes)
        parts = [flat[:, self.bounds[i] : self.bounds[i + 1]] for i in range(2 * n)]
        kernels = [xp_reshape(p, (-1, *s)) for p, s in zip(parts[:n], self.shapes)]
        return kernels, parts[n:]

    def split(self, flat):
        return self.pieces(flat, np.reshape)


_PROGRAMS = {}


def _program(shapes, activation, n_outputs, slots):
    """The compiled program for an architecture (one per process, XLA per shape)."""
    key = (tuple(shapes), activation, n_outputs, slots)
    if key not in _PROGRAMS:
        import tensorflow as tf

        _PROGRAMS[key] = tf.function(
            _make_run(tf, _Layout(shapes), activation, n_outputs, slots),
            jit_compile=True,
            autograph=False,
        )
    return _PROGRAMS[key]


def _activation_and_gradient(tf, name):
    """The hidden activation and ``grad(z, h, upstream)``, its backward pass
    (written out for the usual ones, else TensorFlow's own gradient)."""
    known = {
        "relu": (tf.nn.relu, lambda z, h, up: up * tf.cast(z > 0, up.dtype)),
        "tanh": (tf.tanh, lambda z, h, up: up * (1 - h * h)),
        "sigmoid": (tf.sigmoid, lambda z, h, up: up * h * (1 - h)),
        "linear": (tf.identity, lambda z, h, up: up),
    }
    if name in known:
        return known[name]
    function = keras.activations.get(name)

    def grad(z, h, upstream):
        with tf.GradientTape() as tape:
            tape.watch(z)
            out = function(z)
        return tape.gradient(out, z, output_gradients=upstream)

    return function, grad


def _make_run(tf, layout, activation, n_outputs, slots):
    n_layers = len(layout.shapes)
    hidden, hidden_grad = _activation_and_gradient(tf, activation)

    def forward_backward(flat, x, yb, scale, penalty):
        """Rows' losses and the flat gradient of each member's batch loss
        ``sum(scale * row loss) + penalty * ||kernels||^2``."""
        kernels, biases = layout.pieces(flat, tf.reshape)
        inputs, pre = [x], []
        h = x
        for layer in range(n_layers):
            z = tf.matmul(h, kernels[layer]) + biases[layer][:, None]
            pre.append(z)
            if layer < n_layers - 1:
                h = hidden(z)
                inputs.append(h)
        if n_outputs == 1:
            labels = tf.cast(yb, tf.float32)
            losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=z[..., 0])
            delta = ((tf.sigmoid(z[..., 0]) - labels) * scale)[..., None]
        else:
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=z)
            delta = (tf.nn.softmax(z) - tf.one_hot(yb, n_outputs)) * scale[..., None]
        kernel_grads, bias_grads = [None] * n_layers, [None] * n_layers
        factor = (2 * penalty)[:, None, None]
        for layer in reversed(range(n_layers)):
            kernel_grads[layer] = (
                tf.matmul(inputs[layer], delta, transpose_a=True) + factor * kernels[layer]
            )
            bias_grads[layer] = tf.reduce_sum(delta, axis=1)
            if layer:
                upstream = tf.matmul(delta, kernels[layer], transpose_b=True)
                delta = hidden_grad(pre[layer - 1], inputs[layer], upstream)
        n_members = tf.shape(flat)[0]
        grads = tf.concat(
            [tf.reshape(g, (n_members, -1)) for g in kernel_grads] + bias_grads, axis=1
        )
        squares = tf.reduce_sum(tf.square(flat[:, : layout.n_kernel_values]), axis=1)
        return losses, grads, penalty * squares

    def run(X, y, w, orders, n_epochs, n_batches, hyper, state):
        slot = tf.range(slots)[None, :]
        batch, n_rows = hyper["batch"][:, None], hyper["n_rows"][:, None]
        width = tf.shape(orders)[2]
        first_row = hyper["source"][:, None] * width
        b1, b2 = hyper["beta_1"][:, None], hyper["beta_2"][:, None]
        epsilon = hyper["epsilon"][:, None]

        def step(b, e, s):
            position = b * batch + slot
            real = tf.logical_and(slot < batch, position < n_rows)
            local = tf.gather(
                tf.reshape(orders[:, e], [-1]),
                first_row + tf.clip_by_value(position, 0, tf.maximum(n_rows - 1, 0)),
            )
            rows = local + hyper["offset"][:, None]
            real = tf.cast(real, tf.float32)
            x, yb = tf.gather(X, rows), tf.gather(y, rows)
            wb = tf.gather(w, rows) * real
            n_real = tf.reduce_sum(real, axis=1)
            active = tf.logical_and(s["running"], n_real > 0)
            losses, g, reg = forward_backward(
                s["flat"], x, yb, wb / tf.maximum(n_real, 1.0)[:, None], hyper["penalty"]
            )
            weighted = tf.reduce_sum(wb * losses, axis=1)
            t = s["t"] + tf.cast(active, tf.float32)
            step_size = (
                hyper["lr"]
                * tf.sqrt(1 - hyper["beta_2"] ** t)
                / tf.maximum(1 - hyper["beta_1"] ** t, 1e-30)
            )
            m, v, flat = s["m"], s["v"], s["flat"]
            m2 = m + (g - m) * (1 - b1)
            v2 = v + (g * g - v) * (1 - b2)
            flat2 = flat - step_size[:, None] * m2 / (tf.sqrt(v2) + epsilon)
            on = active[:, None]
            mass = tf.reduce_sum(wb, axis=1)
            new = {
                "flat": tf.where(on, flat2, flat),
                "m": tf.where(on, m2, m),
                "v": tf.where(on, v2, v),
                "t": t,
            }
            return {**s, **new}, (weighted + reg * mass, mass)

        def epoch_body(e, s):
            zeros = tf.zeros_like(s["t"])

            def batch_body(b, s, total, mass):
                s, (part, part_mass) = step(b, e, s)
                return b + 1, s, total + part, mass + part_mass

            _, s, total, mass = tf.while_loop(
                lambda b, *_: b < n_batches, batch_body, (tf.constant(0), s, zeros, zeros)
            )
            loss = total / tf.maximum(mass, 1e-12)
            running = s["running"]
            stopping, _, stop = _stopping.update(
                _stopping.StoppingState(s["best"], s["count"]),
                loss,
                tol=hyper["tol"],
                n_iter_no_change=hyper["patience"],
                xp=tf,
            )
            finite = tf.logical_and(
                tf.math.is_finite(loss), tf.reduce_all(tf.math.is_finite(s["flat"]), axis=1)
            )
            n_iter = s["n_iter"] + tf.cast(running, tf.int32)
            diverged = tf.logical_or(s["diverged"], tf.logical_and(running, ~finite))
            still = running & ~stop & finite & (n_iter < hyper["max_iter"])
            return e + 1, {
                **s,
                "best": tf.where(running, stopping.best, s["best"]),
                "count": tf.where(running, stopping.count, s["count"]),
                "n_iter": n_iter,
                "diverged": diverged,
                "running": still,
                "loss": tf.where(running, loss, s["loss"]),
            }

        _, state = tf.while_loop(
            lambda e, s: tf.logical_and(e < n_epochs, tf.reduce_any(s["running"])),
            epoch_body,
            (tf.constant(0), state),
        )
        return state

    return run


def starting_kernels(initializer, seeds, shapes):
    """The Dense kernels a fresh build would start from: ``initializer`` (a Keras
    name) seeded with ``seeds[i]`` for layer ``i`` of shape ``shapes[i]``.

    The arrays are read-only and shared: a search's candidates with one
    ``random_state`` start from the same kernels, drawn once.
    """
    return [
        _starting_kernel(initializer, int(seed), tuple(shape)) for seed, shape in zip(seeds, shapes)
    ]


@functools.lru_cache(maxsize=512)
def _starting_kernel(initializer, seed, shape):
    try:
        init = keras.initializers.get({"class_name": initializer, "config": {"seed": seed}})
    except TypeError:
        init = keras.initializers.get(initializer)
    kernel = keras.ops.convert_to_numpy(init(shape, dtype="float32"))
    kernel.flags.writeable = False
    return kernel
