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
