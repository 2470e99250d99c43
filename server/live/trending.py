"""TrendingCache: per channel, the rows trending in the live store (TrackEvents), for the top-up of a
visitor without a profile: what is being viewed and bought right now, ahead of the build's lists.

The live store keeps a time-decayed weight per (channel, item) (protos/live.py, half-life
TRENDING_HALF_LIFE_MS). Ranking the items means scanning those weights, so it is not done per request:
the first request after REFRESH_SECONDS (or after a version swap: rows belong to one catalog) rescans,
under a lock, while the others keep using the previous lists.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from server.live.store import LiveStore
from server.runtime.snapshot import Snapshot

__all__ = ["REFRESH_SECONDS", "TRENDING_ITEMS", "TrendingCache"]

log = logging.getLogger(__name__)
REFRESH_SECONDS = 5.0
TRENDING_ITEMS = 100
_NONE = np.zeros(0, dtype=np.int64)


class TrendingCache:
    def __init__(self, live: LiveStore, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._live = live
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._version = ""
        self._at = -float("inf")
        self._rows: dict[int, np.ndarray] = {}

    def rows(self, snapshot: Snapshot, channel: int) -> np.ndarray:
        """The channel's trending rows in `snapshot`'s catalog, in stock, best first (all channels' when the
        channel has none); empty when nothing is trending."""
        stale = snapshot.version != self._version or time.monotonic() - self._at > self._refresh
        if stale and self._lock.acquire(blocking=False):
            try:
                self._rows = self._scan(snapshot)
                self._version, self._at = snapshot.version, time.monotonic()
            finally:
                self._lock.release()
        if snapshot.version != self._version:
            return _NONE
        rows = self._rows.get(channel)
        return rows if rows is not None and len(rows) else self._rows.get(0, _NONE)

    def _scan(self, snapshot: Snapshot) -> dict[int, np.ndarray]:
        catalog = snapshot.catalog
        out = {}
        for channel, ids in self._live.trending(round(time.time() * 1000), TRENDING_ITEMS).items():
            rows = catalog.rows_of(tuple(ids))
            rows = rows[rows >= 0]
            out[channel] = rows[catalog.in_stock[rows]]
        log.debug("trending_refreshed version=%s channels=%d", snapshot.version, len(out))
        return out
