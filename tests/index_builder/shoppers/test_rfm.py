"""RFM values, quintile scores and segments on a small purchase log, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from index_builder.shoppers.rfm import (
    NO_RECENCY,
    SEGMENT_TABLE,
    SEGMENTS,
    RfmValues,
    quintile_edges,
    quintile_scores,
    rfm_values,
    score_rfm,
    segment_codes,
)

DAY = 86_400_000
REFERENCE = 100 * DAY  # window of 30 days: (day 70, day 100]

LOG = [  # (user, order, day, amount): one row per order line
    (0, 0, 99, 10.0), (0, 0, 99, 5.0), (0, 1, 90, 20.0),  # two lines of one order: 2 orders, 35
    (1, 2, 100, 40.0), (1, 3, 101, 1000.0),  # a purchase at the reference counts, one after it does not
    (2, 4, 70, 50.0), (2, 5, 70.5, -5.0), (2, 5, 70.5, 8.0),  # day 70 is outside; a refund line counts 0
    (3, 6, 80, 12.0), (3, 7, 85, 12.0), (3, 8, 95, 0.0),  # a free order is an order
    (4, 9, 50, 30.0),  # only before the window: a browser
    (5, 10, 98.25, 100.0),
    (6, 11, 75, 3.0), (6, 12, 75, 3.0),  # two orders on one day are two orders
]  # user 7 has no events at all


def values() -> RfmValues:
    user, order, day, amount = (np.array(column) for column in zip(*LOG, strict=True))
    return rfm_values(user, order, (day * DAY).astype(np.int64), amount, 8, reference_ms=REFERENCE, window_days=30)


def test_values_by_hand() -> None:
    v = values()
    assert v.buyer.tolist() == [True, True, True, True, False, True, True, False]
    assert v.recency_days.dtype == np.float32 and v.frequency.dtype == np.int32
    assert v.recency_days.tolist() == [1.0, 0.0, 29.5, 5.0, NO_RECENCY, 1.75, 25.0, NO_RECENCY]
    assert v.frequency.tolist() == [2, 1, 1, 3, 0, 1, 2, 0]
    assert v.monetary_total.tolist() == [35.0, 40.0, 8.0, 24.0, 0.0, 100.0, 6.0, 0.0]
    assert v.monetary_avg.tolist() == [17.5, 40.0, 8.0, 8.0, 0.0, 100.0, 3.0, 0.0]
    assert v.last_purchase_ms.tolist() == [99 * DAY, 100 * DAY, int(70.5 * DAY), 95 * DAY, 0, int(98.25 * DAY),
                                           75 * DAY, 0]


def test_scores_edges_and_segments_by_hand() -> None:
    scores = score_rfm(values())
    # Recency of the 6 buyers, worst first: 29.5 25 5 1.75 1 0; a score counts the strictly worse: 1 + 5k // 6.
    assert scores.r.tolist() == [4, 5, 1, 2, 0, 3, 1, 0]
    assert scores.r_edges.tolist() == [25.0, 5.0, 1.75, 1.0]
    # Orders 1 1 1 2 2 3: the three 1s straddle the first quintile edge and all score 1, the two 2s score 3.
    assert scores.f.tolist() == [3, 1, 1, 5, 0, 1, 3, 0]
    assert scores.f_edges.tolist() == [1.0, 1.0, 2.0, 2.0]
    assert scores.m.tolist() == [3, 4, 1, 2, 0, 5, 1, 0]
    assert scores.m_edges.tolist() == [8.0, 24.0, 35.0, 40.0]
    # FM = round-half-up((F + M) / 2): 3, 3 (2.5), 1, 4 (3.5), -, 3, 2, -
    names = [SEGMENTS[code] for code in scores.segment]
    assert names == ["potential loyalists", "loyal", "lost", "at risk", "browsers", "potential loyalists",
                     "hibernating", "browsers"]
    assert all(s.dtype == np.uint8 for s in (scores.r, scores.f, scores.m, scores.segment))


def test_quintile_scores_are_one_plus_five_times_the_strictly_worse_share() -> None:
    rng = np.random.default_rng(7)
    spend = rng.integers(0, 12, 500).astype(np.float64)  # many ties
    mask = rng.random(500) < 0.8
    scored = spend[mask]
    for higher in (True, False):
        worse = (scored[None, :] < spend[:, None]) if higher else (scored[None, :] > spend[:, None])
        expected = np.where(mask, 1 + 5 * worse.sum(axis=1) // len(scored), 0)
        assert quintile_scores(spend, mask, higher_is_better=higher).tolist() == expected.tolist()
        edges = quintile_edges(spend, mask, higher_is_better=higher)
        assert (np.diff(edges) >= 0).all() if higher else (np.diff(edges) <= 0).all()


def test_quintile_ties_small_and_empty_bases() -> None:
    mask = np.ones(5, dtype=bool)
    assert quintile_scores(np.arange(5.0), mask, higher_is_better=True).tolist() == [1, 2, 3, 4, 5]
    assert quintile_scores(np.arange(5.0), mask, higher_is_better=False).tolist() == [5, 4, 3, 2, 1]
    assert quintile_scores(np.full(5, 3.0), mask, higher_is_better=True).tolist() == [1] * 5  # all alike: all 1
    assert quintile_scores(np.array([1.0, 2.0, 3.0]), mask[:3], higher_is_better=True).tolist() == [1, 2, 4]
    # Equal values at a quintile edge take the lower score: ranks 1 and 2 of 5 are quintiles 2 and 3.
    assert quintile_scores(np.array([0.0, 1.0, 1.0, 2.0, 3.0]), mask, higher_is_better=True).tolist() == [1, 2, 2, 4, 5]
    nobody = np.zeros(3, dtype=bool)
    assert quintile_scores(np.arange(3.0), nobody, higher_is_better=True).tolist() == [0, 0, 0]
    assert quintile_edges(np.arange(3.0), nobody, higher_is_better=True).tolist() == [0.0] * 4


# The 5 x 5 map of docs/segments.md, rows R = 5..1, columns FM = 1..5.
MAP = {
    5: ["new", "potential loyalists", "loyal", "champions", "champions"],
    4: ["promising", "potential loyalists", "potential loyalists", "loyal", "champions"],
    3: ["promising", "needs attention", "potential loyalists", "loyal", "loyal"],
    2: ["about to sleep", "needs attention", "needs attention", "at risk", "at risk"],
    1: ["lost", "hibernating", "at risk", "can't lose them", "can't lose them"],
}


def test_every_r_fm_cell_maps_to_its_one_segment() -> None:
    r, fm = (grid.ravel() for grid in np.meshgrid(np.arange(1, 6), np.arange(1, 6), indexing="ij"))
    codes = segment_codes(r, fm, fm, np.ones(25, dtype=bool))  # F = M = FM
    assert [SEGMENTS[c] for c in codes] == [MAP[int(row)][int(col) - 1] for row, col in zip(r, fm, strict=True)]
    assert set(SEGMENTS) == {name for row in MAP.values() for name in row} | {"browsers"}
    assert len(SEGMENTS) == 12 and SEGMENT_TABLE.shape == (6, 6)
    assert (SEGMENT_TABLE[0, :] == 0).all() and (SEGMENT_TABLE[:, 0] == 0).all()  # unscored: browsers


@pytest.mark.parametrize(("f", "m", "fm"), [(1, 2, 2), (2, 3, 3), (4, 5, 5), (1, 5, 3), (2, 2, 2), (5, 4, 5)])
def test_fm_is_the_mean_rounded_half_up(f: int, m: int, fm: int) -> None:
    one = np.ones(1, dtype=np.uint8)
    assert segment_codes(one * 3, one * f, one * m, np.ones(1, dtype=bool)).tolist() == [SEGMENT_TABLE[3, fm]]


def test_non_buyers_are_browsers_whatever_their_scores() -> None:
    five = np.full(2, 5, dtype=np.uint8)
    codes = segment_codes(five, five, five, np.array([False, True]))
    assert [SEGMENTS[c] for c in codes] == ["browsers", "champions"]


def test_no_purchases_in_the_window() -> None:
    none = np.zeros(0, np.int64)
    v = rfm_values(none, none, none, np.zeros(0), 2, reference_ms=REFERENCE, window_days=30)
    assert v.buyer.tolist() == [False, False] and v.recency_days.tolist() == [NO_RECENCY] * 2
    assert [SEGMENTS[c] for c in score_rfm(v).segment] == ["browsers", "browsers"]
