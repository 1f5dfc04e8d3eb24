"""Which compiled program a fit runs on: the cache, wide programs, background compiles.

Compiling costs more than training a small network, and a grid search fits
the same architecture hundreds of times. Compiled programs
(:class:`imbnet.engine._program.Program`) are therefore cached, keyed by what
determines the graph: the model's architecture, optimizer and loss, not its
weights, seeds, learning rate or penalty factors. TensorFlow never frees an
XLA compilation (about 10 MB for a small network), so the cache keeps many
programs (least recently used first out). A cached program runs on its own
copy of the model: the fitted model's variables and its optimizer's are
copied in before training and out after it.

Input widths. A sequential model whose first layer is ``Dense`` trains
exactly alike with extra input columns of zeros (:func:`_padded_width`), so
its program is compiled for a bucket of widths: 16, 32, 48, 64, then powers of
two. Each bucket would still be a compilation of its own (about a second, on
the critical path of the fit that meets it first), so compilation is taken
off that path for small data (up to 4,096 rows, where programs share their
row count) once an architecture is seen at a second width: an architecture's
first program is its own bucket's (a cross-validation or a search fits one
width, and compiles once); the fit of a second bucket compiles a program for
``_WIDE`` (64) inputs and runs on it; from then on every fit of up to 64
features whose own bucket has no program yet runs on that wide program at
once. Its results are the same to the last bit (padded columns add exact
zeros; ``tests/engine/test_engine.py`` checks it), only an epoch costs more
(up to 1.5x on a few features). After such a fit, the bucket's own program
is compiled in the background, and the fits after it use it.

One compilation at a time, where it can be arranged: TensorFlow names parts
of a graph it prepares for XLA from counters that compilations running at
once would share, so two at once get other names in every run, and XLA's disk
cache (:mod:`imbnet.engine._persistent_cache`) never finds them again: every
process would compile them anew and add them to the disk. So the wide
program is compiled before the fit that needs it starts anything in the
background, and a bucket's own program only after the fit that asked for it
(``tests/engine/test_cold_start.py``). Those counters also number the graph's
functions at its trace, and every TensorFlow operation advances them: with the disk
cache on, a bucket's own program is therefore traced in the thread of the fit that
asked for it, after that fit, and only compiled in the background.

A script's single fit leaves no compilation behind. Keras 3.5 cannot
rebuild a model wider: there every width is a program of its own, compiled
when a fit needs it.

Threads. A program trains one fit at a time; fits of one architecture that
run at once on threads (joblib's threading backend) take one program each,
the second compiled anew (from XLA's disk cache when it is on,
:mod:`imbnet.engine._persistent_cache`). Up to ``_SPARES`` such extra
programs per key are kept, so later overlapping fits compile nothing.
"""

import atexit
import json
import logging
import os
import queue
import threading
import weakref
from collections import OrderedDict
from contextlib import contextmanager

import keras

from .._random import keras_seeded
from . import _persistent_cache
from ._chunks import MIN_ROWS, width_bucket
from ._penalties import adjustable_penalties
from ._program import Program

__all__ = ["cached_program", "wait_for_background_compiles"]

_CACHE_SIZE = 64  # programs
_CACHE_BYTES = 256 * 2**20  # of model and optimizer variables held by cached programs
_WIDE = 64  # inputs of an architecture's first program: it serves every width up to this
# ... for data of up to this many rows (the program's smallest row count): a
# larger one is a compilation of its own anyway, and padding its columns
# would cost memory and time in proportion.
_WIDE_ROWS = MIN_ROWS
_cache = OrderedDict()
_SPARES = 3  # more programs of one key, for fits that run at once on threads
_spares = {}  # key: [program]; their key is in _cache
_cache_lock = threading.Lock()


