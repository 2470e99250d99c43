"""Repurchase cycles on a tiny hand-made purchase log, against rates and medians computed by hand."""

from __future__ import annotations

import numpy as np

from index_builder.models.repurchase import repurchase_cycles

DAY = 86_400


def test_rate_and_median_cycle_by_hand() -> None:
    log = [  # (user, item, day)
        (0, 0, 0), (0, 0, 10), (0, 0, 30),  # item 0: gaps 10, 20
        (1, 0, 0), (1, 0, 0.2), (1, 0, 14),  # two purchases 0.2 days apart are one occasion: gap 14
        (2, 0, 5),  # bought once
        (0, 1, 3), (1, 1, 0), (1, 1, 7),  # item 1: one repeat buyer of two, below min_buyers
        (3, 3, 20), (3, 3, 0), (3, 3, 15), (3, 3, 5),  # item 3, out of order: gaps 5, 10, 5
        (4, 3, 8), (4, 3, 0),  # gap 8
    ]
    user, item, day = (np.array(column) for column in zip(*log, strict=True))
    own = np.arange(4)  # each item alone in its category: shrinking toward itself leaves its rate
    rate, days = repurchase_cycles(user, item, (day * DAY).astype(np.int64), own, min_gap_days=1.0, min_buyers=2)
    assert rate.dtype == np.float32 and days.dtype == np.float32
    np.testing.assert_allclose(rate, [2 / 3, 1 / 2, 0.0, 1.0], rtol=1e-6)
    assert days.tolist() == [14.0, 0.0, 0.0, 6.5]  # medians of (10, 20, 14) and (5, 10, 5, 8); item 1 too few


def test_no_purchases_no_cycles() -> None:
    none = np.zeros(0, np.int64)
    rate, days = repurchase_cycles(none, none, none, np.zeros(3, np.int64), min_gap_days=1.0, min_buyers=3)
    assert rate.tolist() == [0.0] * 3 and days.tolist() == [0.0] * 3


def test_rate_shrinks_toward_its_category() -> None:
    """A durable rebought by its one buyer, among durables nobody rebuys, gets a low rate; a
    consumable category, rebought by most, keeps a high one."""
    log = [(0, 0, 0), (0, 0, 30)]  # item 0 (durables): its one buyer bought it twice
    log += [(u, 1 + u % 3, 0) for u in range(1, 31)]  # items 1-3 (durables): 30 buyers, once each
    log += [(u, 4 + u % 2, d) for u in range(40, 60) for d in (0, 14)]  # items 4, 5 (consumables): all rebuy
    log += [(60, 4, 0)]
    user, item, day = (np.array(column) for column in zip(*log, strict=True))
    category = np.array([0, 0, 0, 0, 1, 1])
    rate, _ = repurchase_cycles(user, item, (day * DAY).astype(np.int64), category, min_gap_days=1.0, min_buyers=2)
    assert rate[0] < 0.1  # raw share 1.0, pooled durable share 1/31
    assert (rate[1:4] < 0.1).all()  # never rebought: lifted only to the pooled share, still low
    assert rate[4] > 0.9 and rate[5] > 0.9
