"""The live store: ROOT/live/, events acknowledged by TrackEvents, shared by the server (which writes
it, from every worker) and the builder (which folds it into the next version).

ROOT/live/                    one LMDB environment, writable, `sync` on: a put is on disk before the
  data.mdb, lock.mdb          TrackEvents call that made it returns
    events                    event_id -> EVENT record: the idempotency keys and the log to fold in
    overlay_log               seq as uint64 big-endian -> LOG record: what the batch (or ForgetUser)
                              committed as number seq did to the overlays; every worker replays it into
                              its in-memory OVERLAY records of users and sessions (server/live/replay.py)
    item_codes                item_id -> uint32 little-endian: the item's code in OVERLAY entries
    code_items                code as uint32 big-endian (numeric order) -> item_id; codes are dense from
                              0 and never change, so a reader may cache code -> id for good
    trending                  channel byte + item_id -> TREND record: the item's time-decayed event
                              weight on that channel (channel 0: all channels), for the trending lists
    forgotten                 user_id -> FORGOTTEN record: the user asked to be forgotten (ForgetUser);
                              their events are never stored again, and every build leaves them out
    meta                      b"seq" -> uint64: the number of batches committed so far; each batch's
                              entries carry its number, so a build that folded the log up to
                              sequence S (manifest.live_seq) tells the server which overlay entries
                              it now holds

Records are little-endian binary (no JSON on the read path):
  EVENT    struct <qqdd BB H H H H> (timestamp_ms, stored_at_ms, qty, price, type, channel, lengths of
           user_id, session_id, item_id, request_id) then the four ids' bytes. The request_id (the answer
           the event is attributed to, `tailor experiments report`) took the fourth length, always 0
           before it: an older record reads as one without a request_id.
  TREND    struct <dq> (decayed weight as of at_ms, at_ms); halves every TRENDING_HALF_LIFE_MS. A
           popularity signal, not acknowledged data: the server's writer process adds committed
           events' weights at most 0.5 s later (server/live/writer.py)
  FORGOTTEN struct <qq> (forgotten_at_ms, seq: the batch number the forget was committed as)
  LOG      a kind byte, then for LOG_EVENTS per event struct <qIBHH (timestamp_ms, item code, type,
           lengths of user_id and session_id) and the two ids' bytes; for LOG_FORGET the forgotten
           user_id and the sessions deleted with them (ids only, no events: every reader drops those
           overlays), each as uint16 length + bytes. Appended once per batch (sequential pages: a
           commit writes little), rewritten only by ForgetUser, which takes the user's and their
           sessions' entries out of every record.
  OVERLAY  (in memory, not stored) fixed-width 17-byte entries (ENTRY: int64 timestamp_ms, uint32 seq,
           uint32 item code, uint8 type) in arrival order, so an append is a concatenation and a read
           a zero-copy view; at most OVERLAY_LIMIT entries (the oldest fall off).
  (Before the log, OVERLAY records were stored per user and session — first in the dbs `users` and
  `sessions` with the item id inline, 145 bytes an entry — and every append rewrote a page per key:
  ~6 kB written per event. Those dbs are no longer read.)
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from protos.decay import DAY_MS, decay, halving

__all__ = ["LIVE_DIR", "DB_EVENTS", "DB_LOG", "LOG_EVENTS", "LOG_FORGET", "log_key", "pack_log_events",
           "pack_log_forget", "log_events", "log_forget", "DB_ITEM_CODES", "DB_CODE_ITEMS", "DB_META",
           "SEQ_KEY", "OVERLAY_LIMIT", "ENTRY", "LiveEvent", "Overlay", "read_seq", "DB_TRENDING",
           "TRENDING_HALF_LIFE_MS", "TRENDING_WEIGHTS", "add_trend", "unpack_trend", "trend_now", "rank_trends",
           "pack_event", "unpack_event",
           "has_request_id", "overlay_entry", "unpack_overlay", "append_overlay", "code_key", "highest_code",
           "open_live", "open_live_dir", "DB_FORGOTTEN", "pack_forgotten", "unpack_forgotten", "event_owner"]

LIVE_DIR = "live"
DB_EVENTS = b"events"
DB_LOG = b"overlay_log"
LOG_EVENTS, LOG_FORGET = 0, 1
_LOG_ENTRY = struct.Struct("<qIBHH")
_LOG_ID = struct.Struct("<H")
DB_ITEM_CODES = b"item_codes"
DB_CODE_ITEMS = b"code_items"
DB_META = b"meta"
DB_TRENDING = b"trending"
DB_FORGOTTEN = b"forgotten"
_FORGOTTEN = struct.Struct("<qq")
TRENDING_HALF_LIFE_MS = 6 * 3_600_000
# Weight of one live event per InteractionType value (index 0 unused) in the trending lists.
TRENDING_WEIGHTS = (0.0, 1.0, 3.0, 5.0)
_TREND = struct.Struct("<dq")
SEQ_KEY = b"seq"
OVERLAY_LIMIT = 200
_EVENT = struct.Struct("<qqddBBHHHH")


if TYPE_CHECKING:
    import lmdb  # opened only by open_live / open_live_dir: the record codecs load no LMDB


class LiveEvent(NamedTuple):
    """One acknowledged event (a named tuple: TrackEvents builds and packs thousands a second)."""

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
    request_id: str = ""  # the answer this event is attributed to (Event.request_id); "" = none


def pack_event(e: LiveEvent) -> bytes:
    ids = [e.user_id.encode(), e.session_id.encode(), e.item_id.encode(), e.request_id.encode()]
    return _EVENT.pack(e.timestamp_ms, e.stored_at_ms, e.qty, e.price, e.type, e.channel, *map(len, ids)) + \
        b"".join(ids)


def unpack_event(event_id: str, record: bytes) -> LiveEvent:
    ts, stored, qty, price, kind, channel, n_user, n_session, n_item, n_request = _EVENT.unpack_from(record)
    at = _EVENT.size
    user = record[at:at + n_user].decode()
    session = record[at + n_user:at + n_user + n_session].decode()
    item = record[at + n_user + n_session:at + n_user + n_session + n_item].decode()
    at += n_user + n_session + n_item
    return LiveEvent(event_id, ts, user, session, item, kind, qty, price, channel, stored,
                     record[at:at + n_request].decode())


def has_request_id(record: bytes | memoryview) -> bool:
    """Whether an EVENT record carries a request_id, without decoding it."""
    return bool(_EVENT.unpack_from(record)[-1])


def event_owner(record: bytes | memoryview) -> tuple[bytes, bytes]:
    """An EVENT record's user_id and session_id bytes, without decoding the rest (ForgetUser's scan)."""
    n_user, n_session = _EVENT.unpack_from(record)[6:8]
    at = _EVENT.size
    return bytes(record[at:at + n_user]), bytes(record[at + n_user:at + n_user + n_session])


def pack_forgotten(forgotten_at_ms: int, seq: int) -> bytes:
    return _FORGOTTEN.pack(forgotten_at_ms, seq)


def unpack_forgotten(record: bytes | memoryview) -> tuple[int, int]:
    """(forgotten_at_ms, seq) of a FORGOTTEN record."""
    at, seq = _FORGOTTEN.unpack(bytes(record))
    return int(at), int(seq)


# OVERLAY entries: records kept in each worker's memory (server/live/replay.py), never stored.
ENTRY = np.dtype([("timestamp_ms", "<i8"), ("seq", "<u4"), ("item", "<u4"), ("type", "u1")])
_ENTRY = struct.Struct("<qIIB")  # ENTRY's layout, for packing a few at a time
_CODE_KEY = struct.Struct(">I")


def code_key(code: int) -> bytes:
    """The code_items key of an item code (big-endian: a cursor walks the codes in numeric order)."""
    return _CODE_KEY.pack(code)


def log_key(seq: int) -> bytes:
    """The overlay_log key of batch `seq` (big-endian: a cursor walks the batches in order)."""
    return seq.to_bytes(8, "big")


def pack_log_events(entries: Iterable[tuple[int, int, int, bytes, bytes]]) -> bytes:
    """A LOG_EVENTS record of (timestamp_ms, item code, type, user_id, session_id) entries."""
    parts = [bytes((LOG_EVENTS,))]
    for at, code, kind, user, session in entries:
        parts += (_LOG_ENTRY.pack(at, code, kind, len(user), len(session)), user, session)
    return b"".join(parts)


def log_events(record: bytes) -> list[tuple[int, int, int, bytes, bytes]]:
    """The entries of a LOG_EVENTS record."""
    entries, at, end = [], 1, len(record)
    while at < end:
        ts, code, kind, n_user, n_session = _LOG_ENTRY.unpack_from(record, at)
        at += _LOG_ENTRY.size
        entries.append((ts, code, kind, record[at:at + n_user], record[at + n_user:at + n_user + n_session]))
        at += n_user + n_session
    return entries


def pack_log_forget(user_id: bytes, sessions: Iterable[bytes]) -> bytes:
    """A LOG_FORGET record: the user and the sessions whose overlays ForgetUser deleted."""
    return bytes((LOG_FORGET,)) + b"".join(_LOG_ID.pack(len(i)) + i for i in (user_id, *sessions))


def log_forget(record: bytes) -> tuple[bytes, list[bytes]]:
    """The user and the sessions of a LOG_FORGET record."""
    ids, at = [], 1
    while at < len(record):
        n = _LOG_ID.unpack_from(record, at)[0]
        ids.append(record[at + _LOG_ID.size:at + _LOG_ID.size + n])
        at += _LOG_ID.size + n
    return ids[0], ids[1:]


def overlay_entry(timestamp_ms: int, seq: int, code: int, kind: int) -> bytes:
    """One OVERLAY entry: an event of item `code` committed in batch `seq`."""
    return _ENTRY.pack(timestamp_ms, seq, code, kind)


def append_overlay(record: bytes | memoryview | None, entries: bytes) -> bytes:
    """`record` with `entries` appended, the newest OVERLAY_LIMIT kept (no parsing: byte slices)."""
    joined = bytes(record or b"") + entries
    return joined[-OVERLAY_LIMIT * ENTRY.itemsize:]


def highest_code(record: bytes | memoryview) -> int:
    """The highest item code in an OVERLAY record (a reader's cache of code -> id must reach it)."""
    return int(np.frombuffer(record, dtype=ENTRY)["item"].max())


_NO_NAMES: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Overlay:
    """Live interactions in arrival order (oldest first): a view of ENTRY records; ids looked up on demand
    in `names` (item code -> item id, at least as long as the highest code in `entries`)."""

    entries: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=ENTRY))
    names: Sequence[str] = _NO_NAMES
    # The user asked to be forgotten (a FORGOTTEN record): nothing stored about them may be used.
    forgotten: bool = False

    def __len__(self) -> int:
        return len(self.entries)

    def item_ids(self, where: slice | np.ndarray = slice(None)) -> tuple[str, ...]:
        names = self.names
        return tuple(names[c] for c in self.entries["item"][where].tolist())

    @property
    def types(self) -> np.ndarray:
        return self.entries["type"].astype(np.int8)