class _OwnTracesFilter(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning about imbnet's
    own programs, and only those.

    Each cached program is a ``tf.function`` of its own, traced once (an
    architecture, a width bucket); TensorFlow counts the traces of all of them
    together and, after a few architectures or a cleared cache, warns of
    retracing in a loop, which they are not. Other messages, and the warning
    about any other function, pass.
    """

    def filter(self, record):
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and _PROGRAM_NAME in message)


_PROGRAM_NAME = f"{Program.__module__}.{Program.__qualname__} object"
logging.getLogger("tensorflow").addFilter(_OwnTracesFilter())
_compiling = set()  # keys compiled in the background now
# Per architecture (the hash of its wide key), the hashes of the width buckets it has
# had programs of; kept after its programs leave the cache (a few numbers each).
_widths = {}


@contextmanager
def cached_program(model, augment, call):
    """A compiled program for ``model`` to run ``call`` (:class:`imbnet.engine._program.CallShapes`)
    on: its width bucket's, the wide one, or a new one."""
    width = _padded_width(model, augment)
    key, program = _cached(model, augment, width)
    rows = call.arrays[0][0][0]
    wide = width is not None and width < _WIDE and rows <= _WIDE_ROWS
    own = None  # the bucket's own program, compiled in the background after this fit
    if program is None and key is not None and wide:
        wide_key, program = _cached(model, augment, _WIDE)
        if program is None and _another_width(wide_key, key):
            program = _compiled_wide(model, augment, call)
        if program is not None:
            own, key = key, wide_key
    if program is None and key is not None:
        template = _training_copy(model, width)
        if template is None and width is not None:
            # A Keras that cannot rebuild the model wider (3.5): the exact width.
            key, program = _cached(model, augment, None)
            template = None if program is not None else _training_copy(model)
        if program is None:
            program = Program(template if template is not None else model, augment)
            key = key if template is not None else None
            if key is not None and width is not None:
                _note_width(model, augment, key)
    elif program is None:
        program = Program(model, augment)
    _load_loss_values(program.model, model)
    try:
        yield program
    finally:
        if key is not None:
            _put(key, program)
        if own is not None:
            # After the fit, whose first calls compile too: one compilation at a time.
            _compile_in_background(own, model, augment, width, call)


def _compiled_wide(model, augment, call):
    """The wide program of ``model``'s architecture, compiled now for calls like
    ``call``; None if the model cannot be made wider (Keras 3.5).

    Compiled before anything starts compiling in the background: two
    compilations at once name parts of their graphs differently in every run,
    and XLA's disk cache would never find them again.
    """
    template = _training_copy(model, _WIDE)
    if template is None:
        return None
    program = Program(template, augment)
    program.prepare(call)
    return program


def _note_width(model, augment, key):
    """Remember that the architecture of ``model`` has a program for bucket ``key``
    (when it is compiled: a fit on a cached program computes no more keys)."""
    wide_key = _model_graph_key(model, augment, _WIDE)
    with _cache_lock:
        _widths.setdefault(hash(wide_key), set()).add(hash(key))


def _another_width(wide_key, key):
    """Whether the architecture of ``wide_key`` has had a program of a bucket other than ``key``."""
    with _cache_lock:
        return bool(_widths.get(hash(wide_key), set()) - {hash(key)})


def wait_for_background_compiles():
    """Block until the programs compiling in the background are cached (tests, benchmarks)."""
    _worker.queue.join()


def _clear():
    """Empty the cache, after the background compiles (tests)."""
    wait_for_background_compiles()
    with _cache_lock:
        _cache.clear()
        _spares.clear()
        _widths.clear()


def _put(key, program):
    with _cache_lock:
        if key in _cache and _cache[key] is not program:
            # Fits on threads took programs of one key at once (joblib's threading
            # backend): keep the second too, or every overlap would compile again.
            spares = _spares.setdefault(key, [])
            if len(spares) < _SPARES and all(p is not program for p in spares):
                spares.append(program)
            return
        _cache[key] = program
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE or (
            len(_cache) > 1
            and sum(p.nbytes * (1 + len(_spares.get(k, ()))) for k, p in _cache.items())
            > _CACHE_BYTES
        ):
            oldest, _ = _cache.popitem(last=False)
            _spares.pop(oldest, None)


def _cached(model, augment, width):
    """``(key, program)``: the cache key and the cached program, taken out (one fit
    per program at a time), or None."""
    key = _model_graph_key(model, augment, width)
    if key is None:
        return None, None
    program = _take(key)
    if program is not None and not _same_shapes(program.model, model):
        program = None  # a config that does not show every shape: compile anew
    return key, program


def _take(key):
    """The cached program of ``key`` (a spare first), taken out; or None."""
    with _cache_lock:
        spares = _spares.get(key)
        return spares.pop() if spares else _cache.pop(key, None)


def _compile_in_background(key, model, augment, width, call):
    """A fit of bucket ``key`` runs on the cached wide program: the bucket's own
    program, for calls like ``call``, is traced now and compiled in the background.

    With XLA's disk cache on, the trace stays in the caller's thread (about 0.3 s
    more for this fit): TensorFlow names a traced graph's functions from a
    process-wide counter that every TensorFlow operation advances, and the disk
    cache keys on those names. Traced in the background, beside the caller's next
    fits, the program got other names in every process, which compiled it anew
    and added it to the disk once more. Without the disk cache the names matter
    to nothing: the trace, too, runs in the background.
    """
    with _cache_lock:
        if key in _compiling or key in _cache:
            return
        _compiling.add(key)
    submitted = False
    try:
        template = _training_copy(model, width)  # here: cloning touches Keras's global seeding
        if template is not None:
            program = Program(template, augment)
            if _persistent_cache.on_disk():
                program.prepare(call, trace_only=True)
            submitted = _worker.submit(key, program, call)
    except Exception:  # noqa: BLE001 - the wide program goes on serving this bucket
        pass
    finally:
        if not submitted:  # also when interrupted: a later fit may try again
            with _cache_lock:
                _compiling.discard(key)


class _Worker:
    """One daemon thread that compiles programs, one at a time. At exit it
    finishes the one in hand (a compilation cannot be interrupted) and drops
    the others."""

    def __init__(self):
        self.queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, key, program, call):
        """Compile ``program`` for calls like ``call`` (tracing it first if it is not
        yet), then cache it under ``key``; False if the worker is closed (at exit)."""
        with self._lock:
            if self._closed:
                return False
            if self._thread is None or not self._thread.is_alive():  # first, or forked
                self._thread = threading.Thread(
                    target=self._run, name="imbnet-compile", daemon=True
                )
                self._thread.start()
            self.queue.put((key, program, call))
            return True

    def _run(self):
        try:  # Linux: this thread yields the processor to the fits (its own niceness only)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                key, program, call = item
                if self._closed:
                    program = None
                else:
                    try:
                        program.prepare(call)
                    except Exception:  # the wide program goes on serving this bucket
                        program = None
                with _cache_lock:
                    _compiling.discard(key)
                if program is not None:
                    _put(key, program)
            finally:
                self.queue.task_done()

    def close(self):
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self.queue.put(None)
            thread.join()


