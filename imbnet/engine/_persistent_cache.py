"""XLA's compilations kept on disk, so the next process does not compile them again.

A compiled program (:class:`imbnet.engine._program.Program`) costs about a
second of XLA compilation, more than a small network's whole fit; a fresh
process would pay it for every architecture it fits. TensorFlow's XLA keeps
compiled executables on disk when its flag ``--tf_xla_persistent_cache_directory``
is set; it reads the flag once per process, from the environment variable
``TF_XLA_FLAGS``, at its first use of XLA, and offers no other way to set it.

:func:`enable` (called when :mod:`imbnet.engine._program` is imported, as
imbnet's estimators are: TensorFlow reads the flags when its runtime starts,
at the first tensor) sets that flag for
the time TensorFlow takes to read it and puts the environment
variable back as it was at once: child processes inherit nothing.
Executables are found again by a fingerprint of the compiled graph and its
input shapes, so a program is reused only where it is the same
computation, and results are identical with and without the cache. The flag is
process-wide, so while it is on, XLA also keeps the compilations of the
caller's own ``jit_compile`` functions in the same directory. It is not
set when:

- the environment variable ``IMBNET_COMPILE_CACHE`` is ``0``, ``off``,
  ``false``, ``no`` or empty (opt-out); ``1``, ``on``, ``true`` or ``yes``
  turn it on in the default directory; any other value is the directory;
- ``IMBNET_COMPILE_CACHE`` is unset and TensorFlow would log every read of
  the cache as an error: XLA's reader first tries to parse an entry as text
  and logs ``Error parsing text-format tensorflow.XlaSerializedCacheEntry``
  before it reads the binary entry correctly (seen on TensorFlow 2.17 and
  2.21). The lines are harmless but look like failures, in every later
  process, for the caller's own Keras models too; so by default the cache is
  on only where reads are silent: ``TF_CPP_MIN_LOG_LEVEL`` 3 (TensorFlow's
  errors hidden) on TensorFlow 2.18 or later (before, protobuf's own log
  prints them whatever the level; the ``imbnet`` command line sets 3 unless
  it is set). Setting ``IMBNET_COMPILE_CACHE`` turns it on anyway;
- ``TF_XLA_FLAGS`` already names a persistent cache directory (the
  caller's own choice is kept);
- TensorFlow's runtime started before imbnet was imported (its flags are
  read then; nothing changes and nothing fails);
- the Keras backend is not TensorFlow.

The directory is ``$IMBNET_COMPILE_CACHE``, else ``$XDG_CACHE_HOME/imbnet/xla``,
else ``~/.cache/imbnet/xla``, with one subdirectory per TensorFlow version,
machine and processor feature set: an executable compiled for another
processor or TensorFlow is never read. XLA fails a call on an unreadable
entry rather than compiling anew, so :func:`enable` first removes the
entries whose layout is not whole (a process killed while writing one).
An entry is about 0.5 MB; the whole cache (every TensorFlow version's
directory) is kept under ``IMBNET_COMPILE_CACHE_MAX_MB`` megabytes (default
1024, about two thousand programs) by removing the least recently used
entries at import (:func:`trim`). Deleting the directory is always safe.

XLA writes an entry in place, so a process reading it while another writes
it would fail that call. In joblib's loky workers (``n_jobs`` > 1, where
processes start at once) the cache is therefore read-only
(``--tf_xla_persistent_cache_read_only``): workers read what the main process
and earlier runs compiled and write nothing; what only a worker compiles is
not kept (``GridSearchCV``'s refit, in the main process, keeps its program).
``IMBNET_COMPILE_CACHE_READ_ONLY`` (on or off) overrides that choice for a process
(:func:`read_only`): the ``imbnet compare`` command's second process, a loky
process of its own that compiles programs no other process does, keeps them.
"""

import hashlib
import os
import platform
import threading
import warnings

from ._worker_threads import in_joblib_worker

__all__ = ["cache_directory", "enable", "on_disk", "read_only", "reads_are_logged", "trim"]

