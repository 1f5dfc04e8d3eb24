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
