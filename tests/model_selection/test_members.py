"""Row orders shared by members of one seed are those each member's own fit draws."""

import numpy as np

from imbnet.model_selection._members import RowOrders


def test_shared_row_orders_equal_a_fits_own_draws_in_any_call_order():
    own = np.random.default_rng(7).permuted(np.broadcast_to(np.arange(30), (12, 30)), axis=1)
    shared = RowOrders(7, 30, True)
    np.testing.assert_array_equal(shared(0, 4), own[0:4])
    np.testing.assert_array_equal(shared(0, 4), own[0:4])  # a second member, same range
    np.testing.assert_array_equal(shared(4, 4), own[4:8])
    np.testing.assert_array_equal(shared(0, 4), own[0:4])  # out of turn: drawn again
    np.testing.assert_array_equal(shared(8, 4), own[8:12])  # skipped epochs drawn past
    np.testing.assert_array_equal(RowOrders(7, 30, False)(3, 2), np.tile(np.arange(30), (2, 1)))


def test_row_orders_pickle_to_a_worker_and_draw_the_same():
    import pickle

    shared = RowOrders(3, 20, True)
    first = shared(0, 2).copy()
    sent = pickle.loads(pickle.dumps(shared))
    np.testing.assert_array_equal(sent(0, 2), first)
    np.testing.assert_array_equal(sent(2, 2), shared(2, 2))


def test_chunks_train_one_after_another_on_one_machine():
    import joblib

    from imbnet.model_selection._tasks import _chunk_workers

    assert _chunk_workers(2) == 1
    with joblib.parallel_backend("threading"):
        assert _chunk_workers(4) == 1


def test_a_search_traces_every_program_in_its_own_thread(monkeypatch):
    """Chunks of three program shapes: each program is traced once, in the search's
    thread, never in the thread that compiles ahead (a trace beside other TensorFlow
    work would name the program's functions otherwise in every process, and the
    compile cache, keyed on those names, would never find it again)."""
    import threading

    from sklearn.base import clone
    from sklearn.datasets import make_classification

    from imbnet import CostSensitiveMLPClassifier
    from imbnet.engine import _member_training
    from imbnet.model_selection import _tasks
    from imbnet.model_selection._members import prepare

    monkeypatch.setattr(_member_training, "_PROGRAMS", {})  # programs traced anew here
    monkeypatch.setattr(_member_training, "_COMPILED", set())
    threads = []
    make_run = _member_training._make_run

    def recording(*args, **kwargs):
        run = make_run(*args, **kwargs)

        def traced(*inputs):  # Python runs only while TensorFlow traces
            threads.append(threading.current_thread().name)
            return run(*inputs)

        return traced

    monkeypatch.setattr(_member_training, "_make_run", recording)
    X, y = make_classification(n_samples=300, n_features=5, weights=[0.85], random_state=0)
    network = CostSensitiveMLPClassifier((7,), max_iter=3, random_state=0)
    chunks = [[(None, None, prepare(clone(network), X, y, {}), 0.0)] * size for size in (1, 3, 6)]
    ahead = _tasks._compile_ahead(chunks)
    try:
        for position, chunk in enumerate(chunks):
            members = [entry[2].member for entry in chunk]
            results, _ = _tasks._train_chunk(members, chunk[0][2].key, ahead, position)
            assert [r.n_iter for r in results] == [3] * len(chunk)
    finally:
        ahead.join()
    assert threads == [threading.current_thread().name] * 3