_worker = _Worker()
atexit.register(_worker.close)


def _padded_width(model, augment):
    """The input width of the program's model copy, when it may be wider.

    A sequential model whose first layer is ``Dense`` on flat input gives the
    same outputs, gradients and updates with extra input columns of zeros
    and kernel rows that start at zero (their gradient, L2 penalty and
    optimizer update stay exactly zero), so its program is compiled for the
    width rounded up to a power of two (at least 16): data sets of 3 to 16
    features share one compilation. None otherwise.
    """
    if augment is not None or not isinstance(model, keras.Sequential) or not model.layers:
        return None
    if len(model.inputs[0].shape) != 2 or not isinstance(model.layers[0], keras.layers.Dense):
        return None
    return width_bucket(model.inputs[0].shape[-1])


# A model's graph keys, by width: serialising its config costs more than a
# partial_fit call's epoch, and a partial_fit continues the same model call
# after call. Valid while the model has the same layers, optimizer and loss.
_model_keys = weakref.WeakKeyDictionary()


def _model_graph_key(model, augment, width=None):
    """:func:`_graph_key`, remembered for ``model`` while it has the same layers,
    optimizer and loss (held here, so that no new object takes an old one's id)."""
    parts = (augment, model.optimizer, model.loss, *model.layers)
    try:
        keys = _model_keys.setdefault(model, {})
    except TypeError:  # not weakly referable: nothing remembered
        return _graph_key(model, augment, width)
    held = keys.get(width)
    if (
        held is None
        or len(held[0]) != len(parts)
        or any(a is not b for a, b in zip(held[0], parts))
    ):
        held = keys[width] = (parts, _graph_key(model, augment, width))
    return held[1]


