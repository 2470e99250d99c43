"""LiveStore: the writable ROOT/live environment (protos/live.py) as the server uses it.

`store` commits a batch of checked events in one write transaction (LMDB serialises writers across
the worker processes; `sync` puts the commit on disk before it returns): each event_id is put only
if new (a retried event is a duplicate), and the events' users' and sessions' overlays are
rewritten with them. `overlay` is the read path: one read transaction, one get per key, no
per-candidate reads. `forget` deletes a user's live events and overlays and writes their deletion
record in one write transaction; `overlay` reads that record in its transaction, and `store` refuses
the events of a forgotten user (docs/privacy.md). lmdb errors become ArtifactError here.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb

from protos import live
from protos.live import LiveEvent, Overlay
from server.errors import ArtifactError

__all__ = ["LiveStore", "Stored", "Forgot"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stored:
    accepted: int
    duplicates: int
    not_stored: int


@dataclass(frozen=True, slots=True)
class Forgot:
    live_events_deleted: int
    already_forgotten: bool


class LiveStore:
    def __init__(self, root: Path) -> None:
        try:
            self._env = live.open_live(root)
            self._events = self._env.open_db(live.DB_EVENTS)
            self._users = self._env.open_db(live.DB_USERS)
            self._sessions = self._env.open_db(live.DB_SESSIONS)
            self._meta = self._env.open_db(live.DB_META)
            self._trending = self._env.open_db(live.DB_TRENDING)
            self._forgotten = self._env.open_db(live.DB_FORGOTTEN)
        except lmdb.Error as exc:
            raise ArtifactError(f"live store {root / live.LIVE_DIR}: cannot open: {exc}") from exc

    def store(self, events: list[LiveEvent], may_keep: Callable[[Iterable[str]], dict[str, bool]]) -> Stored:
        """Commit the new events of `events`; those of users for whom `may_keep(user_ids)` says false (no
        consent) or who were forgotten are not stored at all."""
        allowed = may_keep({e.user_id for e in events if e.user_id})  # one read of the profile store
        fresh: list[LiveEvent] = []
        try:
            with self._env.begin(write=True) as txn:
                # Read in the write transaction: a ForgetUser committed before it is never missed.
                for user in [u for u, ok in allowed.items() if ok]:
                    allowed[user] = txn.get(user.encode(), db=self._forgotten) is None
                keep = [e for e in events if not e.user_id or allowed[e.user_id]]
                for e in keep:
                    if txn.put(e.event_id.encode(), live.pack_event(e), db=self._events, overwrite=False):
                        fresh.append(e)
                if fresh:
                    seq = live.read_seq(txn, self._meta) + 1
                    txn.put(live.SEQ_KEY, seq.to_bytes(8, "little"), db=self._meta)
                    self._append(txn, self._users, fresh, lambda e: e.user_id, seq)
                    self._append(txn, self._sessions, fresh, lambda e: e.session_id, seq)
                    self._trend(txn, fresh)
        except lmdb.Error as exc:
            raise ArtifactError(f"live store write failed: {type(exc).__name__}: {exc}") from exc
        return Stored(len(fresh), len(keep) - len(fresh), len(events) - len(keep))

    @staticmethod
    def _append(txn: lmdb.Transaction, db: Any, events: list[LiveEvent], key: Callable[[LiveEvent], str],
                seq: int) -> None:
        by_key: dict[str, list[LiveEvent]] = defaultdict(list)
        for e in events:
            if key(e):
                by_key[key(e)].append(e)
        for name, added in by_key.items():
            k = name.encode()
            txn.put(k, live.append_overlay(txn.get(k, db=db), live.overlay_entries(added, seq)), db=db)

    def _trend(self, txn: lmdb.Transaction, events: list[LiveEvent]) -> None:
        """Add the events to their items' trending weights, per channel and over all channels (0)."""
        added: dict[bytes, tuple[float, int]] = {}
        for e in events:
            weight = live.TRENDING_WEIGHTS[e.type] if 0 < e.type < len(live.TRENDING_WEIGHTS) else 0.0
            for channel in {0, e.channel}:
                key = bytes((channel,)) + e.item_id.encode()
                total, at = added.get(key, (0.0, e.timestamp_ms))
                added[key] = (total + weight, max(at, e.timestamp_ms))
        for key, (weight, at) in added.items():
            txn.put(key, live.add_trend(txn.get(key, db=self._trending), weight, at), db=self._trending)

    def trending(self, now_ms: int, k: int) -> dict[int, list[str]]:
        """Per channel (0 = all), the k items with the most decayed live event weight at `now_ms`, best
        first (a scan of the trending db: for a periodic refresh, not per request)."""
        scores: dict[int, list[tuple[float, str]]] = defaultdict(list)
        try:
            with self._env.begin() as txn:
                for key, value in txn.cursor(db=self._trending).iternext():
                    raw = bytes(key)
                    scores[raw[0]].append((live.trend_now(value, now_ms), raw[1:].decode()))
        except lmdb.Error as exc:
            raise ArtifactError(f"live store read failed: {type(exc).__name__}") from exc
        return {channel: [item for _, item in sorted(pairs, reverse=True)[:k]] for channel, pairs in scores.items()}

    def overlay(self, user_id: str, session_id: str = "", after_seq: int = 0) -> tuple[Overlay, Overlay]:
        """The user's and the session's live interactions not yet folded into the served version (those
        committed after batch `after_seq`, manifest.live_seq); empty when none. The user's overlay says
        `forgotten` when they asked to be forgotten (read in the same transaction)."""
        try:
            with self._env.begin(buffers=False) as txn:
                user = txn.get(user_id.encode(), db=self._users) if user_id else None
                forgotten = bool(user_id) and txn.get(user_id.encode(), db=self._forgotten) is not None
                session = txn.get(session_id.encode(), db=self._sessions) if session_id else None
        except lmdb.Error as exc:
            raise ArtifactError(f"live store read failed: {type(exc).__name__}") from exc
        mine = Overlay(forgotten=True) if forgotten else live.unpack_overlay(user, after_seq)
        return mine, live.unpack_overlay(session, after_seq)

    def forget(self, user_id: str, now_ms: int | None = None) -> Forgot:
        """Delete `user_id`'s live events, their overlay, and the sessions they had events in (overlays and
        anonymous events), and write their deletion record, in one write transaction (on disk before it
        returns).
        Idempotent: a user already forgotten changes nothing. The events are found by one scan of the
        events db (ForgetUser is rare; the scan holds the store's write lock meanwhile)."""
        key = user_id.encode()
        at = round(time.time() * 1000) if now_ms is None else now_ms
        try:
            with self._env.begin(write=True) as txn:
                if txn.get(key, db=self._forgotten) is not None:
                    return Forgot(0, True)
                doomed, sessions = self._events_of(txn, lambda owner, _: owner == key)
                if sessions:  # and the anonymous events of their sessions (before they signed in, say)
                    doomed += self._events_of(txn, lambda owner, session: not owner and session in sessions)[0]
                for event_id in doomed:
                    txn.delete(event_id, db=self._events)
                txn.delete(key, db=self._users)
                for session in sessions:
                    txn.delete(session, db=self._sessions)
                seq = live.read_seq(txn, self._meta) + 1
                txn.put(live.SEQ_KEY, seq.to_bytes(8, "little"), db=self._meta)
                txn.put(key, live.pack_forgotten(at, seq), db=self._forgotten)
        except lmdb.Error as exc:
            raise ArtifactError(f"live store write failed: {type(exc).__name__}: {exc}") from exc
        log.info("user_forgotten live_events_deleted=%d sessions_deleted=%d seq=%d", len(doomed), len(sessions), seq)
        return Forgot(len(doomed), False)

    def _events_of(self, txn: lmdb.Transaction,
                   chosen: Callable[[bytes, bytes], bool]) -> tuple[list[bytes], set[bytes]]:
        """The ids of the stored events whose (user_id, session_id) bytes are `chosen`, and their sessions."""
        ids, sessions = [], set()
        for event_id, record in txn.cursor(db=self._events).iternext():
            owner, session = live.event_owner(record)
            if chosen(owner, session):
                ids.append(bytes(event_id))
                if session:
                    sessions.add(session)
        return ids, sessions

    def is_forgotten(self, user_id: str) -> bool:
        try:
            with self._env.begin() as txn:
                return txn.get(user_id.encode(), db=self._forgotten) is not None
        except lmdb.Error as exc:
            raise ArtifactError(f"live store read failed: {type(exc).__name__}") from exc

    def event_ids(self) -> set[str]:
        """Every stored event id (operators and tests; a scan of the whole log)."""
        try:
            with self._env.begin() as txn:
                return {bytes(k).decode() for k in txn.cursor(db=self._events).iternext(values=False)}
        except lmdb.Error as exc:
            raise ArtifactError(f"live store read failed: {type(exc).__name__}") from exc

    def close(self) -> None:
        self._env.close()
