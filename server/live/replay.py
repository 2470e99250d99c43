"""OverlayMemory: a worker's OVERLAY records of users and sessions, replayed from the live store's
overlay log (protos/live.py).

The writer appends one LOG record per committed batch (and ForgetUser one per forget); a request's
read transaction first replays the records this worker has not applied yet — in that same
transaction, so what it then reads (the overlays, the user's deletion record) is one consistent
state — and reads the overlays from memory. Storing the overlays instead rewrote an LMDB page per
user and per session on every append (~6 kB per event, most of the writer's cost).

The memory holds what was committed after the served version's live_seq (the builder folded the
rest): a request whose version folded less than the memory's start replays from its live_seq. Once
a newer version has been served for TRIM_AFTER_SECONDS (no request of the old one is left in
flight), `trim` drops the entries it folded, so memory holds the unfolded tail only.
Records are immutable bytes replaced on append, so a reader never sees half an update.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import lmdb
import numpy as np

from protos import live

__all__ = ["OverlayMemory", "TRIM_AFTER_SECONDS"]

TRIM_AFTER_SECONDS = 60.0


class OverlayMemory:
    def __init__(self, trim_after: float = TRIM_AFTER_SECONDS) -> None:
        self._trim_after = trim_after
        self._seen: tuple[int, float] = (0, 0.0)  # the newest live_seq `trim` was given, and since when
        self._lock = threading.Lock()
        self._users: dict[bytes, bytes] = {}
        self._sessions: dict[bytes, bytes] = {}
        self._start: int | None = None  # batches up to this one are not replayed (folded into the version)
        self._applied = 0  # batches up to this one are in memory

    def catch_up(self, txn: lmdb.Transaction, log_db: Any, seq: int, after_seq: int) -> None:
        """Apply the log records up to `seq` (the store's sequence in `txn`) that are not in memory yet;
        start over from `after_seq` when memory starts later than that."""
        if self._start is not None and self._start <= after_seq and self._applied >= seq:
            return
        with self._lock:
            if self._start is None or after_seq < self._start:
                self._users, self._sessions = {}, {}
                self._start = self._applied = after_seq
            if self._applied >= seq:
                return
            cursor = txn.cursor(db=log_db)
            if cursor.set_range(live.log_key(self._applied + 1)):
                for key, record in cursor:
                    batch = int.from_bytes(key, "big")
                    if batch > seq:
                        break
                    self._apply(batch, bytes(record))
            self._applied = seq

    def _apply(self, batch: int, record: bytes) -> None:
        users, sessions = self._users, self._sessions
        if record[0] == live.LOG_FORGET:  # as LiveStore.forget: the user and the sessions they were in
            user, gone = live.log_forget(record)
            users.pop(user, None)
            for session in gone:
                sessions.pop(session, None)
            return
        for at, code, kind, user, session in live.log_events(record):
            entry = live.overlay_entry(at, batch, code, kind)
            if user:
                users[user] = live.append_overlay(users.get(user), entry)
            if session:
                sessions[session] = live.append_overlay(sessions.get(session), entry)

    def trim(self, after_seq: int) -> None:
        """Drop the entries of batches up to `after_seq` (the current version's live_seq) once it has
        been the current one for `trim_after` seconds."""
        now = time.monotonic()
        if after_seq != self._seen[0]:
            self._seen = (after_seq, now)
        if self._start is None or after_seq <= self._start or now - self._seen[1] < self._trim_after:
            return
        with self._lock:
            for records in (self._users, self._sessions):
                for key, record in list(records.items()):
                    entries = np.frombuffer(record, dtype=live.ENTRY)
                    kept = entries[entries["seq"] > after_seq]
                    if len(kept) == len(entries):
                        continue
                    if len(kept):
                        records[key] = kept.tobytes()
                    else:
                        del records[key]
            self._start = after_seq

    def records(self, user_id: bytes, session_id: bytes) -> tuple[bytes | None, bytes | None]:
        """The user's and the session's OVERLAY records (None when they have none)."""
        return (self._users.get(user_id) if user_id else None,
                self._sessions.get(session_id) if session_id else None)
