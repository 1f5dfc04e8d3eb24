"""Quiet TensorFlow's start-up log in the command line and its worker processes.

TensorFlow writes its start-up lines (oneDNN, CUDA probing, CPU features, a
"failed call to cuInit" on machines without a GPU) from C++ before its logging is
initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does not reach all of them. Keras is
therefore imported with the process's standard error captured; the known
start-up lines are dropped and everything else (real warnings, errors) is
written back.
"""

import os
import re
import sys
import tempfile

__all__ = ["import_keras_quietly", "is_startup_noise"]

_SOURCES = (
    r"(port|cudart_stub|cpu_feature_guard|cuda_platform|cuda_executor"
    r"|cuda_diagnostics|cuda_dnn|cuda_fft|cuda_blas|computation_placer|gpu_device)\.cc:\d+\]"
)
_STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\)"
    # absl's format (TensorFlow >= 2.18), then the older "date time: E file.cc:n]" one.
    + r"|^[IWE]\d{4} [\d:. ]+\d+ "
    + _SOURCES
    + r"|^\d{4}-\d\d-\d\d [\d:.]+: [IWE] \S*?"
    + _SOURCES
    + r"|^To enable the following instructions: .*rebuild TensorFlow"
    + r"|TF-TRT Warning: Could not find TensorRT"
)


def is_startup_noise(line):
    """Whether ``line`` is one of TensorFlow's start-up log lines."""
    return bool(_STARTUP_NOISE.search(line))


def import_keras_quietly():
    """Import Keras (and its TensorFlow backend) without the start-up log.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless the user set it (worker processes
    inherit it): TensorFlow's C++ log is hidden, its errors too (a failure still
    raises a Python exception, which the command reports). At that level imbnet's
    compile cache is on (TensorFlow 2.18 and later log an error line at every
    read of it otherwise), and imbnet's estimators are imported before
    TensorFlow's runtime starts, when the cache is set up: a second run of a
    command does not compile its networks again. Does nothing once Keras is
    imported.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import keras

            import imbnet.model_selection  # noqa: F401  (imbnet's engine: see above)

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_logical_devices()  # device probing logs now, not mid-run
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not is_startup_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
