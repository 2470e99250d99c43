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


def revisit_share(user: np.ndarray, item: np.ndarray, session: np.ndarray, ts: np.ndarray, n_items: int) -> float:
    """The revisit share of the events given as parallel arrays (user codes >= 0); 0 without repeat sessions."""
    if len(user) == 0:
        return 0.0
    pair = user.astype(np.int64) * n_items + item
    by_pair = np.lexsort((ts, pair))
    first_of_pair = np.ones(len(pair), dtype=bool)
    first_of_pair[1:] = pair[by_pair][1:] != pair[by_pair][:-1]
    starts = np.flatnonzero(first_of_pair)
    first_session = np.repeat(session[by_pair][starts], np.diff(np.append(starts, len(pair))))
    revisit = np.empty(len(pair), dtype=bool)
    revisit[by_pair] = session[by_pair] != first_session
    by_user = np.lexsort((ts, user))
    first_of_user = np.ones(len(user), dtype=bool)
    first_of_user[1:] = user[by_user][1:] != user[by_user][:-1]
    user_starts = np.flatnonzero(first_of_user)
    first_user_session = np.repeat(session[by_user][user_starts], np.diff(np.append(user_starts, len(user))))
    later = np.empty(len(user), dtype=bool)
    later[by_user] = session[by_user] != first_user_session
    return float(revisit[later].mean()) if later.any() else 0.0
