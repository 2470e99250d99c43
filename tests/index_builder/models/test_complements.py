"""Bought/viewed together: session co-occurrence, the minimum support, the popularity correction, the cap."""

from __future__ import annotations

import numpy as np

from index_builder.models.complements import co_occurrence, complements, top_partners


def _events(sessions: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(session, item, ts) arrays of one event per listed item, in list order."""
    session = np.concatenate([np.full(len(items), s) for s, items in enumerate(sessions)]).astype(np.int64)
    item = np.concatenate([np.asarray(items) for items in sessions]).astype(np.int32)
    return session, item, np.arange(len(item), dtype=np.int64)


def test_pairs_count_sessions_with_both_distinct_items() -> None:
    session, item, ts = _events([[0, 1, 1], [0, 1, 2], [3]])  # a repeat counts once; a lone item pairs nothing
    counts = co_occurrence(session, item, ts, 4).toarray()
    assert counts[0, 1] == counts[1, 0] == 2
    assert counts[0, 2] == counts[1, 2] == 1
    assert counts[1, 1] == 2 and counts[3].sum() == 0


def test_minimum_support_keeps_coincidences_out() -> None:
    session, item, ts = _events([[0, 1], [0, 1], [0, 2]])
    rows, weights = top_partners(co_occurrence(session, item, ts, 3), k=3, min_support=2)
    assert rows[0].tolist() == [1, -1, -1] and rows[1].tolist() == [0, -1, -1]
    assert rows[2].tolist() == [-1, -1, -1] and weights[2].tolist() == [0, 0, 0]
    assert weights[0, 0] == np.float32(2 / np.sqrt(3 * 2))


def test_popularity_correction_ranks_a_faithful_pair_above_a_bestseller() -> None:
    # Item 0 always comes with item 1 (3 sessions); the bestseller 2 is in every basket (20 of them),
    # so item 0 co-occurs with it more often (4 times) than with item 1 — raw counts would prefer it.
    baskets = [[0, 1, 2]] * 3 + [[0, 2]] + [[2, 3 + i % 5] for i in range(16)]
    rows, weights = complements(*_events(baskets), 8, k=2, min_support=2)
    assert rows[0].tolist() == [1, 2]
    assert weights[0, 0] > weights[0, 1] > 0
    assert rows[1, 0] == 0  # and item 1's best partner is item 0, not the bestseller


def test_session_cap_keeps_the_first_distinct_items() -> None:
    # Two sessions of 6 items each in time order; with a cap of 3 only items 0, 1, 2 pair up.
    session, item, ts = _events([[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]])
    counts = co_occurrence(session, item, ts, 6, max_session_items=3).toarray()
    assert counts[:3, :3].min() == 2 and counts[3:].sum() == 0 and counts[:, 3:].sum() == 0


def test_no_events_and_k_zero_give_empty_tables() -> None:
    empty = np.zeros(0, dtype=np.int64)
    rows, weights = complements(empty, empty.astype(np.int32), empty, 4, k=5, min_support=2)
    assert rows.shape == weights.shape == (4, 5) and (rows == -1).all()
    rows, _ = complements(*_events([[0, 1], [0, 1]]), 2, k=0, min_support=1)
    assert rows.shape == (2, 0)
