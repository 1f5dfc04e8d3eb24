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

The host draws each member's row orders (a callable per member) a chunk of
epochs at a time; the program runs the chunk's epochs without returning to
Python and stops early once every member has stopped. This module knows
nothing of estimators.
"""

import functools
from typing import NamedTuple

import keras
import numpy as np

from . import _stopping
from ._adam import adam_step_size, adam_update
from ._chunks import bucket

__all__ = [
    "Member",
    "MemberResult",
    "call_shape",
    "starting_kernels",
    "train_members",
]

# Order slots handed over per call at most (epochs x batches x slots x members;
# 16 MB of int32).
_ORDER_BUDGET = 1 << 22
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
    # Beyond cross-entropy, for binary members (one sigmoid unit) only: focal
    # ``gamma``; the logit ``z`` trained as ``scale * (z + shift - y * margins[1]
    # + (1 - y) * margins[0])`` (logit adjustment: ``shift``; LDAM: ``margins``
    # and ``scale``); deferred re-weighting: row weights ``w_late`` from epoch
    # ``switch`` on (``w`` before), the stopping rule counting from there. The
    # defaults leave the cross-entropy as it is, bit for bit.
    gamma: float = 0.0
    shift: float = 0.0
    margins: tuple = (0.0, 0.0)
    scale: float = 1.0
    w_late: np.ndarray = None
    switch: int = 0


class MemberResult(NamedTuple):
    """A member's trained ``kernels`` and ``biases``, epochs run, how it ended."""

    kernels: list
    biases: list
    n_iter: int
    converged: bool
    diverged: bool
    loss: float


