"""Cost of one ``partial_fit`` call: imbnet against scikit-learn's ``MLPClassifier``.

Both estimators learn 1,000 x 10 rows (1:19) in chunks of 100 rows: 10 chunks
per pass, 20 passes, 200 calls of ``partial_fit``, each one epoch on its chunk.
Both use one hidden layer of 32 units, Adam, batch 100 (one step per call).
Each estimator first runs the whole sequence once untimed but for its first
call ("cold first call": network build and, for imbnet, the compilation of
its program); then ``--repeats`` timed runs, interleaved, give the median
time per call (their first call is reported apart: a new network on a
compiled program). ROC AUC on a held-out set checks that both learned.
"CPU ms / call" is the process's processor time per call (all its threads):
on a machine shared with other jobs, wall time per call mostly measures the
others' load, processor time what the call itself costs.

    python benchmarks/partial_fit.py [--passes N] [--repeats N]
"""

import argparse
import statistics
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier

from imbnet import CostSensitiveMLPClassifier


def _run(make, X, y, X_test, y_test, passes, chunk=100):
    clf = make()
    calls, cpu = [], []
    classes = np.unique(y)
    for _ in range(passes):
        for start in range(0, len(X), chunk):
            t, c = time.perf_counter(), time.process_time()
            clf.partial_fit(X[start : start + chunk], y[start : start + chunk], classes=classes)
            calls.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    auc = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
    return calls[0], calls[1:], auc, cpu[1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X, y = make_classification(
        n_samples=2000, n_features=10, weights=[0.95], flip_y=0.01, random_state=0
    )
    X_train, y_train, X_test, y_test = X[:1000], y[:1000], X[1000:], y[1000:]
    makers = {
        "MLPClassifier": lambda: MLPClassifier(
            hidden_layer_sizes=(32,), batch_size=100, random_state=0
        ),
        "imbnet": lambda: CostSensitiveMLPClassifier(
            hidden_layer_sizes=(32,), batch_size=100, random_state=0
        ),
        "imbnet, class_weight={0:1,1:5}": lambda: CostSensitiveMLPClassifier(
            hidden_layer_sizes=(32,), batch_size=100, class_weight={0: 1, 1: 5}, random_state=0
        ),
    }
    rows = {name: {"first": [], "call": [], "total": [], "auc": [], "cpu": []} for name in makers}
    cold = {
        name: _run(make, X_train, y_train, X_test, y_test, args.passes)[0]
        for name, make in makers.items()
    }
    for _ in range(args.repeats):  # interleaved: the machine's load hits every variant alike
        for name, make in makers.items():
            first, calls, auc, cpu = _run(make, X_train, y_train, X_test, y_test, args.passes)
            rows[name]["cpu"].append(statistics.median(cpu))
            rows[name]["first"].append(first)
            rows[name]["call"].append(statistics.median(calls))
            rows[name]["total"].append(first + sum(calls))
            rows[name]["auc"].append(auc)
    anchor = statistics.median(rows["MLPClassifier"]["call"])
    anchor_cpu = statistics.median(rows["MLPClassifier"]["cpu"])
    print(
        f"partial_fit on 100-row chunks, 1,000 x 10 rows (1:19), {args.passes} passes "
        f"({args.passes * 10} calls), median of {args.repeats} runs"
    )
    print(
        f"{'estimator':32s} {'cold first call s':>17s} {'first call s':>12s} {'run s':>6s} "
        f"{'ms / call':>10s} {'vs MLP':>7s} {'CPU ms / call':>13s} {'vs MLP':>7s} {'AUC':>6s}"
    )
    for name, row in rows.items():
        call, cpu = statistics.median(row["call"]), statistics.median(row["cpu"])
        print(
            f"{name:32s} {cold[name]:17.3f} {statistics.median(row['first']):12.3f} "
            f"{statistics.median(row['total']):6.2f} {1000 * call:10.2f} "
            f"{call / anchor:7.2f} {1000 * cpu:13.2f} {cpu / anchor_cpu:7.2f} "
            f"{statistics.median(row['auc']):6.3f}"
        )


if __name__ == "__main__":
    main()
