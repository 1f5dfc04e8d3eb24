"""Out of core: fit on a Parquet data set larger than the memory the fit may use.

Data: ``--rows`` rows of ``--features`` float32 features at 1:``--ratio``
(a logistic model: the positive probability is known), written by this
script in files of ``--chunk-rows`` rows (one Dask partition each); a
held-out test set of ``--test-rows`` rows from the same model.

Fit: ``ResampledKerasClassifier(sampler=NegativeDownsampler(rate))`` on
``dask.dataframe.read_parquet`` on a ``LocalCluster`` of ``--workers``
worker processes, each with a ``memory_limit`` of ``--worker-memory``: every
epoch each partition is down-sampled on its worker and only the sample
reaches the client. The anchor is the same classifier fitted in memory (the
client) on the first files, as many rows as ``--anchor-rows``.

Measured: wall time of the whole out-of-core fit and per epoch (the first
epoch includes the class-count pass and compiling the training program),
against one pass that only reads every partition into a float32 array on the
same cluster (the floor for any out-of-core epoch), peak resident memory (RSS)
of the client process and of every worker process (sampled every 0.2 s),
and on the test set ROC AUC, average precision, log loss and mean predicted
probability (against the test set's positive rate), with and without
``prior_correction`` (the same network: the parameter is read at prediction
time). Test predictions of the out-of-core fit are computed on the workers.

    python benchmarks/out_of_core.py --quick                 # ~1 minute
    python benchmarks/out_of_core.py --rows 60000000         # the recorded run
"""

import argparse
import multiprocessing
import os
import shutil
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

