"""Per-user profile records: vector, recent items, purchased items, consent.

Everything is computed with vectorised sorts over the event arrays; the only
per-user Python work is slicing and packing the record bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from protos.artifact import pack_profile

__all__ = ["UserEvents", "profile_records"]


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


def _recent(events: UserEvents, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct items per user ordered by last touch; user u's slice is bounds[u]:bounds[u+1]."""
    order = np.lexsort((events.ts, events.item, events.user))
    user, item = events.user[order], events.item[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (user[1:] != user[:-1]) | (item[1:] != item[:-1])
    picked = order[last]
    picked = picked[np.lexsort((events.ts[picked], events.user[picked]))]
    bounds = _segments(events.user[picked], n_users)
    return events.item[picked], bounds


def _purchased(events: UserEvents, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct purchased items per user, sorted; user u's slice is bounds[u]:bounds[u+1]."""
    pairs = np.unique((events.user[events.purchase].astype(np.int64) << 32) | events.item[events.purchase])
    return (pairs & 0xFFFFFFFF).astype(np.int32), _segments(pairs >> 32, n_users)


def profile_records(user_ids: list[str], consent: np.ndarray, vectors: np.ndarray,
                    vector_of: np.ndarray, events: UserEvents, recent_items: int) -> Iterator[tuple[bytes, bytes]]:
    """(user id, record) for every user with consent=false or with events, sorted by key bytes.

    `vector_of[u]` is the row of `vectors` for user code u, or -1 when the user has none.
    Users without consent get a record that says so and holds nothing else.
    """
    n_users = len(user_ids)
    touched, bounds = _recent(events, n_users)
    bought, bought_starts = _purchased(events, n_users)
    keys = [u.encode("utf-8") for u in user_ids]
    empty_f, empty_i = np.zeros(0, np.float32), np.zeros(0, np.int32)
    for u in sorted(range(n_users), key=keys.__getitem__):
        if not consent[u]:
            yield keys[u], pack_profile(False, empty_f, empty_i, empty_i)
        elif vector_of[u] >= 0:
            recent = touched[max(bounds[u + 1] - recent_items, bounds[u]):bounds[u + 1]]
            purchased = bought[bought_starts[u]:bought_starts[u + 1]]
            yield keys[u], pack_profile(True, vectors[vector_of[u]], recent, purchased)

