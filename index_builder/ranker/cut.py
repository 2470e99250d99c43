"""Where a shopper's log is cut to ask the learned ranker's question: the events before the cut are what the
shopper had done, the events after it are what they did next (the labels).

The cut must mirror the question served (docs/ranker.md: a model trained on one cut and asked another fell to
popularity level): `tailor evaluate` cuts its held-out part with these same functions, and the builder cuts
its training shoppers with them.

  tail_share    per user, the rows whose per-user percentile rank of a key is above a share (the last 25 % by
                time; a random 25 % by a seeded draw)
  last_basket   per user with at least two sessions, the last basket: the user's last session with a purchase
                (every session when nothing is bought) and everything the user did after it began
  label_rows    the rows after the cut for one of CUTS

Pure arrays over the coded events: no Python loop per user or event.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CUTS", "TAIL", "tail_share", "last_basket", "label_rows", "resolve"]

# "auto": last-basket where the log has purchases, else time.
CUTS = ("auto", "time", "last-basket", "random", "session")
TAIL = 0.25  # the share of each user's events after a time or random cut


def _positions(user: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: its 1-based position among its user's rows ordered by key (ties in row order), and that user's
    number of rows."""
    order = np.lexsort((np.arange(len(user)), key, user))
    counts = np.bincount(user, minlength=int(user.max()) + 1 if len(user) else 0)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    position = np.empty(len(user), dtype=np.int64)
    position[order] = np.arange(len(user)) - starts[user[order]] + 1
    return position, counts[user]


def tail_share(user: np.ndarray, key: np.ndarray, keep: float) -> np.ndarray:
    """Rows whose per-user percentile rank of `key` is above `keep` (pandas' rank(pct=True) for distinct keys)."""
    position, total = _positions(user, key)
    return position / total > keep


def last_basket(user: np.ndarray, session: np.ndarray, ts: np.ndarray,
                bought: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows after the cut, the basket's purchases — its truth —, the basket session's rows) for each user with
    at least two sessions (module docstring); `user` >= 0 codes, `session` codes, `ts` any time unit."""
    if not len(user):
        empty = np.zeros(0, dtype=bool)
        return empty, empty, empty
    baskets = bought if bought.any() else np.ones(len(user), dtype=bool)
    order = np.lexsort((np.arange(len(user)), ts, user))
    order = order[baskets[order]]
    n_users = int(user.max()) + 1
    last = np.full(n_users, -1, dtype=np.int64)
    last[user[order]] = session[order]  # later rows overwrite earlier ones: the latest basket's session wins
    start = np.full(n_users, np.iinfo(np.int64).max)
    in_last = session == last[user]
    np.minimum.at(start, user[in_last], ts[in_last])
    width = int(session.max()) + 1
    pairs = np.unique(user * width + session)
    sessions_of = np.bincount(pairs // width, minlength=n_users)
    evaluated = (last[user] >= 0) & (sessions_of[user] >= 2)
    out = evaluated & (in_last | (ts > start[user]))
    return out, evaluated & in_last & baskets, evaluated & in_last


def resolve(cut: str, bought: np.ndarray) -> str:
    """The cut "auto" stands for on this log: last-basket with purchases, else time."""
    if cut != "auto":
        return cut
    return "last-basket" if bought.any() else "time"


def label_rows(cut: str, user: np.ndarray, session: np.ndarray, ts: np.ndarray, bought: np.ndarray,
               seed: int) -> np.ndarray:
    """Per row (`user` >= 0 codes), whether it lies after the cut (one of CUTS but "auto": see `resolve`)."""
    if cut == "time":
        return tail_share(user, ts.astype(np.float64), 1 - TAIL)
    if cut == "random":
        return tail_share(user, np.random.default_rng(seed).random(len(user)), 1 - TAIL)
    if cut == "last-basket":
        return last_basket(user, session, ts, bought)[0]
    if cut == "session":
        return last_basket(user, session, ts, np.zeros(len(user), dtype=bool))[0]
    raise ValueError(f"cut: must be one of {', '.join(CUTS[1:])}, got {cut!r}")
