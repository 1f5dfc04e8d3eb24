"""Every sampler and option on every Keras backend installed: passes, and time.

Runs ``tests/_backend_cases.py`` (the table ``tests/test_backends.py`` asserts
on) once per backend in a fresh interpreter (``KERAS_BACKEND`` is read at
Keras's first import): TensorFlow (the compiled loop, the anchor), JAX and
PyTorch (``model.fit``). Prints per case the seconds it took on each backend
and whether it kept every promise (valid probabilities, held-out ROC AUC
above 0.7, reproducible, its own checks); then the whole run per backend
(interpreter start and imports included) and its ratio to TensorFlow's.

A backend that is not installed is skipped. PyTorch on this machine: a CPU
build, ``pip install torch==2.13.0`` (see README, "Other Keras backends").

    python benchmarks/backends.py [--quick]
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["mlp", "sampler_per_epoch", "hard_negative", "batch_ratio", "save_load_resampled"]


def run(backend, cases):
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "_backend_cases.py"), *cases],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{backend} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["cases"], seconds


def kept(result):
    if "error" in result:
        return "ERROR"
    good = (
        result["proba_valid"]
        and (result["auc"] is None or result["auc"] > 0.7)
        and result["reproducible"] is not False
        and all(result["checks"].values())
    )
    return "ok" if good else "FAIL"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    args = parser.parse_args()
    backends = [b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b)]
    cases = QUICK if args.quick else []
    results, totals = {}, {}
    for backend in backends:
        results[backend], totals[backend] = run(backend, cases)
    names = sorted(next(iter(results.values())))
    print(f"{'case':22s}" + "".join(f"{b:>18s}" for b in backends))
    for name in names:
        cells = [
            f"{results[b][name]['seconds']:6.1f} s {kept(results[b][name]):>5s}" for b in backends
        ]
        print(f"{name:22s}" + "".join(f"{c:>18s}" for c in cells))
    print(f"{'whole run':22s}" + "".join(f"{totals[b]:16.1f} s" for b in backends))
    anchor = totals.get("tensorflow")
    if anchor:
        print(
            f"{'ratio to tensorflow':22s}"
            + "".join(f"{totals[b] / anchor:18.2f}" for b in backends)
        )
    failed = [(b, n) for b in backends for n in names if kept(results[b][n]) != "ok"]
    if failed:
        print("not kept:", failed)


if __name__ == "__main__":
    main()
