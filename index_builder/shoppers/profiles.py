"""Per-user profile records: consent, facts (index_builder/shoppers/facts.py), vector, recent items with their
event counts and last touches, purchased items with when each was last bought and how many times, top
categories and brands.

Everything is computed with vectorised sorts over the event arrays; the only
per-user Python work is slicing and packing the record bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from index_builder.shoppers.facts import Facts
from protos.artifact import no_facts, pack_profile

__all__ = ["UserEvents", "ProfileRecords", "profile_records", "recent_by_user", "purchased_by_user"]

_LOW_BITS = 1 << 32


@dataclass(frozen=True)
class UserEvents:
    """Events of consenting known users, as parallel arrays (one entry per event)."""

    user: np.ndarray  # int64 code into `user_ids`
    item: np.ndarray  # int32 catalog row
    ts: np.ndarray  # int64 ms
    purchase: np.ndarray  # bool


def _segments(sorted_codes: np.ndarray, n_codes: int) -> np.ndarray:
    """starts[c]..starts[c+1] is the slice of code c in an array sorted by code."""
    return np.searchsorted(sorted_codes, np.arange(n_codes + 1))


def _by_user_then_time(events: UserEvents) -> np.ndarray:
    """Event indices ordered by (user, ts); equal timestamps keep their order in the log."""
    n_events = len(events.ts)
    by_time = np.argsort(events.ts, kind="stable")  # near-linear: logs are mostly time-ordered
    if n_events < _LOW_BITS and int(events.user.max()) < _LOW_BITS // 2:
        # A value sort of (user, time rank) packed in one int64 is several times faster than argsort.
        packed = np.sort((events.user[by_time].astype(np.int64) << 32) | np.arange(n_events))
        return by_time[packed & (_LOW_BITS - 1)]
    return by_time[np.argsort(events.user[by_time], kind="stable")]


def recent_by_user(events: UserEvents, n_users: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct items per user ordered by last touch, with how many events each had and when it was last
    touched (epoch seconds); user u's slice is bounds[u]:bounds[u+1]. Returns (items, bounds, events, last touch).

    Of two touches with the same timestamp, the later one in the log is the later touch.
    """
    if len(events.ts) == 0:
        return (np.zeros(0, np.int32), np.zeros(n_users + 1, np.int64), np.zeros(0, np.int32),
                np.zeros(0, np.int64))
    order = _by_user_then_time(events)
    n_items = int(events.item.max()) + 1
    pairs = events.user[order] * n_items + events.item[order]
    # Arrow's `unique` lists values in first-seen order (a hash kernel, no sort); walking the
    # (user, time) order backwards, a pair is first seen at its last touch.
    backwards = pairs[::-1]
    last_touches = pc.unique(pa.array(backwards)).to_numpy()[::-1]
    # First index of each pair walking backwards = its last event in (user, time) order: the latest timestamp.
    distinct, first_back, counts = np.unique(backwards, return_index=True, return_counts=True)
    at = np.searchsorted(distinct, last_touches)
    last_ms = events.ts[order][len(pairs) - 1 - first_back]
    touches = counts[at].astype(np.int32)
    return ((last_touches % n_items).astype(np.int32), _segments(last_touches // n_items, n_users), touches,
            (last_ms[at] // 1000).astype(np.int64))


def purchased_by_user(events: UserEvents, n_users: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct purchased items per user, sorted, the last purchase of each (epoch seconds) and its number of
    purchase events; user u's slice is bounds[u]:bounds[u+1]. Returns (items, last purchase, bounds, counts)."""
    keys = (events.user[events.purchase].astype(np.int64) << 32) | events.item[events.purchase]
    ts = events.ts[events.purchase]
    order = np.lexsort((ts, keys))
    keys, ts = keys[order], ts[order]
    last = np.ones(len(keys), dtype=bool)  # the last (latest) entry of each (user, item) run
    last[:-1] = keys[1:] != keys[:-1]
    pairs = keys[last]
    ends = np.flatnonzero(last)
    counts = np.diff(ends, prepend=-1).astype(np.int32)  # run lengths: purchase events per (user, item)
    return (pairs & 0xFFFFFFFF).astype(np.int32), ts[last] // 1000, _segments(pairs >> 32, n_users), counts


@dataclass(frozen=True)
class ProfileRecords:
    """(user id, record) pairs sorted by key bytes, packed lazily as they are iterated."""

    key_bytes: list[bytes]
    users: np.ndarray  # user code per key
    consent: np.ndarray
    vectors: np.ndarray
    vector_of: np.ndarray
    recent: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # items, bounds, events, last touch (epoch s)
    purchased: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # items, last purchase (s), bounds, counts
    recent_items: int
    facts: Facts | None = None

    def __len__(self) -> int:
        return len(self.key_bytes)

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        touched, bounds, touches, touched_at = self.recent
        bought, bought_at, bought_bounds, bought_counts = self.purchased
        users = self.users
        # Per-record slice ends as Python ints, computed for all records at once.
        recent_end = bounds[users + 1]
        recent_start = np.maximum(recent_end - self.recent_items, bounds[users])
        columns = (self.consent[users], np.maximum(self.vector_of[users], 0), recent_start, recent_end,
                   bought_bounds[users], bought_bounds[users + 1])
        empty_f, empty_i = np.zeros(0, np.float32), np.zeros(0, np.int32)
        withheld = pack_profile(False, empty_f, empty_i, empty_i, np.zeros(0, np.int64), empty_i)
        has_vector = (self.vector_of[users] >= 0).tolist()
        facts = self.facts or _no_facts(len(self.consent))
        (cats, cat_w, cat_b), (brands, brand_w, brand_b) = facts.categories, facts.brands
        for key, user, consent, vector, row, r0, r1, p0, p1, c0, c1, b0, b1 in zip(
                self.key_bytes, users.tolist(), *(c.tolist() for c in columns[:1]), has_vector,
                *(c.tolist() for c in columns[1:]), *(c.tolist() for c in (cat_b[users], cat_b[users + 1],
                                                                          brand_b[users], brand_b[users + 1])),
                strict=True):
            if not consent:
                yield key, withheld
            else:
                yield key, pack_profile(True, self.vectors[row] if vector else empty_f, touched[r0:r1],
                                        bought[p0:p1], bought_at[p0:p1], touches[r0:r1],
                                        facts=facts.facts[user], categories=(cats[c0:c1], cat_w[c0:c1]),
                                        brands=(brands[b0:b1], brand_w[b0:b1]), recent_at=touched_at[r0:r1],
                                        purchase_counts=bought_counts[p0:p1])


def _no_facts(n_users: int) -> Facts:
    empty = (np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(n_users + 1, np.int64))
    return Facts(np.repeat(no_facts(), n_users), empty, empty, None, None, 0)


def profile_records(user_ids: pa.Array, consent: np.ndarray, vectors: np.ndarray,
                    vector_of: np.ndarray, events: UserEvents, recent_items: int,
                    facts: Facts | None = None) -> ProfileRecords:
    """Records for every user, sorted by key bytes: with `facts`, every consenting user has one (an empty
    vector where they have no learned one); without, only those with a vector.

    `vector_of[u]` is the row of `vectors` for user code u, or -1 when the user has none.
    Users without consent get a record that says so and holds nothing else.
    """
    n_users = len(user_ids)
    order = pc.sort_indices(user_ids).to_numpy()  # byte order of the UTF-8 ids, as LMDB sorts keys
    if facts is None:
        order = order[~consent[order] | (vector_of[order] >= 0)]
    keys = user_ids.take(pa.array(order)).cast(pa.binary()).to_pylist()
    return ProfileRecords(key_bytes=keys, users=order, consent=consent, vectors=vectors, vector_of=vector_of,
                          recent=recent_by_user(events, n_users), purchased=purchased_by_user(events, n_users),
                          recent_items=recent_items, facts=facts)
