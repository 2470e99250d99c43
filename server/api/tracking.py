"""TrackEvents: check each event on its own, then store the valid ones (server/live/store.py).

A batch over MAX_BATCH events is INVALID_ARGUMENT (`events`); otherwise each event is accepted or
rejected by itself, with the field and the reason — never the whole batch for one bad event.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from protos import decision_pb2 as pb
from protos.ids import ID, ID_RULE, IDS
from protos.live import LiveEvent
from server.errors import InvalidRequest

__all__ = ["MAX_BATCH", "Rejection", "check_events"]

MAX_BATCH = 1000
_EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
_AHEAD_MS = 86_400_000  # a clock one day fast is tolerated, not more
_TYPES = frozenset((pb.INTERACTION_TYPE_VIEW, pb.INTERACTION_TYPE_CART, pb.INTERACTION_TYPE_PURCHASE))
_CHANNELS = frozenset(pb.Channel.values())


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    field: str
    reason: str


def _bad_id(value: str, *, optional: bool = False) -> str:
    if optional and not value:
        return ""
    if not value:
        return "required"
    return "" if ID.fullmatch(value.encode("utf-8")) else ID_RULE


def _problem(e: pb.Event, now_ms: int) -> tuple[str, str]:
    """(field, reason) of the first thing wrong with one event, ("", "") when it is valid."""
    for name, value, optional in (("event_id", e.event_id, False), ("item_id", e.item_id, False),
                                  ("user_id", e.user_id, True), ("session_id", e.session_id, True),
                                  ("request_id", e.request_id, True)):
        reason = _bad_id(value, optional=optional)
        if reason:
            return name, reason
    if not e.user_id and not e.session_id:
        return "session_id", "required for an anonymous event (no user_id)"
    if not _EARLIEST_MS <= e.timestamp_ms <= now_ms + _AHEAD_MS:
        return "timestamp_ms", "must be epoch milliseconds from 2000-01-01 to one day ahead of now"
    if e.type not in _TYPES:
        return "type", "must be VIEW, CART or PURCHASE"
    if e.channel not in _CHANNELS:
        return "channel", f"unknown Channel value {e.channel}"
    for number_field, number in (("qty", e.qty), ("price", e.price)):
        if not math.isfinite(number) or number < 0:
            return number_field, "must be a finite number >= 0"
    return "", ""


def _all_valid(events: Sequence[pb.Event], now: int) -> list[LiveEvent] | None:
    """The batch as LiveEvents when every event passes (one read of each event's fields, then a few bulk
    checks: one regex pass per id column, min/max and set comparisons), else None and the caller walks
    it event by event to name each problem."""
    rows = [(e.event_id, e.timestamp_ms, e.user_id, e.session_id, e.item_id, e.type, e.qty or 1.0, e.price,
             e.channel, now, e.request_id) for e in events]
    ids, ts, users, sessions, items, types, qtys, prices, channels, _, requests = zip(*rows, strict=True)
    if not (IDS.fullmatch("\n".join(ids).encode()) and IDS.fullmatch("\n".join(items).encode())):
        return None
    for optional in ([u for u in users if u], [s for s in sessions if s], [r for r in requests if r]):
        if optional and not IDS.fullmatch("\n".join(optional).encode()):
            return None
    if len(set(ids)) != len(ids) or any(not u and not s for u, s in zip(users, sessions, strict=True)):
        return None
    numbers = (*qtys, *prices)
    if (min(ts) < _EARLIEST_MS or max(ts) > now + _AHEAD_MS or not set(types) <= _TYPES
            or not set(channels) <= _CHANNELS or not all(0 <= x < math.inf for x in numbers)):
        return None
    return [LiveEvent._make(row) for row in rows]


def check_events(request: pb.TrackEventsRequest, now_ms: int | None = None) -> tuple[list[LiveEvent], list[Rejection]]:
    """The valid events (in request order) and a rejection per invalid one; raises InvalidRequest for a
    batch over MAX_BATCH."""
    if len(request.events) > MAX_BATCH:
        raise InvalidRequest("events", f"at most {MAX_BATCH} events per call, got {len(request.events)}")
    now = round(time.time() * 1000) if now_ms is None else now_ms
    if not request.events:
        return [], []
    fast = _all_valid(request.events, now)
    if fast is not None:
        return fast, []
    valid: list[LiveEvent] = []
    rejected: list[Rejection] = []
    seen: set[str] = set()
    for index, e in enumerate(request.events):
        field, reason = _problem(e, now)
        if not field and e.event_id in seen:
            field, reason = "event_id", "repeated in this batch"
        if field:
            rejected.append(Rejection(index, field, reason))
            continue
        seen.add(e.event_id)
        valid.append(LiveEvent(e.event_id, e.timestamp_ms, e.user_id, e.session_id, e.item_id, e.type,
                               e.qty or 1.0, e.price, e.channel, now, e.request_id))
    return valid, rejected
