"""Deletion records (ForgetUser; the live store's `forgotten` db, protos/live.py) honoured by the build.

Every build reads them all and drops, before anything is computed, the forgotten users' rows from
users.csv and from the events (the input log and the live store's events alike), and the anonymous
events of the sessions they had events in. A record is never removed: the input log keeps the old
rows, so every later build must leave them out again. Counts only are logged, never ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import lmdb
import pyarrow as pa
import pyarrow.compute as pc

from index_builder.inputs.live_events import live_snapshot
from protos import live

__all__ = ["Forgotten", "read_forgotten", "drop_forgotten"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Forgotten:
    """The forgotten user ids, and the newest record's batch number (0 = none)."""

    users: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    seq: int = 0


def read_forgotten(live_dir: Path) -> Forgotten:
    """Every deletion record of the live store in `live_dir`; none when there is no store or no record."""
    with live_snapshot(live_dir, "deletion records") as found:
        if found is None:
            return Forgotten()
        env, txn = found
        try:
            db = env.open_db(live.DB_FORGOTTEN, txn=txn, create=False)
        except lmdb.NotFoundError:  # a store from before ForgetUser
            return Forgotten()
        records = [(bytes(k).decode(), live.unpack_forgotten(v)[1]) for k, v in txn.cursor(db=db).iternext()]
    return Forgotten(pa.array([user for user, _ in records], pa.string()), max((s for _, s in records), default=0))


def drop_forgotten(users: pa.Table, events: pa.Table, forgotten: Forgotten) -> tuple[pa.Table, pa.Table, int, int]:
    """`users` and `events` without the forgotten users' rows, nor the anonymous events of their sessions;
    and how many rows of each were dropped."""
    if not len(forgotten.users):
        return users, events, 0, 0
    user_ids = pc.fill_null(events["user_id"], "")
    session_ids = pc.fill_null(events["session_id"], "")
    theirs = pc.is_in(user_ids, value_set=forgotten.users)
    sessions = pc.unique(pc.filter(session_ids, pc.and_(theirs, pc.not_equal(session_ids, ""))).combine_chunks())
    anonymous_in_theirs = pc.and_(pc.equal(user_ids, ""),
                                  pc.and_(pc.not_equal(session_ids, ""), pc.is_in(session_ids, value_set=sessions)))
    kept_events = events.filter(pc.invert(pc.or_(theirs, anonymous_in_theirs)))
    kept_users = users.filter(pc.invert(pc.is_in(users["user_id"], value_set=forgotten.users)))
    dropped = (users.num_rows - kept_users.num_rows, events.num_rows - kept_events.num_rows)
    log.info("forgotten_dropped records=%d seq=%d users_rows=%d events=%d", len(forgotten.users), forgotten.seq,
             *dropped)
    return kept_users, kept_events, *dropped
