"""LiveStore: the writable ROOT/live environment (protos/live.py) as the server uses it.

`commit` stores batches of checked events in one write transaction (a group commit: LMDB serialises
writers across processes, and `sync` puts the commit on disk before it returns; in a multi-worker
server one writer process calls it, server/live/writer.py): each event_id is put only if new (a retried
event is a duplicate), and each batch appends one record to the overlay log (item ids as codes) and
its events' weights to the trending weights. `overlay` is the read path: one read transaction that
replays the log records this process has not applied into its in-memory overlays
(server/live/replay.py) and reads the user's deletion record; no per-candidate reads. `forget` deletes
a user's live events, takes them out of the overlay log, and writes their deletion record and a
forget log record, in one write transaction; `commit` refuses the events of a forgotten user
(docs/privacy.md). lmdb errors become ArtifactError here.
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
import numpy as np

from protos import live
from protos.live import LiveEvent, Overlay
from server.errors import ArtifactError
from server.live.replay import TRIM_AFTER_SECONDS, OverlayMemory

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

    def __init__(self, root: Path, trend_every: float = 0.0, trim_after: float = TRIM_AFTER_SECONDS) -> None:
        try:
            self._env = live.open_live(root)
            self._events = self._env.open_db(live.DB_EVENTS)
            self._log = self._env.open_db(live.DB_LOG)
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
        self._overlays = OverlayMemory(trim_after)
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
        its new events, its duplicates, and the events of forgotten users left out. Each batch with new
        events gets its own sequence number and overlay log record; trending weights are added once per
        key for all (`trend_every`). `records`: the events' EVENT records when the caller has them (the
        writer receives them packed)."""
        try:
            with self._env.begin(write=True) as txn:
                answers, fresh = self._put_events(txn, batches, records)
                added = _trend_weights([e for _, new in fresh for e in new])
                write_trends = time.monotonic() - self._trend_written >= self._trend_every
                if fresh:
                    txn.put(live.SEQ_KEY, fresh[-1][0].to_bytes(8, "little"), db=self._meta)
                    self._log_batches(txn, fresh)
                if write_trends:
                    self._write_trends(txn, _add_trends(dict(self._trend_pending), added))
        except lmdb.Error as exc:
            raise ArtifactError(f"live store write failed: {type(exc).__name__}: {exc}") from exc
        if write_trends:  # only once the transaction holding them committed
            self._trend_pending, self._trend_written = {}, time.monotonic()
        else:
            _add_trends(self._trend_pending, added)
        return answers

    def _put_events(self, txn: lmdb.Transaction, batches: list[list[LiveEvent]], records: list[list[bytes]] | None,
                    ) -> tuple[list[Stored], list[tuple[int, list[LiveEvent]]]]:
        """Put each batch's new events; their counts, and (seq, new events) of each batch with any."""
        seq = live.read_seq(txn, self._meta)
        # Read in the write transaction: a ForgetUser committed before it is never missed.
        users = {e.user_id for batch in batches for e in batch if e.user_id}
        forgotten = {u for u in users if txn.get(u.encode(), db=self._forgotten) is not None}
        answers, fresh = [], []
        for k, batch in enumerate(batches):
            packed = records[k] if records is not None else [live.pack_event(e) for e in batch]
            pairs = [(e, r) for e, r in zip(batch, packed, strict=True) if e.user_id not in forgotten]
            new = [e for e, r in pairs if txn.put(e.event_id.encode(), r, db=self._events, overwrite=False)]
            if new:
                seq += 1
                fresh.append((seq, new))
            answers.append(Stored(len(new), len(pairs) - len(new), len(batch) - len(pairs)))
        return answers, fresh

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

    def _log_batches(self, txn: lmdb.Transaction, fresh: list[tuple[int, list[LiveEvent]]]) -> None:
        """One overlay log record per batch (appended: the log's pages are written in order)."""
        codes = self._codes(txn, {e.item_id for _, new in fresh for e in new})
        for seq, new in fresh:
            record = live.pack_log_events((e.timestamp_ms, codes[e.item_id], e.type, e.user_id.encode(),
                                           e.session_id.encode()) for e in new)
            txn.put(live.log_key(seq), record, db=self._log, append=True)

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
        records: dict[int, list[tuple[float, int, str]]] = defaultdict(list)
        try:
            with self._env.begin() as txn:
                for key, value in txn.cursor(db=self._trending).iternext():
                    raw = bytes(key)
                    records[raw[0]].append((*live.unpack_trend(value), raw[1:].decode()))
        except lmdb.Error as exc:
            raise ArtifactError(f"live store read failed: {type(exc).__name__}") from exc
        out = {}
        for channel, rows in records.items():
            scores, at_ms, items = zip(*rows, strict=True)
            weights = live.rank_trends(np.array(scores), np.array(at_ms, dtype=np.int64), now_ms).tolist()
            out[channel] = [item for _, item in sorted(zip(weights, items, strict=True), reverse=True)[:k]]
        return out

    def overlay(self, user_id: str, session_id: str = "", after_seq: int = 0) -> tuple[Overlay, Overlay]:
        """The user's and the session's live interactions not yet folded into the served version (those
        committed after batch `after_seq`, manifest.live_seq); empty when none. One read transaction: it
        replays the overlay log records this process has not applied (server/live/replay.py), reads the
        user's deletion record (their overlay then says `forgotten`) and the ids of item codes this
        process has not seen yet."""
        user_key, session_key = user_id.encode(), session_id.encode()
        try:
            with self._env.begin(buffers=False) as txn:
                self._overlays.catch_up(txn, self._log, live.read_seq(txn, self._meta), after_seq)
                forgotten = bool(user_id) and txn.get(user_key, db=self._forgotten) is not None
                user, session = self._overlays.records(user_key, session_key)
                self._learn_names(txn, user, session)
        except lmdb.Error as exc:
            raise ArtifactError(f"live store read failed: {type(exc).__name__}") from exc
        mine = Overlay(forgotten=True) if forgotten else live.unpack_overlay(user, self._names, after_seq)
        return mine, live.unpack_overlay(session, self._names, after_seq)

    def follow(self, after_seq: int) -> None:
        """Replay the overlay log records committed since the last read (a worker's background follower
        calls this every few milliseconds, so no request ever waits for a long replay), and drop what
        the current version (`after_seq`: its live_seq) folded once it has been current for a while."""
        try:
            with self._env.begin(buffers=False) as txn:
                self._overlays.catch_up(txn, self._log, live.read_seq(txn, self._meta), after_seq)
        except lmdb.Error as exc:
            raise ArtifactError(f"live store read failed: {type(exc).__name__}") from exc
        self._overlays.trim(after_seq)

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
                self._purge_log(txn, key, sessions)
                seq = live.read_seq(txn, self._meta) + 1
                txn.put(live.SEQ_KEY, seq.to_bytes(8, "little"), db=self._meta)
                txn.put(key, live.pack_forgotten(at, seq), db=self._forgotten)
                txn.put(live.log_key(seq), live.pack_log_forget(key, sorted(sessions)), db=self._log, append=True)
        except lmdb.Error as exc:
            raise ArtifactError(f"live store write failed: {type(exc).__name__}: {exc}") from exc
        log.info("user_forgotten live_events_deleted=%d sessions_deleted=%d seq=%d", len(doomed), len(sessions), seq)
        return Forgot(len(doomed), False)

    def _purge_log(self, txn: lmdb.Transaction, user: bytes, sessions: set[bytes]) -> None:
        """Take the user's entries and their sessions' out of every overlay log record: their own and the
        anonymous ones go, another user's entry in one of those sessions stays with that user only."""
        for seq_key, record in list(txn.cursor(db=self._log).iternext()):
            if bytes(record[:1]) != bytes((live.LOG_EVENTS,)):
                continue
            entries = live.log_events(bytes(record))
            kept = [(at, code, kind, owner, b"" if session in sessions else session)
                    for at, code, kind, owner, session in entries
                    if owner != user and (owner or session not in sessions)]
            if kept != entries:
                txn.put(bytes(seq_key), live.pack_log_events(kept), db=self._log)

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
