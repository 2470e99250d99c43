"""LiveStore: the writable ROOT/live environment (protos/live.py) as the server uses it.

`commit` stores batches of checked events in one write transaction (a group commit: LMDB serialises
writers across processes, and `sync` puts the commit on disk before it returns; in a multi-worker
server one writer process calls it, server/writer.py): each event_id is put only if new (a retried
event is a duplicate), and the events are appended to their users' and sessions' overlays (17-byte
entries naming items by code) and added to the trending weights, once per key for the whole group.
`overlay` is the read path: one read transaction, one get per key, no
per-candidate reads. `forget` deletes a user's live events and overlays and writes their deletion
record in one write transaction; `overlay` reads that record in its transaction, and `store` refuses
the events of a forgotten user (docs/privacy.md). lmdb errors become ArtifactError here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import lmdb

from protos import live
from protos.live import LiveEvent, Overlay
from server.errors import ArtifactError

__all__ = ["LiveStore", "Stored", "Forgot", "consented"]

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


def consented(events: list[LiveEvent], may_keep: Callable[[Iterable[str]], dict[str, bool]]) -> list[LiveEvent]:
    """The events that may be kept: anonymous ones, and those of users `may_keep` says consented (one read
    of the profile store for the batch)."""
    allowed = may_keep({e.user_id for e in events if e.user_id})
    return [e for e in events if not e.user_id or allowed[e.user_id]]


_Trends = dict[bytes, tuple[float, int]]  # trending key -> (weight, newest timestamp_ms)


def _trend_weights(events: list[LiveEvent]) -> _Trends:
    """The events' trending weight per trending key (channel byte + item id; channel 0 = all channels) and
    their newest timestamp."""
    added: _Trends = {}
    for e in events:
        weight = live.TRENDING_WEIGHTS[e.type] if 0 < e.type < len(live.TRENDING_WEIGHTS) else 0.0
        item = e.item_id.encode()
        for channel in {0, e.channel}:
            key = bytes((channel,)) + item
            total, at = added.get(key, (0.0, e.timestamp_ms))
            added[key] = (total + weight, max(at, e.timestamp_ms))
    return added


def _add_trends(into: _Trends, added: _Trends) -> _Trends:
    """`into` with `added`'s weights added (in place)."""
    for key, (weight, at) in added.items():
        total, last = into.get(key, (0.0, at))
        into[key] = (total + weight, max(last, at))
    return into


