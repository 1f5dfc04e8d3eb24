"""How fast the command line answers what needs no training: help, bad arguments, bad files.

Each row runs a command ``--repeats`` times in a fresh Python process and reports the
median wall-clock time; the last column is the ratio to the anchor, a process that
imports imbnet's estimators (and with them Keras and TensorFlow), which is what every
one of these commands did before the command line imported Keras lazily. From the
project root:

    PYTHONPATH=. python benchmarks/cli_startup.py
    PYTHONPATH=. python benchmarks/cli_startup.py --quick

Target: every command answers in under a second ("well under" on an idle machine).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_S = 1.0
ANCHOR = "import estimators (anchor)"


def _rows(tmp):
    empty = os.path.join(tmp, "empty.csv")
    open(empty, "w").close()
    header = os.path.join(tmp, "header.csv")
    with open(header, "w") as file:
        file.write("a,y\n")
    table = os.path.join(tmp, "table.csv")
    with open(table, "w") as file:
        file.write("a,b\n" + "".join(f"{i},{i % 2}\n" for i in range(100)))
    imbnet = [sys.executable, "-m", "imbnet"]
    return {
        ANCHOR: [sys.executable, "-c", "import imbnet; imbnet.CostSensitiveMLPClassifier"],
        "python -c pass (interpreter)": [sys.executable, "-c", "pass"],
        "imbnet --help": [*imbnet, "--help"],
        "imbnet compare --cv 1": [*imbnet, "compare", "--cv", "1"],
        "compare: empty file": [*imbnet, "compare", "--data", empty, "--target", "y"],
        "compare: header only": [*imbnet, "compare", "--data", header, "--target", "y"],
        "compare: no target column": [*imbnet, "compare", "--data", table, "--target", "y"],
        "compare: one class (pandas)": [*imbnet, "compare", "--data", table, "--target", "a"],
    }


def _time(command, repeats):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        rows = _rows(tmp)
        times = {name: _time(command, repeats) for name, command in rows.items()}
    anchor = times[ANCHOR]
    print(f"median of {repeats} runs, seconds; load average {os.getloadavg()[0]:.1f}")
    print(f"| command | seconds | vs anchor | under {TARGET_S:g} s |")
    print("|---|---|---|---|")
    for name, seconds in times.items():
        ok = "—" if name == ANCHOR else ("yes" if seconds < TARGET_S else "no")
        print(f"| {name} | {seconds:.2f} | {seconds / anchor:.2f}× | {ok} |")


if __name__ == "__main__":
    main()
