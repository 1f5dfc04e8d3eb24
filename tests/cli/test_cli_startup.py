"""Start-up: ``import imbnet`` and the command line's quick answers load no TensorFlow, and
TensorFlow's start-up log stays out of the command line's output."""

import os
import subprocess
import sys

import numpy as np
import pytest

from imbnet.cli._tf_logging import is_startup_noise

ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def _python(code, **kwargs):
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
        **kwargs,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_import_imbnet_is_light_and_keeps_its_names():
    done = _python(
        "import sys, imbnet\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules))\n"
        "print(set(imbnet.__all__) <= set(dir(imbnet)), imbnet.__version__ == "
        "__import__('imbnet._version').__version__)\n"
        "from imbnet import CostSensitiveMLPClassifier, load\n"
        "print(CostSensitiveMLPClassifier.__name__, load.__module__)\n"
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "[]"
    assert lines[1] == "True True"
    assert lines[2] == "CostSensitiveMLPClassifier imbnet._persistence"
    with pytest.raises(AttributeError, match="has no attribute 'Classifier'"):
        import imbnet

        imbnet.Classifier  # noqa: B018


def test_help_and_input_errors_do_not_start_tensorflow(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    done = _python(
        "import contextlib, io, sys\n"
        "from imbnet.cli import main\n"
        "codes = []\n"
        "out, err = io.StringIO(), io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
        "    try:\n"
        "        main(['compare', '--help'])\n"
        "    except SystemExit as exit:\n"
        "        codes.append(exit.code)\n"
        "    codes.append(main(['compare', '--cv', '1']))\n"
        f"    codes.append(main(['compare', '--data', {str(empty)!r}, '--target', 'y']))\n"
        f"    codes.append(main(['predict', '--model', {str(empty)!r}, '--data', 'nope.csv']))\n"
        "print(codes, sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    assert done.stdout.strip() == "[0, 2, 2, 2] []"


@pytest.mark.slow
def test_command_line_output_has_no_tensorflow_start_up_log(tmp_path):
    """``imbnet fit`` loads Keras (to save): its stderr has none of TensorFlow's start-up log."""
    data = tmp_path / "rows.csv"
    data.write_text("a,y\n" + "".join(f"{i % 7},{int(i % 5 == 0)}\n" for i in range(60)))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "imbnet",
            "fit",
            "--data",
            str(data),
            "--target",
            "y",
            "--strategy",
            "logreg",
            "--save",
            str(tmp_path / "m.imbnet"),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "saved strategy 'logreg'" in done.stdout
    noise = [line for line in done.stderr.splitlines() if is_startup_noise(line)]
    assert noise == [] and "absl::InitializeLog" not in done.stderr and "cuInit" not in done.stderr


@pytest.mark.slow
def test_real_warnings_during_the_quiet_import_are_kept():
    done = _python(
        "import sys, warnings\n"
        "class Hook:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'keras':\n"
        "            warnings.warn('a real warning while Keras loads')\n"
        "        return None\n"
        "sys.meta_path.insert(0, Hook())\n"
        "from imbnet.cli._tf_logging import import_keras_quietly\n"
        "import_keras_quietly()\n"
        "print('keras' in sys.modules)\n"
    )
    assert done.stdout.strip() == "True"
    assert "a real warning while Keras loads" in done.stderr
    assert not [line for line in done.stderr.splitlines() if is_startup_noise(line)]


@pytest.mark.parametrize(
    "line, noise",
    [
        (
            "WARNING: All log messages before absl::InitializeLog() is called "
            "are written to STDERR",
            True,
        ),
        (
            "E0000 00:00:1795987088.144477    9751 cuda_platform.cc:52] failed call to cuInit: "
            "INTERNAL: CUDA error",
            True,
        ),
        (
            "I0000 00:00:1795986847.426412    4360 cudart_stub.cc:31] Could not find cuda drivers",
            True,
        ),
        ("UserWarning: class_weight has no effect", False),
        ("E0000 00:00:1795987088.144477    9751 some_kernel.cc:52] out of memory", False),
    ],
)
def test_only_the_start_up_lines_count_as_noise(line, noise):
    assert is_startup_noise(line) is noise


def test_the_program_returns_mains_status_and_freezes_what_is_left(monkeypatch, capsys):
    """``imbnet`` (the console script, ``python -m imbnet``) is ``command``: main's exit
    status, then the objects left out of the garbage collector's last collection."""
    import gc

    from imbnet.cli import command

    monkeypatch.setattr(sys, "argv", ["imbnet", "compare", "--cv", "1"])
    try:
        assert command() == 2
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert "--cv" in capsys.readouterr().err


@pytest.mark.slow
def test_a_second_compare_reads_what_the_first_compiled(tmp_path):
    """The command line turns imbnet's compile cache on (its TensorFlow log level hides
    the error line TensorFlow logs at every read): a second run compiles nothing anew,
    prints nothing more and gives the same scores."""
    import json

    import tensorflow as tf

    from imbnet.engine import _persistent_cache

    if _persistent_cache.reads_are_logged(tf.__version__, {"TF_CPP_MIN_LOG_LEVEL": "3"}):
        pytest.skip("this TensorFlow logs every read of the cache: off by default")
    data = tmp_path / "rows.csv"
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 300))
    y = (a + 0.5 * b + rng.normal(scale=0.5, size=300) > 1.6).astype(int)
    data.write_text("a,b,y\n" + "".join(f"{p:.4f},{q:.4f},{t}\n" for p, q, t in zip(a, b, y)))
    env = {**ENV, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop("IMBNET_COMPILE_CACHE", None)

    def compare(out):
        argv = ["compare", "--data", str(data), "--target", "y", "--out", str(tmp_path / out)]
        argv += ["--strategies", "balanced,focal", "--epochs", "5", "--cv", "2"]
        done = subprocess.run(
            [sys.executable, "-m", "imbnet", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        with open(tmp_path / out / "results.json") as file:
            scores = [s["scores"] for s in json.load(file)["strategies"]]
        return done, scores

    def entries():
        found = {}
        for root, _, names in os.walk(tmp_path / "xdg" / "imbnet" / "xla"):
            for name in names:
                found[name] = os.stat(os.path.join(root, name)).st_mtime_ns
        return found

    first, scores = compare("first")
    written = entries()
    assert written  # the side-by-side program of the two strategies, kept on disk
    second, again = compare("second")
    now = entries()
    # read, not compiled and written again (one entry more at most: a program with a
    # second graph, see tests/engine/test_cold_start.py; the side-by-side member programs
    # are traced in the search's thread so as to have one graph each, see
    # tests/model_selection/test_members.py, but their graphs are not compared here)
    assert {name: now.get(name) for name in written} == written
    assert len(now) <= len(written) + 1
    assert again == scores
    assert second.stderr == first.stderr
    assert "Error parsing" not in second.stderr
