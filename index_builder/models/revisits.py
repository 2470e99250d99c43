"""How often a store's shoppers come back to items they already touched.

The revisit share is, over the events of consenting known users outside each user's first
session, the share whose item that user touched in an earlier session. On MovieLens (a session
is a day of ratings) nobody rates a film twice: 0. In a shop people look at a product several
times before they buy it and restock what they use up: the demo store's is about 0.5. The server
leaves a shopper's history out of Recommend only where it is low (RankingPolicy.exclude_seen_below).
"""

from __future__ import annotations

import numpy as np

__all__ = ["revisit_share"]


def _first_of_group(keys: np.ndarray, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: `values` at the earliest row (by ts) with the same key."""
    order = np.lexsort((ts, keys))
    starts = np.flatnonzero(np.concatenate(([True], keys[order][1:] != keys[order][:-1])))
    out = np.empty(len(keys), dtype=values.dtype)
    out[order] = np.repeat(values[order][starts], np.diff(np.append(starts, len(keys))))
    return out


def revisit_share(user: np.ndarray, item: np.ndarray, session: np.ndarray, ts: np.ndarray, n_items: int) -> float:
    """The revisit share of the events given as parallel arrays (user codes >= 0); 0 without repeat sessions."""
    if len(user) == 0:
        return 0.0
    pair = user.astype(np.int64) * n_items + item
    revisit = session != _first_of_group(pair, ts, session)
    later = session != _first_of_group(user.astype(np.int64), ts, session)
    return float(revisit[later].mean()) if later.any() else 0.0
