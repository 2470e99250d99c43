"""The live store's events (ROOT/live, written by TrackEvents: protos/live.py) as rows of the events
table, for the next build to learn from alongside the input files ("fold-in").

The log is read in one read transaction: the batches it holds are exactly those numbered up to the
sequence read in the same transaction, which the manifest records (`live_seq`) so the server stops
merging them once the version is current — nothing counted twice, nothing dropped across the switch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lmdb
import pyarrow as pa

from index_builder.errors import InputError
from protos import live
from protos.artifact import CHANNELS, EVENT_TYPES

__all__ = ["read_live_events", "live_snapshot"]

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


@contextmanager
def live_snapshot(live_dir: Path, what: str) -> Iterator[tuple[lmdb.Environment, lmdb.Transaction] | None]:
    """One read transaction of the live store in `live_dir` (None when there is no store there); an lmdb
    error becomes an InputError naming the directory and `what` was being read."""
    if not (live_dir / "data.mdb").is_file():
        yield None
        return
    try:
        env = live.open_live_dir(live_dir, readonly=True)
    except lmdb.Error as exc:
        raise InputError(live_dir, f"cannot open the live store: {exc}") from exc
    try:
        with env.begin() as txn:
            yield env, txn
    except lmdb.Error as exc:
        raise InputError(live_dir, f"cannot read the live store's {what}: {exc}") from exc
    finally:
        env.close()


def read_live_events(live_dir: Path) -> tuple[pa.Table | None, int]:
    """(the events of `live_dir` as an events table, the last batch number they include); (None, 0)
    when there is no live store there."""
    with live_snapshot(live_dir, "events") as found:
        if found is None:
            return None, 0
        env, txn = found
        seq = live.read_seq(txn, env.open_db(live.DB_META, txn=txn, create=False))
        cursor = txn.cursor(db=env.open_db(live.DB_EVENTS, txn=txn, create=False))
        events = [live.unpack_event(bytes(k).decode(), bytes(v)) for k, v in cursor.iternext()]
    log.info("live_read events=%d seq=%d", len(events), seq)
    return _table(events), seq