def unpack_overlay(record: bytes | memoryview | None, names: Sequence[str], after_seq: int = 0) -> Overlay:
    """A record's entries committed after batch `after_seq` (those a build has not folded in), oldest
    first, without copying; `names` maps their item codes to ids."""
    if not record:
        return Overlay()
    entries = np.frombuffer(record, dtype=ENTRY)
    return Overlay(entries[entries["seq"] > after_seq] if after_seq else entries, names)


def add_trend(record: bytes | memoryview | None, weight: float, at_ms: int) -> bytes:
    """A TREND record with `weight` added at `at_ms` (an older event adds its weight decayed to the record's time)."""
    score, last = unpack_trend(record) if record else (0.0, at_ms)
    if at_ms >= last:
        score, last = score * halving(at_ms - last, TRENDING_HALF_LIFE_MS) + weight, at_ms
    else:
        score += weight * halving(last - at_ms, TRENDING_HALF_LIFE_MS)
    return _TREND.pack(score, last)


def unpack_trend(record: bytes | memoryview) -> tuple[float, int]:
    """A TREND record's (weight as of at_ms, at_ms)."""
    score, last = _TREND.unpack(bytes(record))
    return float(score), int(last)


def trend_now(record: bytes | memoryview, now_ms: int) -> float:
    """A TREND record's weight decayed to `now_ms` (absolute: it underflows to 0 after ~1,000 half-lives of
    silence; to rank records against each other use `rank_trends`)."""
    score, last = unpack_trend(record)
    return score * halving(now_ms - last, TRENDING_HALF_LIFE_MS)


