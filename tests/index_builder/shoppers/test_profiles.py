"""Profile records: vectorised recent/purchased lists match a plain per-user reference."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from index_builder.shoppers.profiles import UserEvents, profile_records, purchased_by_user, recent_by_user
from protos.artifact import PROFILE_LAYOUT, pack_profile, unpack_profile


def _random_events(seed: int, n_users: int = 40, n_items: int = 25, n_events: int = 2000) -> UserEvents:
    rng = np.random.default_rng(seed)
    return UserEvents(
        user=rng.integers(0, n_users, n_events).astype(np.int64),
        item=rng.integers(0, n_items, n_events).astype(np.int32),
        ts=rng.integers(0, 300, n_events).astype(np.int64),  # many equal timestamps
        purchase=rng.random(n_events) < 0.2,
    )


def _reference_recent(events: UserEvents, user: int) -> list[int]:
    """Distinct items by last touch; at equal timestamps the later log entry is the later touch."""
    last: dict[int, tuple[int, int]] = {}
    for k in range(len(events.ts)):
        if events.user[k] == user:
            touch = (int(events.ts[k]), k)
            last[int(events.item[k])] = max(last.get(int(events.item[k]), touch), touch)
    return sorted(last, key=last.__getitem__)


def test_recent_items_are_distinct_and_ordered_by_last_touch() -> None:
    events = _random_events(1)
    events = UserEvents(events.user, events.item, events.ts * 1000 + 999, events.purchase)  # ms, as the builder has
    items, bounds, touches, last_at = recent_by_user(events, 42)  # two users without events
    for user in range(42):
        assert items[bounds[user]:bounds[user + 1]].tolist() == _reference_recent(events, user)
        mine = events.item[events.user == user]
        expected = [int((mine == i).sum()) for i in items[bounds[user]:bounds[user + 1]]]
        assert touches[bounds[user]:bounds[user + 1]].tolist() == expected
        # The last touch of each row, in epoch seconds (999 ms rounds down), in the rows' order.
        latest = [int(events.ts[(events.user == user) & (events.item == i)].max()) // 1000
                  for i in items[bounds[user]:bounds[user + 1]]]
        assert last_at.dtype == np.int64 and last_at[bounds[user]:bounds[user + 1]].tolist() == latest


def test_purchased_items_are_distinct_and_sorted_with_their_last_purchase() -> None:
    events = _random_events(2)
    events = UserEvents(events.user, events.item, events.ts * 1000, events.purchase)  # ms, as the builder has them
    items, last_at, bounds, counts = purchased_by_user(events, 40)
    for user in range(40):
        last: dict[int, int] = {}
        times: dict[int, int] = {}
        for i, u, p, t in zip(events.item, events.user, events.purchase, events.ts, strict=True):
            if u == user and p:
                last[int(i)] = max(last.get(int(i), 0), int(t) // 1000)
                times[int(i)] = times.get(int(i), 0) + 1
        assert items[bounds[user]:bounds[user + 1]].tolist() == sorted(last)
        assert last_at[bounds[user]:bounds[user + 1]].tolist() == [last[i] for i in sorted(last)]
        assert counts[bounds[user]:bounds[user + 1]].tolist() == [times[i] for i in sorted(last)]
    assert counts.max() > 1  # the fixture has repeat purchases, so a count of 1 everywhere would fail


def test_no_events_give_empty_lists() -> None:
    empty = UserEvents(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, bool))
    items, bounds, touches, last_at = recent_by_user(empty, 3)
    assert len(items) == 0 and len(touches) == 0 and len(last_at) == 0 and bounds.tolist() == [0, 0, 0, 0]
    bought, _, bought_bounds, counts = purchased_by_user(empty, 3)
    assert len(bought) == 0 and len(counts) == 0 and bought_bounds.tolist() == [0, 0, 0, 0]


def test_records_are_sorted_by_key_bytes_and_hold_the_right_profile() -> None:
    ids = pa.array(["b", "é-user", "a", "ab", "z", "B", "e"])  # non-ASCII sorts by its UTF-8 bytes
    consent = np.array([True, True, False, True, True, True, True])
    vector_of = np.array([0, 1, -1, 2, -1, 3, 4])  # "z" has no vector and consents: no record
    vectors = np.arange(10, dtype=np.float32).reshape(5, 2)
    events = UserEvents(user=np.array([3, 3, 0, 3]), item=np.array([7, 8, 9, 7], np.int32),
                        ts=np.array([1, 2, 3, 4]), purchase=np.array([False, True, False, False]))
    records = profile_records(ids, consent, vectors, vector_of, events, recent_items=20)
    keys = [key for key, _ in records]
    assert keys == sorted(s.encode() for s in ["b", "é-user", "a", "ab", "B", "e"])
    assert len(records) == len(keys)
    by_key = dict(records)
    assert by_key[b"a"] == pack_profile(False, np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(0, np.int32),
                                        np.zeros(0, np.int64), np.zeros(0, np.int32))
    ab = unpack_profile(by_key[b"ab"])
    assert ab.consent and ab.vector.tolist() == [4.0, 5.0]
    assert ab.recent.tolist() == [8, 7] and ab.purchased.tolist() == [8]
    assert ab.recent_touches.tolist() == [1, 2]  # item 7 was touched twice
    assert ab.purchased_at.dtype == np.int64 and ab.purchased_at.tolist() == [0]  # ts 2 ms -> epoch second 0
    assert ab.recent_at.dtype == np.int64 and ab.recent_at.tolist() == [0, 0]
    assert ab.purchase_counts.tolist() == [1]


def test_records_carry_the_last_touch_and_purchase_count_of_each_row() -> None:
    events = UserEvents(user=np.zeros(6, np.int64), item=np.array([7, 8, 7, 8, 9, 8], np.int32),
                        ts=np.array([1_000, 5_000, 9_000, 12_000, 20_000, 30_000], np.int64) * 1000,
                        purchase=np.array([True, True, True, False, False, True]))
    records = profile_records(pa.array(["u"]), np.array([True]), np.ones((1, 2), np.float32),
                              np.array([0]), events, recent_items=20)
    [(_, record)] = list(records)
    profile = unpack_profile(record)
    assert profile.recent.tolist() == [7, 9, 8] and profile.recent_at.tolist() == [9_000, 20_000, 30_000]
    assert profile.purchased.tolist() == [7, 8] and profile.purchase_counts.tolist() == [2, 2]
    assert profile.purchased_at.tolist() == [9_000, 30_000]


def test_profile_record_round_trip_keeps_last_purchase_times() -> None:
    record = pack_profile(True, np.array([0.5, -1.0], np.float32), np.array([3, 1], np.int32),
                          np.array([1, 4, 9], np.int32), np.array([1_790_000_000, 5, 1_800_000_000], np.int64),
                          np.array([2, 7], np.int32), categories=(np.array([5], np.int32), np.array([0.5], np.float32)),
                          recent_at=np.array([1_700_000_000, 1_800_000_001], np.int64),
                          purchase_counts=np.array([3, 1, 65_536], np.int32))
    profile = unpack_profile(record)
    assert record[0] == PROFILE_LAYOUT == 5
    assert profile.consent and profile.vector.tolist() == [0.5, -1.0] and profile.recent.tolist() == [3, 1]
    assert profile.purchased.tolist() == [1, 4, 9]
    assert profile.purchased_at.tolist() == [1_790_000_000, 5, 1_800_000_000]
    assert profile.recent_touches.tolist() == [2, 7]
    assert profile.recent_at.dtype == np.int64 and profile.recent_at.tolist() == [1_700_000_000, 1_800_000_001]
    assert profile.purchase_counts.tolist() == [3, 1, 65_536]
    # The arrays after them still decode in place.
    assert profile.categories.tolist() == [5] and profile.category_weights.tolist() == [0.5]


def test_a_profile_needs_a_last_touch_per_recent_item_and_a_count_per_purchased_item() -> None:
    import pytest

    with pytest.raises(ValueError, match="recent_at: 1 times for 2 recent"):
        pack_profile(True, np.zeros(0, np.float32), np.array([1, 2], np.int32), np.zeros(0, np.int32),
                     np.zeros(0, np.int64), np.array([1, 1], np.int32), recent_at=np.array([7], np.int64))
    with pytest.raises(ValueError, match="purchase_counts: 0 counts for 1 purchased"):
        pack_profile(True, np.zeros(0, np.float32), np.zeros(0, np.int32), np.array([1], np.int32),
                     np.array([7], np.int64), np.zeros(0, np.int32), purchase_counts=np.zeros(0, np.int32))


def test_a_profile_needs_a_time_per_purchased_item() -> None:
    import pytest

    with pytest.raises(ValueError, match="purchased_at: 1 times for 2"):
        pack_profile(True, np.zeros(0, np.float32), np.zeros(0, np.int32), np.array([1, 2], np.int32),
                     np.array([7], np.int64), np.zeros(0, np.int32))


def test_recent_list_keeps_the_latest_items() -> None:
    events = UserEvents(user=np.zeros(5, np.int64), item=np.arange(5, dtype=np.int32),
                        ts=np.arange(5, dtype=np.int64), purchase=np.zeros(5, bool))
    records = profile_records(pa.array(["u"]), np.array([True]), np.ones((1, 2), np.float32),
                              np.array([0]), events, recent_items=3)
    [(_, record)] = list(records)
    assert unpack_profile(record).recent.tolist() == [2, 3, 4]
