"""The feature table's columns against values worked out by hand on a small fixture, and the time cut."""

from __future__ import annotations

import math

import numpy as np
import pytest

from protos.ranker.features import FEATURES, History, ItemFacts, feature_matrix

DAY = 86_400_000
NOW = 100 * DAY
# 5 items: categories 0, 0, 1, 1, 2; distinct users 9, 0, 3, 1, 99; item 0 restocks every 10 days.
ITEMS = ItemFacts(category=np.array([0, 0, 1, 1, 2]), users=np.array([9, 0, 3, 1, 99]),
                  repurchase_rate=np.array([0.6, 0.0, 0.1, 0.0, 0.2]), cycle_days=np.array([10, 0, 0, 0, 0]))
# The shopper touched item 0 four times (2 purchases, last 5 days ago) and item 2 once (30 days ago).
HISTORY = History(rows=np.array([2, 0]), events=np.array([1.0, 4.0]), purchases=np.array([0.0, 2.0]),
                  last_ms=np.array([NOW - 30 * DAY, NOW - 5 * DAY]))


def _column(matrix: np.ndarray, name: str) -> list[float]:
    return matrix[:, FEATURES.index(name)].tolist()


def test_each_column_is_what_its_definition_says() -> None:
    rows = np.array([0, 1, 3, 4])
    generated = {"ii_score": np.array([0.5, np.nan, 0.25, np.nan]), "ii_rank": np.array([0, np.nan, 1, np.nan])}
    m = feature_matrix(rows, generated, HISTORY, ITEMS, NOW)
    assert m.shape == (4, len(FEATURES)) and m.dtype == np.float32
    nan = math.nan
    assert _column(m, "ii_score") == pytest.approx([0.5, nan, 0.25, nan], nan_ok=True)
    assert _column(m, "ii_rank") == pytest.approx([0, nan, 1, nan], nan_ok=True)
    assert np.isnan(_column(m, "succ_score")).all()  # no such generator in this request
    assert _column(m, "own_count") == [4, 0, 0, 0]
    assert _column(m, "own_purchases") == [2, 0, 0, 0]
    assert _column(m, "own_days_since") == pytest.approx([5, nan, nan, nan], nan_ok=True)
    assert _column(m, "cycles_since") == pytest.approx([0.5, nan, nan, nan], nan_ok=True)
    assert _column(m, "rep_rate") == pytest.approx([0.6, 0.0, 0.0, 0.2])
    assert _column(m, "pop_users_log") == pytest.approx([math.log(10), 0.0, math.log(2), math.log(100)])
    assert _column(m, "user_events_log") == pytest.approx([math.log(6)] * 4)
    # 4 of the shopper's 5 events in category 0, 1 in category 1 (item 2), none in category 2
    assert _column(m, "cat_count_share") == pytest.approx([0.8, 0.8, 0.2, 0.0])
    assert _column(m, "cat_days_since") == pytest.approx([5, 5, 30, nan], nan_ok=True)


def test_a_shopper_without_history() -> None:
    empty = History(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64))
    m = feature_matrix(np.array([0, 4]), {}, empty, ITEMS, NOW)
    assert _column(m, "own_count") == [0, 0] and np.isnan(_column(m, "own_days_since")).all()
    assert _column(m, "cat_count_share") == [0, 0] and np.isnan(_column(m, "cat_days_since")).all()
    assert _column(m, "user_events_log") == [0, 0]


def test_an_event_at_or_after_now_never_becomes_a_feature() -> None:
    planted = History(rows=np.array([0]), events=np.array([1.0]), purchases=np.array([1.0]), last_ms=np.array([NOW]))
    with pytest.raises(ValueError, match="leak"):
        feature_matrix(np.array([0]), {}, planted, ITEMS, NOW)


def test_a_generator_column_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="ii_score"):
        feature_matrix(np.array([0, 1]), {"ii_score": np.array([1.0])}, HISTORY, ITEMS, NOW)