def rank_trends(scores: np.ndarray, at_ms: np.ndarray, now_ms: int) -> np.ndarray:
    """Each TREND record's weight at `now_ms` relative to the newest record's decay (protos/decay.py), so
    that records idle for months still rank by their weight instead of all tying at 0."""
    return np.asarray(scores, dtype=np.float64) * decay(at_ms, now_ms, TRENDING_HALF_LIFE_MS / DAY_MS)


def read_seq(txn: lmdb.Transaction, meta: object) -> int:
    raw = txn.get(SEQ_KEY, db=meta)  # type: ignore[call-overload]
    return int.from_bytes(bytes(raw), "little") if raw else 0


def open_live(root: Path, *, readonly: bool = False) -> lmdb.Environment:
    """ROOT/live: every server worker opens it writable (LMDB serialises writers across processes);
    `sync` makes a commit durable before it returns. Raises lmdb.Error."""
    return open_live_dir(root / LIVE_DIR, readonly=readonly)


def open_live_dir(path: Path, *, readonly: bool = False) -> lmdb.Environment:
    """The live store in the directory `path` itself (a build's `--live DIR`). Raises lmdb.Error."""
    if not readonly:
        path.mkdir(parents=True, exist_ok=True)
    import lmdb

    return lmdb.open(str(path), map_size=1 << 36, max_dbs=10, sync=True, metasync=True, readonly=readonly,
                     lock=True, readahead=False)
