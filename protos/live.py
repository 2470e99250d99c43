"""The live store: ROOT/live/, events acknowledged by TrackEvents, shared by the server (which writes
it, from every worker) and the builder (which folds it into the next version).

ROOT/live/                    one LMDB environment, writable, `sync` on: a put is on disk before the
  data.mdb, lock.mdb          TrackEvents call that made it returns
    events                    event_id -> EVENT record: the idempotency keys and the log to fold in
    users                     user_id -> OVERLAY record: the user's latest live interactions
    sessions                  session_id -> OVERLAY record: an (anonymous) session's live interactions

Records are little-endian binary (no JSON on the read path):
  EVENT    struct <qqdd BB H H H H> (timestamp_ms, stored_at_ms, qty, price, type, channel, lengths of
           user_id, session_id, item_id, and 0) then the three ids' bytes
  OVERLAY  uint32 n, int64[n] timestamp_ms, uint8[n] type, then the n item ids joined by "\\n",
           oldest first; at most OVERLAY_LIMIT entries (the oldest fall off)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import lmdb
import numpy as np

__all__ = ["LIVE_DIR", "DB_EVENTS", "DB_USERS", "DB_SESSIONS", "OVERLAY_LIMIT", "LiveEvent", "Overlay",
           "pack_event", "unpack_event", "pack_overlay", "unpack_overlay", "append_overlay", "open_live"]

LIVE_DIR = "live"
DB_EVENTS = b"events"
DB_USERS = b"users"
DB_SESSIONS = b"sessions"
OVERLAY_LIMIT = 200
_EVENT = struct.Struct("<qqddBBHHHH")
_COUNT = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class LiveEvent:
    event_id: str
    timestamp_ms: int
    user_id: str
    session_id: str
    item_id: str
    type: int  # InteractionType value: 1 view, 2 cart, 3 purchase
    qty: float
    price: float
    channel: int  # Channel value
    stored_at_ms: int = 0


def pack_event(e: LiveEvent) -> bytes:
    ids = [e.user_id.encode(), e.session_id.encode(), e.item_id.encode()]
    return _EVENT.pack(e.timestamp_ms, e.stored_at_ms, e.qty, e.price, e.type, e.channel, *map(len, ids), 0) + \
        b"".join(ids)


def unpack_event(event_id: str, record: bytes) -> LiveEvent:
    ts, stored, qty, price, kind, channel, n_user, n_session, n_item, _ = _EVENT.unpack_from(record)
    at = _EVENT.size
    user = record[at:at + n_user].decode()
    session = record[at + n_user:at + n_user + n_session].decode()
    item = record[at + n_user + n_session:at + n_user + n_session + n_item].decode()
    return LiveEvent(event_id, ts, user, session, item, kind, qty, price, channel, stored)


@dataclass(frozen=True, slots=True)
class Overlay:
    """Live interactions, oldest first: item ids, InteractionType values, times (ms)."""

    item_ids: tuple[str, ...] = ()
    types: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    timestamps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.item_ids)


def pack_overlay(overlay: Overlay) -> bytes:
    return b"".join((_COUNT.pack(len(overlay)), np.asarray(overlay.timestamps, "<i8").tobytes(),
                     np.asarray(overlay.types, "u1").tobytes(), "\n".join(overlay.item_ids).encode()))


def unpack_overlay(record: bytes | memoryview | None) -> Overlay:
    if not record:
        return Overlay()
    (n,) = _COUNT.unpack_from(record)
    at = _COUNT.size
    timestamps = np.frombuffer(record, "<i8", count=n, offset=at)
    types = np.frombuffer(record, "u1", count=n, offset=at + 8 * n).astype(np.int8)
    ids = bytes(record[at + 9 * n:]).decode().split("\n") if n else []
    return Overlay(tuple(ids), types, timestamps)


def append_overlay(overlay: Overlay, events: list[LiveEvent]) -> Overlay:
    """`overlay` with `events` added in time order, the newest OVERLAY_LIMIT kept."""
    ids = list(overlay.item_ids) + [e.item_id for e in events]
    types = np.concatenate([overlay.types, np.array([e.type for e in events], np.int8)])
    times = np.concatenate([overlay.timestamps, np.array([e.timestamp_ms for e in events], np.int64)])
    order = np.argsort(times, kind="stable")[-OVERLAY_LIMIT:]
    return Overlay(tuple(ids[i] for i in order.tolist()), types[order], times[order])


def open_live(root: Path, *, readonly: bool = False) -> lmdb.Environment:
    """ROOT/live: every server worker opens it writable (LMDB serialises writers across processes);
    `sync` makes a commit durable before it returns. Raises lmdb.Error."""
    path = root / LIVE_DIR
    if not readonly:
        path.mkdir(parents=True, exist_ok=True)
    return lmdb.open(str(path), map_size=1 << 36, max_dbs=3, sync=True, metasync=True, readonly=readonly,
                     lock=True, readahead=False)
