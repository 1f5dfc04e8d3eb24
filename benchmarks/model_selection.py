"""imbnet.model_selection's searches against scikit-learn's, same pipelines, same process.

Each grid runs once untimed for both (compilations, imports: a warm
process), then timed: imbnet's ``GridSearchCV`` (fits side by side) and
scikit-learn's (the anchor: what a user would pick, with ``n_jobs=1``, its
fastest on a small machine), the ratio of wall times and of the process's CPU
times (user + system over all threads: steadier than wall time on a machine
shared with other work), the largest difference of a
candidate's mean score, whether the best candidate is the same (or within
0.005 of the best score), and the peak resident memory of the process during
each timed search.

- (a) the issue's grid: StandardScaler, RandomUnderSampler,
  CostSensitiveMLPClassifier((32,), max_iter=200); sampling_strategy
  [0.1, 0.3, 1.0] x class_weight [None, "balanced", "log", {0: 1, 1: 5}],
  StratifiedKFold(5), roc_auc, 2,000 x 10 at 1:19 (60 fits);
- (b) class_weight x alpha, 20 candidates x 5 folds of the network alone,
  1,500 x 10;
- (c) the tutorial task: its 5,000 training rows;
- (d) 50,000 x 10 at 1:19 (StandardScaler, network with max_iter=30:
  20 fits of 40,000 rows), trained in memory-bounded chunks.

``--breakdown`` prints, for the chosen grids, where imbnet's search spends
its time, wall and CPU (the compiled program, preparing the members,
scikit-learn's scoring loop, the refit, timed as a plain fit of the best
candidate), scikit-learn's search on the same grid, and the arithmetic floor
of imbnet's program: the same
number of stacked steps of a bare program that only multiplies (forward and
backward matrix products of every member, no optimizer, masks or stopping).

``--formulations`` times (b)'s stacked step (100 members, forward and
backward) written three ways, to see whether another layout of the same
arithmetic runs faster than the program's batched products.

    python benchmarks/model_selection.py [--quick] [--cases abcd] [--breakdown] [--formulations]
"""

import argparse
import os
import threading
import time
import warnings

import numpy as np
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn import model_selection as sk
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

import imbnet
from imbnet import CostSensitiveMLPClassifier
from imbnet.model_selection import GridSearchCV


def issue_grid():
    X, y = make_classification(n_samples=2000, n_features=10, weights=[0.95], random_state=0)
    pipe = make_pipeline(
        StandardScaler(),
        RandomUnderSampler(random_state=0),
        CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0),
    )
    grid = {
        "randomundersampler__sampling_strategy": [0.1, 0.3, 1.0],
        "costsensitivemlpclassifier__class_weight": [None, "balanced", "log", {0: 1, 1: 5}],
    }
    return "(a) pipeline 12 cand x 5 folds, 2000x10", pipe, grid, X, y


def weight_alpha_grid():
    X, y = make_classification(n_samples=1500, n_features=10, weights=[0.9], random_state=1)
    network = CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0)
    grid = {
        "class_weight": [None, "balanced", "log", "effective", {0: 1, 1: 5}],
        "alpha": [1e-4, 1e-3, 1e-2, 1e-1],
    }
    return "(b) MLP 20 cand x 5 folds, 1500x10", network, grid, X, y


def tutorial_grid():
    X, y = imbnet.make_tutorial_data()
    X, y = X[:5000], y[:5000]  # the tutorial's training half
    pipe = make_pipeline(
        StandardScaler(),
        RandomUnderSampler(random_state=0),
        CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0),
    )
    grid = {
        "randomundersampler__sampling_strategy": [0.1, 0.3, 1.0],
        "costsensitivemlpclassifier__class_weight": [None, "balanced"],
    }
    return f"(c) tutorial 6 cand x 5 folds, {X.shape[0]}x{X.shape[1]}", pipe, grid, X, y


def large_grid():
    X, y = make_classification(n_samples=50_000, n_features=10, weights=[0.95], random_state=2)
    pipe = make_pipeline(
        StandardScaler(),
        CostSensitiveMLPClassifier(hidden_layer_sizes=(32,), max_iter=30, random_state=0),
    )
    grid = {
        "costsensitivemlpclassifier__class_weight": [None, "balanced"],
        "costsensitivemlpclassifier__alpha": [1e-4, 1e-2],
    }
    return "(d) 4 cand x 5 folds, 50000x10", pipe, grid, X, y


def _rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(call):
    """Seconds ``call`` took, the peak resident memory (MB) while it ran and the
    process's CPU seconds (user + system, all threads) it used."""
    peak, done = [_rss_mb()], threading.Event()

    def watch():
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_mb())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start, cpu = time.perf_counter(), time.process_time()
    result = call()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    watcher.join()
    return result, seconds, max(peak[0], _rss_mb()), cpu


