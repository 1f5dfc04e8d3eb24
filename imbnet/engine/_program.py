"""The compiled training program: epochs of mini-batch steps in one call.

:class:`Program` is compiled once per architecture (see the cache in
:mod:`imbnet.engine._loop`) and trains a chunk of epochs per call
(:class:`imbnet.engine._chunks.Chunk`): the resident arrays, and each epoch's
batches as row indices. Inside, for every epoch: the batches' steps, the epoch
loss (the weighted mean over the epoch's rows), the validation loss,
scikit-learn's stopping rule (:mod:`imbnet.engine._stopping`), the best-weights
snapshot and the divergence check. A model of networks side by side (stacked
perceptrons, :class:`imbnet.engine._stacking.StackedDense`) may have a rule per
member (``Stopping.members``): each member's own validation loss, best loss,
count and best-weights snapshot; a member that stops is frozen (its rows
weigh nothing and its weights are put back after every step) while the
others go on, and the call ends when all have stopped.
"""

import math
from types import SimpleNamespace
from typing import NamedTuple

import keras
import numpy as np

from . import _persistent_cache, _stopping
from ._chunks import EVAL_ROWS, MAX_EPOCHS_PER_CALL, padded_validation, with_width
from ._concrete_calls import ConcreteCalls, kinds, scalar
from ._held_state import HeldState
from ._model_inputs import augment_rows
from ._model_state import (
    model_state,
    padded_to,
    unbuilt_optimizer_state,
    variable_of,
)
from ._penalties import Penalty
from ._stacking import StackedDense

# XLA reads its flags once, when TensorFlow's runtime starts (the first tensor):
# the persistent compilation cache is turned on here, when the estimators are
# imported (they import this module), before any fit. Not in imbnet.engine's
# __init__: the command line imports that without Keras.
_persistent_cache.enable()

__all__ = [
    "CallShapes",
    "Program",
]


# ---------------------------------------------------------------- program
class CallShapes(NamedTuple):
    """What a call's compilation depends on, without the data: the (shape,
    dtype) of the chunk's X, y, w, augment_rows, orders and slots, its batch
    slots, those of the hold-out's X, y, w (or None), the stopping rule and
    whether the last finite state is kept."""

    arrays: tuple
    batch_slots: int
    validation: tuple
    stopping: object
    keep_good: bool

    @classmethod
    def of(cls, chunk, validation, stopping, keep_good):
        """The shapes of :meth:`Program.run`'s call on these."""
        return cls(
            tuple(
                (a.shape, a.dtype)
                for a in (chunk.X, chunk.y, chunk.w, chunk.augment_rows, chunk.orders, chunk.slots)
            ),
            chunk.batch_slots,
            None if validation is None else tuple((a.shape, a.dtype) for a in validation),
            stopping,
            keep_good,
        )


class _RunResult(NamedTuple):
    losses: list
    val_losses: list
    state: _stopping.StoppingState
    stop: bool
    diverged: bool
    member_epochs: object = None  # with a rule per member: epochs each trained in the call