_OFF = ("0", "off", "false", "no", "")
_ON = ("1", "on", "true", "yes")
# from this TensorFlow on, TF_CPP_MIN_LOG_LEVEL=3 hides the error logged at every read
_LEVEL_HIDES_READS_FROM = (2, 18)
_FLAG = "--tf_xla_persistent_cache_directory"
_READ_ONLY = "--tf_xla_persistent_cache_read_only"
_DEFAULT_LIMIT_MB = 1024
_lock = threading.Lock()
_state = {"done": False, "directory": None}


def cache_directory():
    """The directory imbnet's compilations go to in this process, or None (off)."""
    return _state["directory"]


def on_disk(environ=None):
    """Whether XLA keeps this process's compilations on disk: imbnet's cache, or the
    caller's own (``TF_XLA_FLAGS`` naming a directory)."""
    environ = os.environ if environ is None else environ
    return cache_directory() is not None or _FLAG in environ.get("TF_XLA_FLAGS", "")


def _base_directory():
    """The directory ``IMBNET_COMPILE_CACHE`` names (the default one when it is unset
    or says on), or None when it says off."""
    setting = os.environ.get("IMBNET_COMPILE_CACHE")
    if setting is not None:
        if setting.strip().lower() in _OFF:
            return None
        if setting.strip().lower() not in _ON:
            return os.path.expanduser(setting)
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "imbnet", "xla")


def reads_are_logged(tensorflow_version, environ):
    """Whether this TensorFlow logs an error line for every read of a cache entry:
    always, unless ``TF_CPP_MIN_LOG_LEVEL`` is 3 or more on TensorFlow 2.18 or later
    (its logging then hides errors; protobuf's own logging before 2.18 does not)."""
    try:
        version = tuple(int(part) for part in tensorflow_version.split(".")[:2])
        hidden = int(environ.get("TF_CPP_MIN_LOG_LEVEL", "0")) >= 3
    except ValueError:
        return True  # an unknown version or level: assume the lines show
    return not (hidden and version >= _LEVEL_HIDES_READS_FROM)