WORKER_ENV = {
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def generate(directory, n_rows, n_features, ratio, chunk_rows, seed, first_chunk=0):
    """Parquet files of ``chunk_rows`` rows drawn from the model of ``seed``,
    file ``i`` from the rows of seed ``[seed, first_chunk + i]``; returns the
    files' total size in bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    coef = rng.normal(size=n_features) / np.sqrt(n_features) * 2.5
    # The intercept that gives a base rate of about 1/ratio (found on a sample).
    probe = rng.normal(size=(200_000, n_features)) @ coef
    lo, hi = -30.0, 5.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.mean(1 / (1 + np.exp(-(probe + mid)))) < 1 / ratio else (lo, mid)
    intercept = (lo + hi) / 2
    size = 0
    for index, start in enumerate(range(0, n_rows, chunk_rows)):
        n = min(chunk_rows, n_rows - start)
        chunk_rng = np.random.default_rng([seed, first_chunk + index])
        X = chunk_rng.standard_normal((n, n_features), dtype=np.float32)
        p = 1 / (1 + np.exp(-(X @ coef + intercept)))
        y = (chunk_rng.random(n) < p).astype(np.int8)
        columns = {f"f{i}": X[:, i] for i in range(n_features)}
        columns["label"] = y
        path = directory / f"part-{index:05d}.parquet"
        pq.write_table(pa.table(columns), path, compression="none")  # random floats do not compress
        size += path.stat().st_size
    return size


class PeakRSS:
    """Peak resident memory of processes, sampled every ``interval`` seconds."""

    def __init__(self, pids, interval=0.2):
        self.processes = {pid: psutil.Process(pid) for pid in pids}
        self.peak = dict.fromkeys(pids, 0)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for pid, process in self.processes.items():
                try:
                    self.peak[pid] = max(self.peak[pid], process.memory_info().rss)
                except psutil.Error:
                    pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class local_cluster:
    """A LocalCluster of worker processes with a ``memory_limit``: ``(client, worker pids)``."""

    def __init__(self, n_workers, memory_limit):
        from distributed import Client, LocalCluster

        self.cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            memory_limit=memory_limit,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},
            env=WORKER_ENV,
        )
        self.client = Client(self.cluster)

    def __enter__(self):
        return self.client, list(self.client.run(os.getpid).values())

    def __exit__(self, *exc):
        self.client.close()
        self.cluster.close()


def _read_only(frame):
    return np.asarray(frame, dtype=np.float32).shape[0]


def network(meta, units=32):
    import keras

    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def scores(y, proba):
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

    p = np.clip(proba[:, 1], 1e-7, 1 - 1e-7)
    return {
        "ROC AUC": roc_auc_score(y, p),
        "AP": average_precision_score(y, p),
        "log loss": log_loss(y, p),
        "mean p": p.mean(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=40_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--ratio", type=int, default=1000)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--test-rows", type=int, default=2_000_000)
    parser.add_argument("--anchor-rows", type=int, default=4_000_000)
    parser.add_argument("--rate", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--worker-memory", default="640MiB", help="memory_limit of a worker in the fit"
    )
    parser.add_argument(
        "--predict-worker-memory",
        default="3GiB",
        help="memory_limit of a worker predicting (it loads TensorFlow)",
    )
    parser.add_argument("--directory", default="/tmp/imbnet-out-of-core")
    parser.add_argument("--keep", action="store_true", help="keep the Parquet files")
    parser.add_argument("--quick", action="store_true", help="2M rows, 2 epochs")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.test_rows, args.anchor_rows, args.epochs = 2_000_000, 500_000, 1_000_000, 2
        args.chunk_rows = 250_000

    import dask
    import dask.dataframe as dd
    import keras
    from sklearn.base import clone

    from imbnet import NegativeDownsampler, ResampledKerasClassifier

    root = Path(args.directory)
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    # In another process, so that the client's memory is the fit's alone.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        size = pool.submit(
            generate, root / "train", args.rows, args.features, args.ratio, args.chunk_rows, seed=0
        ).result()
        # The test set: the same model, rows of chunk seeds no training file uses.
        pool.submit(
            generate,
            root / "test",
            args.test_rows,
            args.features,
            args.ratio,
            args.chunk_rows,
            seed=0,
            first_chunk=10**6,
        ).result()
    print(
        f"wrote {args.rows:,} training rows ({size / 2**30:.2f} GiB of Parquet, "
        f"{args.rows * args.features * 4 / 2**30:.2f} GiB as float32) in "
        f"{time.perf_counter() - start:.0f} s"
    )

    features = [f"f{i}" for i in range(args.features)]
    epoch_ends = []
    clock = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: epoch_ends.append(time.perf_counter())
    )
    clf = ResampledKerasClassifier(
        network,
        sampler=NegativeDownsampler(rate=args.rate),
        epochs=args.epochs,
        batch_size=args.batch_size,
        random_state=0,
        callbacks=[clock],
        optimizer__learning_rate=3e-3,
    )
    with (
        local_cluster(args.workers, args.worker_memory) as (client, pids),
        PeakRSS([os.getpid(), *pids]) as rss,
    ):
        ddf = dd.read_parquet(root / "train")
        client_before = psutil.Process().memory_info().rss
        fit_start = time.perf_counter()
        clf.fit(ddf[features], ddf["label"])
        fit_seconds = time.perf_counter() - fit_start
        # The floor, after the fit (the same warm workers and file cache as its
        # later epochs): one pass that only reads every partition into float32.
        read_start = time.perf_counter()
        dask.compute(*[dask.delayed(_read_only)(part) for part in ddf.to_delayed()])
        read_seconds = time.perf_counter() - read_start
    client_peak, worker_peaks = rss.peak[os.getpid()], [rss.peak[pid] for pid in pids]
    results = {}
    with (
        local_cluster(args.workers, args.predict_worker_memory) as (client, pids),
        PeakRSS(pids) as predict_rss,
    ):
        test = dd.read_parquet(root / "test")
        y_test = test["label"].compute().to_numpy()
        for corrected in (False, True):
            clf.set_params(prior_correction=corrected)
            results[("Dask", corrected)] = scores(
                y_test, clf.predict_proba(test[features]).compute()
            )
    predict_peaks = [predict_rss.peak[pid] for pid in pids]
    epochs = np.diff([fit_start, *epoch_ends])

    # Anchor: the same classifier in memory on the first files that fit.
    files = sorted((root / "train").glob("*.parquet"))[
        : max(1, args.anchor_rows // args.chunk_rows)
    ]
    frame = dd.read_parquet(files).compute(scheduler="synchronous")
    anchor_ends = []
    anchor = clone(clf).set_params(
        prior_correction=False,
        callbacks=[
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda e, logs: anchor_ends.append(time.perf_counter())
            )
        ],
    )
    anchor_start = time.perf_counter()
    anchor.fit(frame[features], frame["label"].to_numpy())
    anchor_seconds = time.perf_counter() - anchor_start
    anchor_epochs = np.diff([anchor_start, *anchor_ends])
    test_frame = dd.read_parquet(root / "test").compute(scheduler="synchronous")
    for corrected in (False, True):
        anchor.set_params(prior_correction=corrected)
        results[("memory", corrected)] = scores(y_test, anchor.predict_proba(test_frame[features]))
    n_anchor = len(frame)
    del frame

    print(
        f"\n{args.rows:,} rows x {args.features} features at 1:{args.ratio} "
        f"(training positives {clf.class_prior_[1]:.5f}), {len(files)} of "
        f"{args.rows // args.chunk_rows} files in memory for the anchor ({n_anchor:,} rows); "
        f"NegativeDownsampler(rate={args.rate}), {args.epochs} epochs, batch {args.batch_size}, "
        f"{args.workers} workers x {args.worker_memory} in the fit ({args.predict_worker_memory} "
        f"predicting); test set {len(y_test):,} rows, "
        f"positive rate {y_test.mean():.5f}\n"
    )
    print(
        "| fit | rows | fit s | s/epoch (first / median of the rest) | client peak RSS | "
        "worker peak RSS (fit; predict) |"
    )
    print("|---|---|---|---|---|---|")
    rest = np.median(epochs[1:]) if len(epochs) > 1 else float("nan")
    anchor_rest = np.median(anchor_epochs[1:]) if len(anchor_epochs) > 1 else float("nan")
    print(
        f"| Dask, out of core | {args.rows:,} | {fit_seconds:.1f} | {epochs[0]:.1f} / {rest:.1f} | "
        f"{client_peak / 2**30:.2f} GiB | {', '.join(f'{p / 2**30:.2f}' for p in worker_peaks)} GiB; "
        f"{', '.join(f'{p / 2**30:.2f}' for p in predict_peaks)} GiB |"
    )
    print(
        f"| Parquet read only (one pass, same cluster) | {args.rows:,} | - | {read_seconds:.1f} | - | - |"
    )
    print(
        f"| in memory (anchor) | {n_anchor:,} | {anchor_seconds:.1f} | {anchor_epochs[0]:.1f} / "
        f"{anchor_rest:.1f} | (same process) | - |"
    )
    print(
        f"\nDask epoch / Parquet read-only pass: {rest / read_seconds:.2f}; "
        f"ratio of epoch times (median of the rest) Dask / in memory: {rest / anchor_rest:.2f}; "
        f"rows per epoch {args.rows / n_anchor:.1f}x; client RSS before the fit (Python, "
        f"TensorFlow, Dask) {client_before / 2**30:.2f} GiB; client peak RSS target < 2 GiB: "
        f"{'PASS' if client_peak < 2 * 2**30 else 'FAIL'}\n"
    )
    print("| fit | prior_correction | ROC AUC | AP | log loss | mean p |")
    print("|---|---|---|---|---|---|")
    for (name, corrected), s in results.items():
        print(
            f"| {name} | {corrected} | {s['ROC AUC']:.4f} | {s['AP']:.4f} | {s['log loss']:.5f} | "
            f"{s['mean p']:.5f} |"
        )
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