def _members_padded(n):
    """Member slots of a chunk of ``n``: a power of two up to 8, then a multiple
    of 4 (every padded member costs a real one's arithmetic; few shapes compile)."""
    return bucket(n) if n <= 8 else -(-n // 4) * 4


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

    call = _Call(members, activation, n_outputs)
    _COMPILED.add((activation, n_outputs, call_shape(members)))
    program, data, hyper, state = call.program, call.data, call.hyper, call.state
    n_real, k_pad, b_pad, slots = call.n_real, call.k_pad, call.b_pad, call.slots
    sizes, batch, n_batches, offsets = call.sizes, call.batch, call.n_batches, call.offsets
    per_call, kernels = call.per_call, call.kernels
    epoch = 0
    longest = max(m.max_iter for m in members)
    running = np.array([True] * n_real)
    while epoch < longest and running.any():
        count = min(per_call, longest - epoch)
        # every slot's row, -1 where a member has no row (the program masks it);
        # the members reading one source of row orders, filled at once
        orders = np.full((per_call, b_pad, k_pad, slots), -1, np.int32)
        for (source, n, b, nb), ks in _by_source(members, running, sizes, batch, n_batches):
            drawn = np.full((count, nb * b), -1, np.int32)
            drawn[:, :n] = source(epoch, count)
            drawn = drawn.reshape(count, nb, 1, b)
            shifted = drawn + offsets[ks].astype(np.int32)[:, None]
            orders[:count, :nb, ks, :b] = np.where(drawn >= 0, shifted, -1)
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
    weights = [w.numpy() for w in state["weights"]]
    n_layers = len(kernels)
    n_iter = state["n_iter"].numpy()
    diverged = state["diverged"].numpy()
    count = state["count"].numpy()
    losses = state["loss"].numpy()
    results = []
    for k, m in enumerate(members):
        results.append(
            MemberResult(
                [w[k] for w in weights[:n_layers]],
                [w[k] for w in weights[n_layers:]],
                int(n_iter[k]),
                bool(count[k] > m.n_iter_no_change) and not diverged[k],
                bool(diverged[k]),
                float(losses[k]),
            )
        )
    return results


def trace_members(members, *, activation, n_outputs):
    """Trace the program :func:`train_members` runs for ``members`` in this thread;
    return the function that compiles it (a call of no epochs), which may run in
    another thread while this one trains (e.g. a search's next chunk, compiled while
    the one before trains). None when this process has traced that program already.

    Only the trace must stay in the caller's thread: it numbers the program's
    functions from a process-wide counter that every TensorFlow operation advances,
    and XLA's disk cache keys on those names, so a trace running beside other
    TensorFlow work would get other names in every process and never be read back."""
    import tensorflow as tf

    shape = (activation, n_outputs, call_shape(members))
    if shape in _COMPILED:
        return None
    _COMPILED.add(shape)
    call = _Call(members, activation, n_outputs)
    call.program.get_concrete_function(*_no_epochs(tf, call))
    del call  # the chunk's arrays: made again when compiled, not held until then

    def compile_traced():
        call = _Call(members, activation, n_outputs)
        call.program(*_no_epochs(tf, call))

    return compile_traced


def _no_epochs(tf, call):
    """The arguments of a call of ``call``'s program that runs no epoch."""
    orders = np.full((call.per_call, call.b_pad, call.k_pad, call.slots), -1, np.int32)
    return (
        *call.data,
        tf.constant(orders),
        tf.constant(0, tf.int32),
        tf.constant(max(call.n_batches), tf.int32),
        call.hyper,
        call.state,
    )


def call_shape(members):
    """What the compiled program for ``members`` depends on besides the architecture:
    chunks of one shape share a compilation."""
    layout = _Layout.of(members)
    kernels = tuple(k.shape for k in members[0].kernels)
    return (layout.k_pad, layout.slots, layout.b_pad, layout.per_call, layout.n_rows, kernels)


class _Layout(NamedTuple):
    """Where a chunk's members go in the program's arrays."""

    sizes: list  # rows per member
    batch: list  # batch size per member
    n_batches: list  # batches per epoch per member
    k_pad: int  # members, padded
    slots: int  # row slots of a batch
    b_pad: int  # batches per epoch, padded
    per_call: int  # epochs per call
    n_rows: int  # rows of all members, padded

    @classmethod
    def of(cls, members):
        sizes = [m.X.shape[0] for m in members]
        batch = [min(m.batch_size, n) for m, n in zip(members, sizes)]
        n_batches = [-(-n // b) for n, b in zip(sizes, batch)]
        k_pad, slots = _members_padded(len(members)), _slots_padded(batch, members)
        b_pad = bucket(max(n_batches))
        per_call = _per_call(b_pad, slots, k_pad)
        n_rows = max(1024, bucket(sum(sizes) + 1))
        return cls(sizes, batch, n_batches, k_pad, slots, b_pad, per_call, n_rows)


def _per_call(b_pad, slots, k_pad):
    """Epochs per call: as many as fit the budget of order slots, a power of two."""
    per_call = _ORDER_BUDGET // (b_pad * slots * k_pad)
    return int(min(_MAX_EPOCHS_PER_CALL, max(1, 1 << (max(1, per_call).bit_length() - 1))))


class _Call:
    """The arguments of one chunk's calls of the compiled program (all but the orders)."""

    def __init__(self, members, activation, n_outputs):
        import tensorflow as tf

        n_real = len(members)
        layout = _Layout.of(members)
        k_pad, sizes, batch, n_rows = layout.k_pad, layout.sizes, layout.batch, layout.n_rows
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        n_features = members[0].X.shape[1]
        X_all = np.zeros((n_rows, n_features), np.float32)
        y_all = np.zeros(n_rows, np.int32)
        w_all = np.zeros(n_rows, np.float32)
        # Binary members: one program for every loss setting (the settings are data;
        # the extra arithmetic is per row, not per unit).
        general = n_outputs == 1
        plain = Member._field_defaults
        if not general and any(
            getattr(m, name) != plain[name] for m in members for name in ("gamma", "shift", "scale")
        ):
            raise ValueError("focal, shifted or margin losses are for binary members")
        if not general and any(
            m.margins != plain["margins"] or m.w_late is not None for m in members
        ):
            raise ValueError("margins and deferred re-weighting are for binary members")
        deferred = general
        w_late = np.zeros(n_rows, np.float32) if deferred else None
        for k, m in enumerate(members):
            X_all[offsets[k] : offsets[k + 1]] = m.X
            y_all[offsets[k] : offsets[k + 1]] = m.y
            w_all[offsets[k] : offsets[k + 1]] = m.w
            if deferred:
                w_late[offsets[k] : offsets[k + 1]] = m.w if m.w_late is None else m.w_late

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
            gamma=column([m.gamma for m in members]),
            shift=column([m.shift for m in members]),
            margin_0=column([m.margins[0] for m in members]),
            margin_1=column([m.margins[1] for m in members]),
            scale=column([m.scale for m in members], fill=1.0),
            switch=column([m.switch for m in members], np.int32),
        )
        kernels = []
        for layer in range(len(members[0].kernels)):
            shape = members[0].kernels[layer].shape
            stacked = np.zeros((k_pad,) + shape, np.float32)
            stacked[:n_real] = [m.kernels[layer] for m in members]
            kernels.append(tf.constant(stacked))
        biases = [tf.zeros((k_pad, k.shape[-1])) for k in kernels]
        weights = kernels + biases
        state = dict(
            weights=weights,
            m=[tf.zeros_like(v) for v in weights],
            v=[tf.zeros_like(v) for v in weights],
            t=tf.zeros(k_pad),
            best=tf.fill([k_pad], np.float32(np.inf)),
            count=tf.zeros(k_pad, tf.int32),
            n_iter=tf.zeros(k_pad, tf.int32),
            running=column([True] * n_real, bool, False),
            diverged=tf.zeros(k_pad, tf.bool),
            loss=tf.zeros(k_pad),
        )
        program = _program(len(kernels), activation, n_outputs)
        data = (tf.constant(X_all), tf.constant(y_all), tf.constant(w_all))
        if deferred:
            data = (*data, tf.constant(w_late))
        self.program, self.data, self.hyper, self.state = program, data, hyper, state
        self.kernels, self.sizes, self.offsets = kernels, sizes, offsets
        self.batch, self.n_batches, self.n_real = batch, layout.n_batches, n_real
        self.k_pad, self.b_pad, self.slots = k_pad, layout.b_pad, layout.slots
        self.per_call = layout.per_call


def _by_source(members, running, sizes, batch, n_batches):
    """The running members grouped by their source of row orders (and row count,
    batch size, batches): ``((source, n, b, nb), member indices)`` pairs."""
    groups = {}
    for k, m in enumerate(members):
        if running[k]:
            key = (id(m.orders), sizes[k], batch[k], n_batches[k])
            groups.setdefault(key, (m.orders, []))[1].append(k)
    return [((source, *key[1:]), np.array(ks)) for key, (source, ks) in groups.items()]


_PROGRAMS = {}
# (activation, n_outputs, call_shape) of the chunks run or compiled in this process
_COMPILED = set()


def _program(n_layers, activation, n_outputs):
    """The compiled program for an architecture (one per process, XLA per shape)."""
    key = (n_layers, activation, n_outputs)
    if key not in _PROGRAMS:
        import tensorflow as tf

        run = _make_run(tf, n_layers, keras.activations.get(activation), n_outputs)
        if n_outputs == 1:  # binary: every loss setting, deferred re-weighting
            run = _with_late_weights(tf, run)
        _PROGRAMS[key] = tf.function(
            run,
            jit_compile=True,
            autograph=False,
        )
    return _PROGRAMS[key]


def _with_late_weights(tf, run):
    """``run`` taking the row weights of deferred re-weighting as a fourth array: a
    member trains on ``w_late`` from its epoch ``switch`` on."""

    def deferred_run(X, y, w, w_late, orders, n_epochs, n_batches, hyper, state):
        return run(X, y, (w, w_late), orders, n_epochs, n_batches, hyper, state)

    return deferred_run


def _make_run(tf, n_layers, hidden_activation, n_outputs):
    def forward(weights, x):
        h = x
        for layer in range(n_layers):
            h = tf.matmul(h, weights[layer]) + weights[n_layers + layer][:, None]
            if layer < n_layers - 1:
                h = hidden_activation(h)
        return h

    def row_loss(logits, y, hyper):
        if n_outputs != 1:
            return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)

        def member(name):
            return hyper[name][:, None]

        y, z = tf.cast(y, tf.float32), logits[..., 0]
        # as LogitAdjustedLoss / LDAMLoss on a sigmoid unit (scale 1, shift and
        # margins 0: z itself)
        margin = y * member("margin_1") - (1.0 - y) * member("margin_0")
        z = member("scale") * (z + member("shift") - margin)
        loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z)
        # as keras.losses.BinaryFocalCrossentropy without class balancing; gamma 0:
        # a factor of exactly 1 (and a zero gradient, from a base of 1)
        focal = member("gamma") > 0
        p = tf.sigmoid(z)
        base = tf.where(focal, 1.0 - (y * p + (1.0 - y) * (1.0 - p)), 1.0)
        return tf.pow(base, member("gamma")) * loss

    def row_weights(w, rows, epoch, hyper):
        """Each slot's weight: ``w``, or with deferred re-weighting ``(w, w_late)``
        switched per member at its epoch ``switch`` (``epoch``: its epochs run)."""
        if not isinstance(w, tuple):
            return tf.gather(w, rows)
        late = (epoch >= hyper["switch"])[:, None]
        return tf.where(late, tf.gather(w[1], rows), tf.gather(w[0], rows))

    def penalty(weights, factor):
        total = 0.0
        for kernel in weights[:n_layers]:
            total += tf.reduce_sum(tf.square(kernel), axis=[1, 2])
        return factor * total

    def run(X, y, w, orders, n_epochs, n_batches, hyper, state):
        def step(b, e, s):
            rows = orders[e, b]
            real = tf.cast(rows >= 0, tf.float32)
            rows = tf.maximum(rows, 0)
            x, yb = tf.gather(X, rows), tf.gather(y, rows)
            wb = row_weights(w, rows, s["n_iter"], hyper) * real
            n_real = tf.reduce_sum(real, axis=1)
            active = tf.logical_and(s["running"], n_real > 0)
            weights = s["weights"]
            with tf.GradientTape() as tape:
                tape.watch(weights)
                losses = row_loss(forward(weights, x), yb, hyper)
                weighted = tf.reduce_sum(wb * losses, axis=1)
                reg = penalty(weights, hyper["penalty"])
                total = tf.reduce_sum(weighted / tf.maximum(n_real, 1.0) + reg)
            grads = tape.gradient(total, weights)
            t = s["t"] + tf.cast(active, tf.float32)
            b1, b2 = hyper["beta_1"], hyper["beta_2"]
            step_size = adam_step_size(hyper["lr"], b1, b2, t)
            new_w, new_m, new_v = [], [], []
            for var, g, m, v in zip(weights, grads, s["m"], s["v"]):
                shape = (-1,) + (1,) * (len(var.shape) - 1)
                on = tf.reshape(active, shape)
                per_member = (tf.reshape(a, shape) for a in (step_size, b1, b2, hyper["epsilon"]))
                var2, m2, v2 = adam_update(var, g, m, v, *per_member)
                new_w.append(tf.where(on, var2, var))
                new_m.append(tf.where(on, m2, m))
                new_v.append(tf.where(on, v2, v))
            mass = tf.reduce_sum(wb, axis=1)
            return {**s, "weights": new_w, "m": new_m, "v": new_v, "t": t}, (
                weighted + reg * mass,
                mass,
            )

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
            # the rule counts from the switch of deferred re-weighting on (else from 0)
            counting = s["n_iter"] >= hyper["switch"]
            stopping, _, stop = _stopping.update(
                _stopping.StoppingState(s["best"], s["count"]),
                loss,
                tol=hyper["tol"],
                n_iter_no_change=hyper["patience"],
                xp=tf,
            )
            finite = tf.math.is_finite(loss)
            for var in s["weights"]:
                finite = tf.logical_and(
                    finite, tf.reduce_all(tf.math.is_finite(var), axis=list(range(1, var.ndim)))
                )
            n_iter = s["n_iter"] + tf.cast(running, tf.int32)
            diverged = tf.logical_or(s["diverged"], tf.logical_and(running, ~finite))
            still = running & ~(stop & counting) & finite & (n_iter < hyper["max_iter"])
            counted = running & counting
            return e + 1, {
                **s,
                "best": tf.where(counted, stopping.best, s["best"]),
                "count": tf.where(counted, stopping.count, s["count"]),
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