def _processor_features():
    """What compiled code depends on besides TensorFlow: the processor's feature flags."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _version_directory(base):
    import tensorflow as tf

    features = hashlib.sha256(_processor_features().encode()).hexdigest()[:12]
    name = f"tf-{tf.__version__}-{platform.machine()}-{features}"
    return os.path.join(base, name)


def enable():
    """Turn XLA's persistent compilation cache on for this process, once, if allowed
    (see the module's description). Returns the directory, or None."""
    if _state["done"]:
        return _state["directory"]
    with _lock:
        if _state["done"]:
            return _state["directory"]
        try:
            _state["directory"] = _enable()
        except Exception:  # a cache is an optimisation: never a reason to fail a fit
            _state["directory"] = None
        _state["done"] = True
    return _state["directory"]


def _enable():
    import keras

    base = _base_directory()
    previous = os.environ.get("TF_XLA_FLAGS")
    if base is None or keras.backend.backend() != "tensorflow":
        return None
    if previous is not None and _FLAG in previous:
        return None  # the caller's own cache
    import tensorflow as tf

    if "IMBNET_COMPILE_CACHE" not in os.environ and reads_are_logged(tf.__version__, os.environ):
        return None  # on by default only where reading it is silent
    directory = _version_directory(base)
    os.makedirs(directory, exist_ok=True)
    remove_broken_entries(directory)
    from tensorflow.python import pywrap_tfe

    flags = f"{_FLAG}={directory}"
    if read_only(os.environ):
        flags += f" {_READ_ONLY}=true"
    else:  # a worker writes nothing, so removes nothing either
        trim(base, _limit_bytes(os.environ), keep=directory)
    os.environ["TF_XLA_FLAGS"] = f"{previous or ''} {flags}".strip()
    try:
        # Any XLA flag getter reads all of TF_XLA_FLAGS, once per process.
        pywrap_tfe.TF_GetXlaConstantFoldingDisabled()
    finally:
        if previous is None:
            del os.environ["TF_XLA_FLAGS"]
        else:
            os.environ["TF_XLA_FLAGS"] = previous
    return directory


def remove_broken_entries(directory):
    """Remove the cache entries whose layout is not whole; the number removed.

    An entry is a protocol-buffer message of three length-delimited fields
    (key, graph, executable) that must end exactly at the end of the file;
    a torn or foreign file does not.
    """
    removed = 0
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if not name.endswith(".pb") or not os.path.isfile(path):
            continue
        if not _whole(path):
            try:
                os.remove(path)
                removed += 1
            except OSError:
                pass
    return removed


def _whole(path):
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as entry:
            position = 0
            for _ in range(3):
                entry.seek(position)
                head = entry.read(11)
                if not head or (head[0] & 7) != 2:  # a length-delimited field
                    return False
                length, used = _varint(head, 1)
                position += used + length
            return position == size
    except (OSError, IndexError, ValueError):
        return False


def _varint(data, start):
    value = shift = 0
    for index in range(start, min(len(data), start + 10)):
        value |= (data[index] & 0x7F) << shift
        shift += 7
        if data[index] < 0x80:
            return value, index + 1
    raise ValueError("not a varint")


def read_only(environ, process_name=None):
    """Whether this process only reads the cache: ``IMBNET_COMPILE_CACHE_READ_ONLY``
    says so (on or off); unset, a joblib loky worker reads only.

    >>> read_only({}, process_name="MainProcess"), read_only({}, process_name="LokyProcess-1")
    (False, True)
    >>> read_only({"IMBNET_COMPILE_CACHE_READ_ONLY": "0"}, process_name="LokyProcess-1")
    False
    """
    setting = environ.get("IMBNET_COMPILE_CACHE_READ_ONLY")
    if setting is not None:
        value = setting.strip().lower()
        if value in _ON:
            return True
        if value in _OFF and value:
            return False
        warnings.warn(
            f"IMBNET_COMPILE_CACHE_READ_ONLY={setting!r} is neither on (1, on, true, yes) "
            "nor off (0, off, false, no); the default is used: joblib's worker processes "
            "only read the compile cache, other processes also write it.",
            RuntimeWarning,
            stacklevel=2,
        )
    return in_joblib_worker(process_name)


def _limit_bytes(environ):
    """The cache's size limit in bytes, from ``IMBNET_COMPILE_CACHE_MAX_MB``."""
    setting = environ.get("IMBNET_COMPILE_CACHE_MAX_MB")
    if setting is None:
        return _DEFAULT_LIMIT_MB * 2**20
    try:
        megabytes = float(setting)
        if not megabytes >= 0:  # also NaN
            raise ValueError(setting)
    except ValueError:
        warnings.warn(
            f"IMBNET_COMPILE_CACHE_MAX_MB={setting!r} is not a size in megabytes (a number "
            f"0 or more); the compile cache is kept under the default, {_DEFAULT_LIMIT_MB} MB.",
            RuntimeWarning,
            stacklevel=2,
        )
        return _DEFAULT_LIMIT_MB * 2**20
    return int(megabytes * 2**20)


def trim(base, limit, keep=None):
    """Remove the least recently used entries under ``base`` until they take at most
    ``limit`` bytes; the number removed.

    ``base`` holds one directory per TensorFlow version and processor, so the
    entries of a TensorFlow no longer installed, never read again, go first.
    Recent use is the later of an entry's access and modification times (a
    read refreshes the access time, at least daily on a ``relatime`` mount).
    A version directory left empty is removed, but ``keep`` (this process's).
    """
    entries, directories = [], []
    try:
        versions = [e for e in os.scandir(base) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return 0
    for version in versions:
        directories.append(version.path)
        try:
            for entry in os.scandir(version.path):
                if entry.name.endswith(".pb") and entry.is_file(follow_symlinks=False):
                    status = entry.stat()
                    entries.append(
                        (max(status.st_atime, status.st_mtime), status.st_size, entry.path)
                    )
        except OSError:
            continue
    total = sum(size for _, size, _ in entries)
    removed = 0
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        try:
            os.remove(path)
        except OSError:
            continue
        total -= size
        removed += 1
    if removed:
        for directory in directories:
            if keep is not None and os.path.abspath(directory) == os.path.abspath(keep):
                continue
            try:
                os.rmdir(directory)  # only if empty
            except OSError:
                pass
    return removed