def run(case, n_jobs_list):
    name, estimator, grid, X, y = case()
    cv = StratifiedKFold(5)

    def ours(n_jobs):
        return GridSearchCV(estimator, grid, cv=cv, scoring="roc_auc", n_jobs=n_jobs).fit(X, y)

    def theirs():
        return sk.GridSearchCV(estimator, grid, cv=cv, scoring="roc_auc").fit(X, y)

    for n_jobs in n_jobs_list:  # warm: compilations and imports
        ours(n_jobs)
    theirs()
    b, t_theirs, rss_theirs, cpu_theirs = timed(theirs)
    rows, first = [], None
    for n_jobs in n_jobs_list:
        a, t_ours, rss_ours, cpu_ours = timed(lambda n_jobs=n_jobs: ours(n_jobs))
        first = first or t_ours
        mean_a, mean_b = a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]
        diff = np.max(np.abs(mean_a - mean_b))
        same = a.best_index_ == b.best_index_ or mean_a[b.best_index_] >= a.best_score_ - 0.005
        rows.append(
            (name, n_jobs, t_ours, t_theirs, t_theirs / t_ours, cpu_theirs / cpu_ours)
            + (t_ours / first, diff, same, rss_ours, rss_theirs)
        )
    return rows


def _clock():
    return np.array([time.perf_counter(), time.process_time()])