class Program:
    """The compiled training program for one architecture.

    ``run`` trains up to a chunk's epochs in one call; ``load`` / ``store``
    copy the fitted model's state (weights and optimizer) into and out of
    the program's own model. XLA compiles it, except with augmentation:
    Keras's random preprocessing layers use ops XLA does not compile on CPU,
    so those fits run as a plain TensorFlow graph.
    """

    def __init__(self, model, augment=None):
        import tensorflow as tf

        _persistent_cache.enable()  # before the first compilation: XLA reads its flags once
        self._tf = tf
        self.model = model
        self.variables = model.trainable_variables
        model.optimizer.build(self.variables)
        self._augment = augment
        self._state = model_state(model)
        # Weight penalties whose factors are variables (adjustable_penalties):
        # set from the fitted model's penalties at every load.
        self._penalties = [
            (i, v.regularizer)
            for i, v in enumerate(model.variables)
            if isinstance(getattr(v, "regularizer", None), Penalty)
        ]
        # Snapshots: the best epoch's weights (early stopping) and the last
        # finite epoch's weights and optimizer state (on_divergence="warn").
        self._best = [tf.Variable(v, trainable=False) for v in model.variables]
        self._good = [tf.Variable(v, trainable=False) for v in self._state]
        self._has_best = tf.Variable(False)
        # Variables with a member axis first (stacked perceptrons): a rule per member.
        stacked = {
            id(v)
            for layer in model._flatten_layers()
            if isinstance(layer, StackedDense)
            for v in layer.variables
        }
        self._member_axis = [id(v) in stacked for v in model.variables]
        self._stacks_members = bool(stacked) and all(id(v) in stacked for v in self.variables)
        n_model = len(model.variables)
        self._fresh = [tf.constant(v.numpy()) for v in self._state[n_model:]]
        # One trace serves every data size (reduce_retracing: sizes become
        # unknown dimensions after the second); XLA compiles each size.
        # AutoGraph (a third of the trace) would convert only this module's
        # code, which needs none: it does not convert what runs through Keras
        # (layers, losses; model.fit neither), but does a plain-function augment.
        # One function per set of array ranks: reduce_retracing would otherwise
        # relax a rank that changed between calls (an ensemble's draws by index,
        # then stacked draws of a sampler) to an unknown one, which the loss
        # cannot take.
        self._fns = {}
        self._copy_in = tf.function(self._copy_in_values, jit_compile=True, autograph=False)
        self._copy_out = tf.function(self._copy_out_values, jit_compile=True, autograph=False)
        self._calls = ConcreteCalls()  # see _call
        self._loss_built = False
        self._keep_good = False
        self._holder = None  # see _holds
        self.nbytes = 3 * sum(
            math.prod(v.shape) * np.dtype(keras.backend.standardize_dtype(v.dtype)).itemsize
            for v in self._state
        )

    def tracing_count(self):
        """How many times the training function was traced (all rank sets)."""
        return sum(fn.experimental_get_tracing_count() for fn in self._fns.values())

    def load(self, model):
        """Copy ``model``'s weights and optimizer state into the program's model.

        An optimizer that was never built has only its step count and
        learning rate: the program's other optimizer variables (moments,
        accumulators) start from their initial values.
        """
        if model is not self.model and not self._holds(model):
            values = list(model.variables) + list(model.optimizer.variables)
            rest = unbuilt_optimizer_state.get(model) if len(values) < len(self._state) else None
            if rest is None or len(values) + len(rest) != len(self._state):
                rest = self._fresh[len(values) - len(self._state) :]
            values = values + list(rest)
            factors = [  # tensors, not numbers: a number would be a new trace each
                scalar(
                    getattr(getattr(model.variables[i], "regularizer", None), name, 0.0),
                    self._tf.float32,
                )
                for i, _ in self._penalties
                for name in ("l1", "l2")
            ]
            # Padded here, not in the compiled copy: its shapes stay the program's
            # (one compilation, whatever the model's width).
            values = [
                variable_of(value)
                if tuple(value.shape) == tuple(variable.shape)
                else padded_to(variable_of(value), variable.shape)
                for variable, value in zip(self._state, values)
            ]
            self._call(self._copy_in, ("in", kinds(values), len(factors)), values, factors)

    def store(self, model):
        """Copy the program's model state back into ``model`` (the variables it has)."""
        if model is not self.model:
            targets = [
                variable_of(t) for t in list(model.variables) + list(model.optimizer.variables)
            ]
            same = tuple(tuple(t.shape) == tuple(v.shape) for t, v in zip(targets, self._state))
            kept = [t for t, equal in zip(targets, same) if equal]
            # The values stored come back from the same call, for HeldState to keep
            # (reading the model's variables back would be an eager op each).
            copies = HeldState.keeps(targets)
            rest, stored = self._call(
                self._copy_out, ("out", kinds(kept), same, copies), kept, same, copies
            )
            stored, values = iter(stored), []
            for target, value, equal in zip(targets, self._state, same):
                if equal:
                    values.append(next(stored, None))
                else:  # a padded input width: the rows the model has
                    rows = variable_of(value)[: target.shape[0]]
                    target.assign(rows)
                    values.append(rows)
            if rest:  # the optimizer was not built: its moments are kept aside
                unbuilt_optimizer_state[model] = rest
            else:
                unbuilt_optimizer_state.pop(model, None)
            self._holder = HeldState(
                model,
                self._penalties,
                unbuilt_optimizer_state.get(model),
                values if copies else None,
            )

    def _holds(self, model):
        """Whether ``model``'s state is the program's, as the last ``store`` left
        both: then ``load`` has nothing to copy (consecutive ``partial_fit`` calls)."""
        return self._holder is not None and self._holder.holds(
            model, self._penalties, unbuilt_optimizer_state.get(model)
        )

    # Copies as one XLA call each, on the program's shapes (compiled once per
    # program): one by one, a dozen variables cost dozens of eager ops, and
    # TensorFlow drops its eager kernels and plain graph functions whenever a
    # global seed is set (tf.random.set_seed, as other libraries do before every
    # fit); rebuilding those costs more than a small network's fit. XLA's
    # compilations are kept.
    def _copy_in_values(self, values, factors):
        for variable, value in zip(self._state, values):
            variable.assign(value)
        for (_, penalty), l1, l2 in zip(self._penalties, factors[::2], factors[1::2]):
            penalty.l1.assign(l1)
            penalty.l2.assign(l2)

    def _copy_out_values(self, targets, same, copies=False):
        kept = [v for v, equal in zip(self._state, same) if equal]
        for target, value in zip(targets, kept):
            target.assign(value)
        # The state the targets have no variables for (an optimizer not built), copied;
        # with ``copies``, the values assigned too.
        rest = [self._tf.identity(v) for v in self._state[len(same) :]]
        return rest, [self._tf.identity(v) for v in kept] if copies else []

    def start(self, model, keep_good):
        self.load(model)
        self._has_best.assign(False)
        self._keep_good = keep_good
        if keep_good:
            for snapshot, variable in zip(self._good, self._state):
                snapshot.assign(variable)

    def finish(self, model, restore_best, stored):
        """Put the best epoch's weights back (early stopping); leave ``model`` current.

        ``stored``: ``model`` already holds the state after the last epoch (and
        whatever callbacks did to it), so only the best weights go back in.
        """
        if restore_best and bool(self._has_best.numpy()):
            if stored:
                self.load(model)
            self._holder = None
            for variable, snapshot in zip(self.model.variables, self._best):
                variable.assign(snapshot)
            self.store(model)
        elif not stored:
            self.store(model)

    def restore_good(self, model):
        self._holder = None
        for variable, snapshot in zip(self._state, self._good):
            variable.assign(snapshot)
        self.store(model)

    def prepare(self, call, trace_only=False):
        """Compile for calls like ``call`` (:class:`CallShapes`): a call of no epochs.

        ``trace_only``: trace the call's function, and compile nothing (a later
        ``prepare`` compiles it, e.g. in another thread: see
        :func:`imbnet.engine._program_cache._compile_in_background`)."""
        X, y, w, augment_rows, orders, slots = (
            np.zeros(shape, dtype) for shape, dtype in call.arrays
        )
        chunk = SimpleNamespace(
            X=X,
            y=y,
            w=w,
            augment_rows=augment_rows,
            orders=orders,
            slots=slots,
            batch_slots=call.batch_slots,
            n_batches=1,
            n_epochs=0,
        )
        validation = (
            None
            if call.validation is None
            else tuple(np.zeros(shape, dtype) for shape, dtype in call.validation)
        )
        self._keep_good = call.keep_good
        state = _stopping.initial_state(members=call.stopping.members)
        if trace_only:
            self._calls.trace(*self._call_of(chunk, validation, call.stopping, state))
        else:
            self.run(chunk, validation, call.stopping, state)

    def run(self, chunk, validation, stopping, state):
        call = self._call_of(chunk, validation, stopping, state)
        self._holder = None  # the program's state moves on from the model's
        out = self._call(*call)
        losses, val_losses, n_run, best, count, stop, diverged, active = (
            np.asarray(o) for o in out
        )
        n_run = int(n_run)
        if stopping.members:
            state = _stopping.StoppingState(best.astype(np.float32), count.astype(np.int32))
        else:
            state = _stopping.StoppingState(float(best), int(count))
        return _RunResult(
            losses[:n_run].astype(float).tolist(),
            val_losses[:n_run].astype(float).tolist(),
            state,
            bool(stop),
            bool(diverged),
            active[:n_run].sum(axis=0).astype(int) if stopping.members else None,
        )

    def _call_of(self, chunk, validation, stopping, state):
        """``(function, key, *arguments)`` of :meth:`run`'s compiled call."""
        tf = self._tf
        members = int(stopping.members)
        if members and not (self._stacks_members and validation is not None):
            raise ValueError(
                "a stopping rule per member needs stacked perceptrons and a validation set"
            )
        width = self.model.inputs[0].shape[-1]
        # Sparse rows: (column, value) pairs per row (takes_sparse_rows).
        sparse = chunk.X.ndim == 3 and len(self.model.inputs[0].shape) == 2
        X = with_width(chunk.X, width)
        if validation is not None:
            validation = padded_validation((with_width(validation[0], width), *validation[1:]))
        if not self._loss_built:
            # Keras builds its compiled loss on first use; do that eagerly,
            # outside the compiled function, as model.fit does.
            rows = chunk.orders[:1]  # one slot, as the program gathers it
            self.model.compute_loss(
                x=X[rows],
                y=chunk.y[rows],
                y_pred=self._outputs(X[rows], False, sparse),
                sample_weight=chunk.w[rows],
            )
            self._loss_built = True
        ranks = tuple(np.ndim(a) for a in (X, chunk.y, chunk.w, chunk.orders, *(validation or ())))
        if ranks not in self._fns:
            self._fns[ranks] = tf.function(
                self._run,
                jit_compile=self._augment is None,
                reduce_retracing=True,
                autograph=self._augment is not None,
            )
        args = (
            X,
            chunk.y,
            chunk.w,
            chunk.augment_rows,
            chunk.orders,
            chunk.slots,
            scalar(chunk.batch_slots, tf.int32),
            scalar(chunk.n_batches, tf.int32),
            scalar(chunk.n_epochs, tf.int32),
            validation,
            scalar(state.best, tf.float32),
            scalar(state.count, tf.int32),
            scalar(stopping.tol, tf.float32),
            scalar(stopping.n_iter_no_change, tf.int32),
            stopping.monitor,
            self._keep_good,
            sparse,
            members,
        )
        key = (
            "run",
            kinds((X, chunk.y, chunk.w, chunk.augment_rows, chunk.orders, chunk.slots)),
            None if validation is None else kinds(validation),
            stopping.monitor,
            self._keep_good,
            sparse,
            members,
        )
        return (self._fns[ranks], key, *args)

    def _call(self, fn, key, *args):
        """``fn(*args)`` through its concrete function for calls like ``key``: the
        kinds, shapes and dtypes of the arguments and the Python values among them
        (see :mod:`imbnet.engine._concrete_calls`). Tracing and compilation are the
        ``tf.function``'s own (``get_concrete_function``)."""
        return self._calls(fn, key, *args)

    # -------------------------------------------------- compiled code
    def _outputs(self, x, training, sparse):
        """The model's outputs for a batch: dense rows, or ``sparse`` rows (see
        :func:`takes_sparse_rows`) whose first layer is a sum of kernel rows."""
        if not sparse:
            return self.model(x, training=training)
        tf = self._tf
        first, *rest = self.model.layers
        x = tf.reshape(x, tf.stack([tf.shape(x)[0], -1, 2]))  # a known rank
        columns = tf.cast(x[..., 0], tf.int32)
        # Padding pairs (column 0, value 0) add exact zeros, forward and backward.
        h = tf.einsum("bk,bku->bu", x[..., 1], tf.gather(variable_of(first.kernel), columns))
        if first.use_bias:
            h = h + variable_of(first.bias)
        if first.activation is not None:
            h = first.activation(h)
        for layer in rest:
            h = layer(h, training=training)
        return h

    def _batch_loss(self, x, y, w, slots, training, sparse, outputs=None):
        """One batch's loss as Keras computes it, and its share of the epoch loss.

        ``slots`` marks the batch's real rows (1) and padding (0). The loss
        to minimise is the model's own ``compute_loss`` (its compiled loss in
        any form Keras accepts, weighted, plus regularisation) over the real
        rows, as ``model.fit`` computes it for a batch of that size. Returned
        with it: ``sum(w * loss)`` plus regularisation times ``sum(w)``, and
        ``sum(w)``, whose ratios over an epoch make the epoch loss.
        ``outputs``: the model's outputs for ``x``, if already computed.
        """
        tf = self._tf
        n_real = tf.reduce_sum(slots)
        shape = (-1,) + (1,) * (len(w.shape) - 1)
        w_real = w * tf.reshape(slots, shape)
        if outputs is None:
            outputs = self._outputs(x, training, sparse)
        loss = self.model.compute_loss(
            x=x,
            y=y,
            y_pred=outputs,
            sample_weight=w_real
            * (tf.cast(tf.shape(slots)[0], tf.float32) / tf.maximum(n_real, 1.0)),
            training=training,
        )
        regularisation = tf.add_n(self.model.losses) if self.model.losses else tf.constant(0.0)
        mass = tf.reduce_sum(w_real)
        entries = n_real * math.prod(w.shape[1:])
        return loss, (loss - regularisation) * entries + regularisation * mass, mass

    def _evaluate(self, X_val, y_val, w_val, slots_val, sparse, members=0):
        """The validation loss: weighted mean over rows, in chunks of rows; with
        ``members``, each member's (a vector), without regularisation (the
        penalty of the stacked weights is all members')."""
        tf = self._tf
        # Shapes may be unknown while tracing (one trace serves every data size).
        size = tf.minimum(tf.shape(X_val)[0], EVAL_ROWS)
        n_chunks = tf.shape(X_val)[0] // size

        def chunked(array):
            chunks = tf.reshape(array, tf.concat([[n_chunks, size], tf.shape(array)[1:]], 0))
            chunks.set_shape([None, None] + list(array.shape[1:]))
            return chunks

        X_val, y_val, w_val, slots_val = (chunked(a) for a in (X_val, y_val, w_val, slots_val))

        def body(i, total, mass):
            if not members:
                _, part, part_mass = self._batch_loss(
                    X_val[i], y_val[i], w_val[i], slots_val[i], False, sparse
                )
                return i + 1, total + part, mass + part_mass
            outputs = self._outputs(X_val[i], False, sparse)
            regularisation = tf.add_n(self.model.losses) if self.model.losses else 0.0
            parts, masses = [], []
            for k in range(members):  # member k's rows alone: its weights, the others' zero
                w_k = w_val[i] * _member_mask(tf, k, members, w_val[i])
                _, part, part_mass = self._batch_loss(
                    X_val[i], y_val[i], w_k, slots_val[i], False, sparse, outputs
                )
                parts.append(part - regularisation * part_mass)
                masses.append(part_mass)
            return i + 1, total + tf.stack(parts), mass + tf.stack(masses)

        zero = tf.zeros([members]) if members else tf.constant(0.0)
        _, total, mass = tf.while_loop(
            lambda i, *_: i < n_chunks, body, (tf.constant(0), zero, zero)
        )
        return total / tf.maximum(mass, 1e-12)

    def _finite(self, loss):
        tf = self._tf
        checks = [tf.reduce_all(tf.math.is_finite(v)) for v in self.variables]
        return tf.logical_and(tf.math.is_finite(loss), tf.reduce_all(tf.stack(checks)))

    def _run(
        self,
        X,
        y,
        w,
        augment_mask,
        orders,
        slots,
        batch_slots,
        n_batches,
        n_epochs,
        validation,
        best,
        count,
        tol,
        n_iter_no_change,
        monitor,
        keep_good,
        sparse,
        members,
    ):
        tf = self._tf

        def step(rows, batch_slots, running):
            x_batch = tf.gather(X, rows)
            if self._augment is not None:
                x_batch = augment_rows(self._augment, x_batch, tf.gather(augment_mask, rows))
            w_batch = tf.gather(w, rows)
            if members:  # a stopped member's rows weigh nothing
                w_batch = w_batch * _member_weights(tf, running, w_batch)
                before = [tf.convert_to_tensor(variable_of(v)) for v in self.variables]
            with tf.GradientTape() as tape:
                loss, part, mass = self._batch_loss(
                    x_batch, tf.gather(y, rows), w_batch, batch_slots, True, sparse
                )
            gradients = [  # a gathered kernel (sparse rows): its gradient made dense
                tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                for g in tape.gradient(loss, self.variables)
            ]
            self.model.optimizer.apply(gradients, self.variables)
            if members:  # and its weights stay (the optimizer's momentum would move them)
                for variable, value in zip(self.variables, before):
                    keep = _member_weights(tf, running, value, axis=0) > 0
                    variable_of(variable).assign(tf.where(keep, variable_of(variable), value))
            return part, mass

        def epoch_body(e, best, count, stop, diverged, losses, val_losses, active):
            # Who trains this epoch: the members not yet stopped (one rule: it does).
            running = count <= n_iter_no_change if members else tf.constant(True)

            def batch_body(b, total, mass):
                # A gather, not a slice: XLA would make the batch count a
                # compile-time constant of a slice's offset (a compilation each).
                taken = (e * n_batches + b) * batch_slots + tf.range(batch_slots)
                part, part_mass = step(tf.gather(orders, taken), tf.gather(slots, taken), running)
                return b + 1, total + part, mass + part_mass

            _, total, mass = tf.while_loop(
                lambda b, *_: b < n_batches,
                batch_body,
                (tf.constant(0), tf.constant(0.0), tf.constant(0.0)),
            )
            # scikit-learn's epoch loss: the weighted mean over the epoch's rows.
            loss = total / tf.maximum(mass, 1e-12)
            finite = self._finite(loss)
            val_loss = (
                self._evaluate(*validation, sparse, members)
                if validation is not None
                else tf.constant(0.0)
            )
            stop_rule = tf.constant(False)
            if monitor is not None:
                # With a rule per member, each member's loss on the validation rows (a vector).
                watched = loss if monitor == "loss" and not members else val_loss
                state, improved, _ = _stopping.update(
                    _stopping.StoppingState(best, count),
                    watched,
                    tol=tol,
                    n_iter_no_change=n_iter_no_change,
                    xp=tf,
                )
                # A stopped member's state stays as it stopped.
                best = tf.where(running, state.best, best)
                count = tf.where(running, state.count, count)
                stop_rule = tf.reduce_all(count > n_iter_no_change)
                if members or monitor == "val_loss":
                    improved = tf.logical_and(tf.logical_and(improved, running), finite)
                    if members:
                        self._member_snapshot(improved)
                    else:
                        self._snapshot_if(improved, self._best, self.model.variables)
                    self._has_best.assign(tf.logical_or(self._has_best, tf.reduce_any(improved)))
            if members:
                active = tf.tensor_scatter_nd_update(active, [[e]], [tf.cast(running, tf.int32)])
                val_loss = tf.reduce_mean(val_loss)
            if keep_good:
                self._snapshot_if(finite, self._good, self._state)
            losses = tf.tensor_scatter_nd_update(losses, [[e]], [loss])
            val_losses = tf.tensor_scatter_nd_update(val_losses, [[e]], [val_loss])
            diverged = tf.logical_not(finite)
            return (
                e + 1,
                best,
                count,
                tf.logical_or(stop_rule, diverged),
                diverged,
                losses,
                val_losses,
                active,
            )

        size = MAX_EPOCHS_PER_CALL
        active = tf.zeros([size, max(members, 1)], tf.int32)
        if members:
            body = epoch_body
        else:
            # No rule per member: ``active`` stays as it is, out of the loop. A loop
            # variable passed through unchanged is a constant TensorFlow copies into
            # the loop under names given in either order from run to run: two graphs
            # of one program, and a process that drew the one XLA's disk cache did not
            # hold compiled it again (tests/engine/test_cold_start.py).
            def body(*loop):
                return epoch_body(*loop, active)[:-1]

        loop = tf.while_loop(
            lambda e, best, count, stop, *_: tf.logical_and(e < n_epochs, tf.logical_not(stop)),
            body,
            (
                tf.constant(0),
                best,
                count,
                tf.constant(False),
                tf.constant(False),
                tf.zeros([size]),
                tf.zeros([size]),
                *((active,) if members else ()),
            ),
        )
        e, best, count, stop, diverged, losses, val_losses, *rest = loop
        return losses, val_losses, e, best, count, stop, diverged, rest[0] if rest else active

    def _member_snapshot(self, improved):
        """The best-weights snapshot of the members that ``improved`` (a vector)."""
        tf = self._tf
        for snapshot, variable, stacked in zip(self._best, self.model.variables, self._member_axis):
            if stacked:
                keep = _member_weights(tf, improved, snapshot, axis=0) > 0
                snapshot.assign(tf.where(keep, variable_of(variable), snapshot))
            else:  # no member axis (a seed's state): as the latest improvement left it
                snapshot.assign(tf.where(tf.reduce_any(improved), variable_of(variable), snapshot))

    def _snapshot_if(self, condition, snapshots, variables):
        tf = self._tf

        def copy():
            for snapshot, variable in zip(snapshots, variables):
                snapshot.assign(variable)
            return tf.constant(True)

        tf.cond(condition, copy, lambda: tf.constant(False))


def _member_weights(tf, flags, like, axis=1):
    """``flags`` (one per member) as 0/1 floats shaped to broadcast along ``axis``
    of ``like`` (rows, members, ...; or members, ...), whose rank may be known
    only when the program runs (one trace serves weights of several ranks)."""
    shape = tf.tensor_scatter_nd_update(tf.ones([tf.rank(like)], tf.int32), [[axis]], [-1])
    return tf.reshape(tf.cast(flags, tf.float32), shape)


def _member_mask(tf, k, members, like):
    """Weights keeping member ``k``'s entries of ``like``, a (rows, members, ...) tensor."""
    return _member_weights(tf, tf.one_hot(k, members) > 0, like)