class LiveStore:
    """`trend_every`: seconds the trending weights of committed events may wait in memory before they are
    written (with a later commit, or by `flush_trends`); 0 writes them with their events. The writer
    process waits: every commit would otherwise rewrite most of the trending db's pages. The weights are
    a popularity signal, not acknowledged data: a writer killed -9 loses at most that much of them."""

    def __init__(self, root: Path, trend_every: float = 0.0) -> None:
        try:
            self._env = live.open_live(root)
            self._events = self._env.open_db(live.DB_EVENTS)
            self._users = self._env.open_db(live.DB_USERS)
            self._sessions = self._env.open_db(live.DB_SESSIONS)
            self._item_codes = self._env.open_db(live.DB_ITEM_CODES)
            self._code_items = self._env.open_db(live.DB_CODE_ITEMS)
            self._meta = self._env.open_db(live.DB_META)
            self._trending = self._env.open_db(live.DB_TRENDING)
            self._forgotten = self._env.open_db(live.DB_FORGOTTEN)
        except lmdb.Error as exc:
            raise ArtifactError(f"live store {root / live.LIVE_DIR}: cannot open: {exc}") from exc
        # Item code -> id, read from code_items as overlays name new codes (codes never change).
        self._names: list[str] = []
        self._names_lock = threading.Lock()
        self._trend_every = trend_every
        self._trend_pending: _Trends = {}  # committed events' weights not yet written
        self._trend_written = time.monotonic()

    def store(self, events: list[LiveEvent], may_keep: Callable[[Iterable[str]], dict[str, bool]]) -> Stored:
        """Commit the new events of `events`; those of users for whom `may_keep(user_ids)` says false (no
        consent) or who were forgotten are not stored at all."""
        keep = consented(events, may_keep)
        stored = self.commit([keep])[0]
        return Stored(stored.accepted, stored.duplicates, stored.not_stored + len(events) - len(keep))

    def commit(self, batches: list[list[LiveEvent]], records: list[list[bytes]] | None = None) -> list[Stored]:
        """Commit several batches (of users who consented) in one write transaction, one fsync: per batch,
        its new events, its duplicates, and the events of forgotten users left out. Each batch keeps its
        own sequence number; overlays and trending weights are read and written once per key for all.
        `records`: the events' EVENT records when the caller has them (the writer receives them packed)."""
        try:
            with self._env.begin(write=True) as txn:
                seq = live.read_seq(txn, self._meta)
                # Read in the write transaction: a ForgetUser committed before it is never missed.
                users = {e.user_id for batch in batches for e in batch if e.user_id}
                forgotten = {u for u in users if txn.get(u.encode(), db=self._forgotten) is not None}
                answers, fresh = [], []
                for k, batch in enumerate(batches):
                    packed = records[k] if records is not None else [live.pack_event(e) for e in batch]
                    pairs = [(e, r) for e, r in zip(batch, packed, strict=True) if e.user_id not in forgotten]
                    keep = [e for e, _ in pairs]
                    new = [e for e, r in pairs if txn.put(e.event_id.encode(), r, db=self._events, overwrite=False)]
                    if new:
                        seq += 1
                        fresh.append((seq, new))
                    answers.append(Stored(len(new), len(keep) - len(new), len(batch) - len(keep)))
                added = _trend_weights([e for _, new in fresh for e in new])
                write_trends = time.monotonic() - self._trend_written >= self._trend_every
                if fresh:
                    txn.put(live.SEQ_KEY, seq.to_bytes(8, "little"), db=self._meta)
                    self._append(txn, fresh)
                if write_trends:
                    self._write_trends(txn, _add_trends(dict(self._trend_pending), added))
        except lmdb.Error as exc:
            raise ArtifactError(f"live store write failed: {type(exc).__name__}: {exc}") from exc
        if write_trends:  # only once the transaction holding them committed
            self._trend_pending, self._trend_written = {}, time.monotonic()
        else:
            _add_trends(self._trend_pending, added)
        return answers

    def flush_trends(self) -> None:
        """Write the trending weights still waiting in memory (`trend_every`)."""
        if not self._trend_pending:
            return
        try:
            with self._env.begin(write=True) as txn:
                self._write_trends(txn, self._trend_pending)
        except lmdb.Error as exc:
            raise ArtifactError(f"live store write failed: {type(exc).__name__}: {exc}") from exc
        self._trend_pending, self._trend_written = {}, time.monotonic()

    def _append(self, txn: lmdb.Transaction, fresh: list[tuple[int, list[LiveEvent]]]) -> None:
        """Append each batch's events to their users' and sessions' overlays: one get and one put per key."""
        codes = self._codes(txn, {e.item_id for _, new in fresh for e in new})
        users: dict[str, list[bytes]] = defaultdict(list)
        sessions: dict[str, list[bytes]] = defaultdict(list)
        for seq, new in fresh:
            for e in new:
                entry = live.overlay_entry(e.timestamp_ms, seq, codes[e.item_id], e.type)
                if e.user_id:
                    users[e.user_id].append(entry)
                if e.session_id:
                    sessions[e.session_id].append(entry)
        for db, by_key in ((self._users, users), (self._sessions, sessions)):
            for owner, entries in by_key.items():
                k = owner.encode()
                txn.put(k, live.append_overlay(txn.get(k, db=db), b"".join(entries)), db=db)

    def _codes(self, txn: lmdb.Transaction, items: set[str]) -> dict[str, int]:
        """The item code of each of `items`, new items given the next free codes."""
        codes, next_code = {}, None
        for item in items:
            raw = txn.get(item.encode(), db=self._item_codes)
            if raw is None:
                next_code = txn.stat(self._code_items)["entries"] if next_code is None else next_code
                raw = next_code.to_bytes(4, "little")
                txn.put(item.encode(), raw, db=self._item_codes)
                txn.put(live.code_key(next_code), item.encode(), db=self._code_items, append=True)
                next_code += 1
            codes[item] = int.from_bytes(raw, "little")
        return codes

    def _write_trends(self, txn: lmdb.Transaction, added: _Trends) -> None:
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
        `forgotten` when they asked to be forgotten (read in the same transaction, as are the ids of item
        codes this process has not seen yet)."""
        try:
            with self._env.begin(buffers=False) as txn:
                user = txn.get(user_id.encode(), db=self._users) if user_id else None
                forgotten = bool(user_id) and txn.get(user_id.encode(), db=self._forgotten) is not None
                session = txn.get(session_id.encode(), db=self._sessions) if session_id else None
                self._learn_names(txn, user, session)
        except lmdb.Error as exc:
            raise ArtifactError(f"live store read failed: {type(exc).__name__}") from exc
        mine = Overlay(forgotten=True) if forgotten else live.unpack_overlay(user, self._names, after_seq)
        return mine, live.unpack_overlay(session, self._names, after_seq)

    def _learn_names(self, txn: lmdb.Transaction, *records: bytes | None) -> None:
        """Extend the code -> id cache up to the highest code in `records` (a cursor walk, in code order)."""
        top = max((live.highest_code(r) for r in records if r), default=-1)
        if top < len(self._names):
            return
        with self._names_lock:
            cursor = txn.cursor(db=self._code_items)
            if cursor.set_range(live.code_key(len(self._names))):
                for _, item in cursor:
                    self._names.append(bytes(item).decode())
                    if len(self._names) > top:
                        break

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