def breakdown(case):
    """Seconds (wall, CPU) of one warm search by part, scikit-learn's search on
    the same grid, and the program's arithmetic floor."""
    from sklearn.base import clone

    from imbnet.model_selection import _tasks

    name, estimator, grid, X, y = case()
    spent = {"program": np.zeros(2), "prepare": np.zeros(2)}
    shapes = []
    train_members, prepare = _tasks.train_members, _tasks.prepare

    def timed_train(members, **kwargs):
        start = _clock()
        results = train_members(members, **kwargs)
        spent["program"] += _clock() - start
        steps = max(r.n_iter * -(-m.X.shape[0] // m.batch_size) for m, r in zip(members, results))
        slots = max(min(m.batch_size, m.X.shape[0]) for m in members)
        widths = [k.shape for k in members[0].kernels]
        shapes.append((len(members), slots, widths, steps))
        return results

    def timed_prepare(*args, **kwargs):
        start = _clock()
        result = prepare(*args, **kwargs)
        spent["prepare"] += _clock() - start
        return result

    def search():
        return GridSearchCV(estimator, grid, cv=StratifiedKFold(5), scoring="roc_auc").fit(X, y)

    def theirs():
        return sk.GridSearchCV(estimator, grid, cv=StratifiedKFold(5), scoring="roc_auc").fit(X, y)

    theirs()  # warm
    start = _clock()
    theirs()
    anchor = _clock() - start
    _tasks.train_members, _tasks.prepare = timed_train, timed_prepare
    try:
        search()  # warm
        spent.update(program=np.zeros(2), prepare=np.zeros(2))
        shapes.clear()
        start = _clock()
        fitted = search()
        total = _clock() - start
    finally:
        _tasks.train_members, _tasks.prepare = train_members, prepare
    start = _clock()  # the refit alone: a plain fit of the best candidate
    clone(estimator).set_params(**fitted.best_params_).fit(X, y)
    refit = _clock() - start
    floor = sum(_matmul_floor(*shape) for shape in shapes)
    rest = total - spent["program"] - spent["prepare"] - refit
    parts = (anchor, total, spent["program"], floor, spent["prepare"], rest, refit)
    return name, parts, anchor[1] / floor[1]


def _matmul_floor(n_members, slots, widths, steps):
    """Seconds (wall, CPU) of ``steps`` steps of only the members' matrix products."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((n_members, slots, widths[0][0]), np.float32))
    kernels = [tf.constant(rng.random((n_members, *w), np.float32) * 0.1) for w in widths]

    def run(count, kernels):
        def body(i, kernels):
            with tf.GradientTape() as tape:
                tape.watch(kernels)
                h = x
                for kernel in kernels:
                    h = tf.nn.relu(tf.matmul(h, kernel))
                total = tf.reduce_sum(h)
            grads = tape.gradient(total, kernels)
            return i + 1, [k - 1e-6 * g for k, g in zip(kernels, grads)]

        return tf.while_loop(lambda i, _: i < count, body, (tf.constant(0), kernels))[1]

    program = tf.function(run, jit_compile=True, autograph=False)
    program(tf.constant(2), kernels)
    start = _clock()
    program(tf.constant(steps), kernels)[0].numpy()
    return _clock() - start


def formulations(n_members=100, slots=200, n_features=10, units=32, steps=600, groups=5):
    """CPU ms per step of (b)'s arithmetic written three ways: per-member batched
    matrix products (the program's), one wide product per group of members that
    share their rows ((slots, d) @ (d, members x units), as the members of one
    fold in (b) could), and the first layer as ``d`` broadcast multiply-adds."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    k, s, d, u, g = n_members, slots, n_features, units, groups
    x = tf.constant(rng.random((k, s, d), np.float32))
    xg = tf.constant(rng.random((g, s, d), np.float32))
    y = tf.constant((rng.random((k, s)) < 0.1).astype(np.float32))
    w1 = tf.constant(rng.normal(size=(k, d, u)).astype(np.float32) * 0.3)
    w2 = tf.constant(rng.normal(size=(k, u)).astype(np.float32) * 0.3)

    def backward(x, z, h, w1, w2, first):
        delta = (tf.sigmoid(tf.reduce_sum(h * w2[:, None], -1)) - y) / s
        g2 = tf.reduce_sum(h * delta[..., None], axis=1)
        g1 = first(x, delta[..., None] * w2[:, None] * tf.cast(z > 0, tf.float32))
        return w1 - 1e-3 * g1, w2 - 1e-3 * g2

    def batched(w1, w2):
        z = tf.matmul(x, w1)
        return backward(x, z, tf.nn.relu(z), w1, w2, lambda x, dz: tf.matmul(x, dz, True))

    def wide(w1, w2):
        m = k // g
        wg = tf.reshape(tf.transpose(tf.reshape(w1, (g, m, d, u)), [0, 2, 1, 3]), (g, d, m * u))
        z = tf.reshape(tf.matmul(xg, wg), (g, s, m, u))
        z = tf.reshape(tf.transpose(z, [0, 2, 1, 3]), (k, s, u))
        xs = tf.repeat(xg, m, axis=0)
        return backward(xs, z, tf.nn.relu(z), w1, w2, lambda x, dz: tf.matmul(x, dz, True))

    def unrolled(w1, w2):
        z = x[..., :1] * w1[:, None, 0]
        for j in range(1, d):
            z = z + x[..., j : j + 1] * w1[:, None, j]
        return backward(x, z, tf.nn.relu(z), w1, w2, lambda x, dz: tf.matmul(x, dz, True))

    rows = []
    for name, body in [("batched", batched), ("wide per group", wide), ("unrolled", unrolled)]:

        def run(count, w1, w2, body=body):
            return tf.while_loop(
                lambda i, *_: i < count, lambda i, a, b: (i + 1, *body(a, b)), (0, w1, w2)
            )[1:]

        program = tf.function(run, jit_compile=True, autograph=False)
        program(tf.constant(2), w1, w2)
        start = _clock()
        program(tf.constant(steps), w1, w2)[0].numpy()
        wall, cpu = _clock() - start
        rows.append((name, 1e3 * wall / steps, 1e3 * cpu / steps))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="(a) and (b), n_jobs=1 only")
    parser.add_argument("--cases", default="abcd", help="which grids, e.g. 'ab'")
    parser.add_argument("--breakdown", action="store_true", help="where the time goes")
    parser.add_argument(
        "--formulations", action="store_true", help="(b)'s arithmetic written three ways"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    cases = {"a": issue_grid, "b": weight_alpha_grid, "c": tutorial_grid, "d": large_grid}
    if args.formulations:
        print("| (b)'s step, 100 members x 200 rows, 10-32-1 | ms / step wall | ms / step CPU |")
        print("|---|---|---|")
        for name, wall, cpu in formulations():
            print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
        return
    if args.breakdown:
        print("seconds as wall / CPU (user + system, all threads)")
        print(
            "| grid | sklearn search | imbnet search | compiled program | its matmul floor | "
            "preparing | scoring loop and rest | refit | sklearn CPU / floor CPU |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for letter in args.cases:
            name, parts, ceiling = breakdown(cases[letter])
            cells = " | ".join(f"{wall:.2f} / {cpu:.2f}" for wall, cpu in parts)
            print(f"| {name} | {cells} | {ceiling:.1f}x |")
        return
    chosen = "ab" if args.quick else args.cases
    n_jobs_list = [1] if args.quick else [1, 2]
    rows = []
    for letter in chosen:
        rows.extend(run(cases[letter], n_jobs_list))
    print(f"{os.cpu_count()} CPUs; scikit-learn's GridSearchCV timed with n_jobs=1")
    print(
        "| grid | n_jobs | imbnet s | sklearn s | ratio | CPU ratio | vs imbnet n_jobs=1 | "
        "max score diff | same best | peak RSS MB imbnet / sklearn |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, n_jobs, t_ours, t_theirs, ratio, cpu_ratio, vs_one, diff, same, rss_a, rss_b in rows:
        print(
            f"| {name} | {n_jobs} | {t_ours:.2f} | {t_theirs:.2f} | {ratio:.2f}x | {cpu_ratio:.2f}x | "
            f"{vs_one:.2f} | {diff:.1e} | {same} | {rss_a:.0f} / {rss_b:.0f} |"
        )


if __name__ == "__main__":
    main()