def _graph_key(model, augment, width=None):
    """What the compiled graph depends on, as a string; None if unknown."""
    try:
        config = model.get_config()
        if width is not None:
            config = _with_input_width(config, width)
        parts = [
            type(model).__module__ + "." + type(model).__qualname__,
            _without_values(config),
            _without_values(keras.optimizers.serialize(model.optimizer)),
            model.loss
            if isinstance(model.loss, str)
            else _without_values(
                keras.losses.serialize(model.loss),
                getattr(model.loss, "program_config_values", ()),
            ),
            None if augment is None else id(augment),
        ]
        return json.dumps(parts, sort_keys=True, default=repr)
    except Exception:  # a model or loss Keras cannot serialise: no caching
        return None


def _with_input_width(config, width):
    """``config`` with the input width of every input shape replaced by ``width``."""
    if isinstance(config, dict):
        return {
            key: [*value[:-1], width]
            if key in ("batch_shape", "build_input_shape") and value
            else _with_input_width(value, width)
            for key, value in config.items()
        }
    if isinstance(config, (list, tuple)):
        return [_with_input_width(value, width) for value in config]
    return config


# Config entries that do not change the compiled graph: names, seeds, initial
# values; the learning rate is an optimizer variable, copied in like weights,
# and so are the factors of L1/L2 penalties (adjustable_penalties); a layer's
# build_config repeats the input shapes the model's config holds.
_NOT_IN_GRAPH = ("name", "seed", "learning_rate", "build_config", "l1", "l2")


def _without_values(config, values=()):
    """``config`` without the entries that are no part of the graph; ``values``:
    more such entries (a loss's adjustments the program reads as data)."""
    if isinstance(config, dict):
        return {
            key: _without_values(value, values)
            for key, value in config.items()
            if key not in _NOT_IN_GRAPH and key not in values and not key.endswith("_initializer")
        }
    if isinstance(config, (list, tuple)):
        return [_without_values(value, values) for value in config]
    return config


def _program_loss(loss):
    """The loss a program's model copy is compiled with: for a loss whose
    adjustments are data (the long-tail losses' class prior, margins), a copy
    reading them from variables, so one compilation serves every class mix."""
    if hasattr(loss, "program_values") and hasattr(loss, "for_program"):
        return loss.for_program()
    return loss


def _load_loss_values(program_model, model):
    """Give the program's loss copy the fitted model's adjustments (see _program_loss)."""
    if program_model is not model and hasattr(program_model.loss, "set_program_values"):
        program_model.loss.set_program_values(model.loss.program_values())


def _training_copy(model, width=None):
    """A private copy of ``model`` and its optimizer to run a cached program on,
    ``width`` inputs wide if given; None if it cannot be made."""
    try:
        # Cloning draws seeds for unseeded layers; keep the caller's random state.
        with keras_seeded(0):
            inputs = None if width is None else [keras.Input((width,))]
            copy = keras.models.clone_model(model, input_tensors=inputs)
        optimizer = model.optimizer
        copy.compile(
            optimizer=type(optimizer).from_config(optimizer.get_config()),
            loss=_program_loss(model.loss),
        )
        copy.optimizer.build(copy.trainable_variables)
        adjustable_penalties(copy)
    except Exception:  # not clonable (e.g. a custom layer without get_config)
        return None
    if not _same_shapes(copy, model):
        return None
    return copy


def _same_shapes(copy, model):
    """Same variables, but for a first axis the copy may have longer (padded inputs)."""
    state_a, state_b = list(copy.variables), list(model.variables)
    return len(state_a) == len(state_b) and all(
        tuple(x.shape[1:]) == tuple(y.shape[1:])
        and (tuple(x.shape[:1]) or (0,))[0] >= (tuple(y.shape[:1]) or (0,))[0]
        for x, y in zip(state_a, state_b)
    )
