"""The live store's events (ROOT/live, written by TrackEvents: protos/live.py) as rows of the events
table, for the next build to learn from alongside the input files ("fold-in").

The log is read in one read transaction: the batches it holds are exactly those numbered up to the
sequence read in the same transaction, which the manifest records (`live_seq`) so the server stops
merging them once the version is current — nothing counted twice, nothing dropped across the switch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import lmdb
import pyarrow as pa

from index_builder.errors import InputError
from protos import live
from protos.artifact import CHANNELS, EVENT_TYPES

__all__ = ["read_live_events"]

log = logging.getLogger(__name__)
_TS = pa.timestamp("ms", tz="UTC")


def _table(events: list[live.LiveEvent]) -> pa.Table:
    return pa.table({
        "ts": pa.array([e.timestamp_ms for e in events], pa.int64()).cast(_TS),
        "user_id": pa.array([e.user_id for e in events], pa.string()),
        "item_id": pa.array([e.item_id for e in events], pa.string()),
        "type": pa.array([EVENT_TYPES[e.type - 1] for e in events], pa.string()),
        "session_id": pa.array([e.session_id for e in events], pa.string()),
        "value": pa.array([1.0] * len(events), pa.float64()),
        "qty": pa.array([e.qty for e in events], pa.float64()),
        "price": pa.array([e.price for e in events], pa.float64()),
        "channel": pa.array([CHANNELS[e.channel] if 0 < e.channel < len(CHANNELS) else "" for e in events],
                            pa.string()),
    })


def read_live_events(live_dir: Path) -> tuple[pa.Table | None, int]:
    """(the events of `live_dir` as an events table, the last batch number they include); (None, 0)
    when there is no live store there."""
    if not (live_dir / "data.mdb").is_file():
        return None, 0
    try:
        env = lmdb.open(str(live_dir), readonly=True, lock=True, max_dbs=4, readahead=False)
    except lmdb.Error as exc:
        raise InputError(live_dir, f"cannot open the live store: {exc}") from exc
    try:
        with env.begin() as txn:
            seq = live.read_seq(txn, env.open_db(live.DB_META, txn=txn, create=False))
            cursor = txn.cursor(db=env.open_db(live.DB_EVENTS, txn=txn, create=False))
            events = [live.unpack_event(bytes(k).decode(), bytes(v)) for k, v in cursor.iternext()]
    except lmdb.Error as exc:
        raise InputError(live_dir, f"cannot read the live store: {exc}") from exc
    finally:
        env.close()
    log.info("live_read events=%d seq=%d", len(events), seq)
    return _table(events), seq
