"""The per-event checks of TrackEvents (server/api/tracking.py) as a pure function."""

from __future__ import annotations

import math

import pytest

from protos import decision_pb2 as pb
from server.api.tracking import MAX_BATCH, check_events
from server.errors import InvalidRequest

_NOW = 1_790_000_000_000


def _event(**fields: object) -> pb.Event:
    event = pb.Event(event_id="e1", timestamp_ms=_NOW, user_id="u1", item_id="i1", type=pb.INTERACTION_TYPE_VIEW)
    for name, value in fields.items():
        setattr(event, name, value)
    return event


@pytest.mark.parametrize(("fields", "field"), [
    ({"event_id": ""}, "event_id"),
    ({"item_id": "x" * 129}, "item_id"),
    ({"user_id": "john smith"}, "user_id"),
    ({"user_id": "", "session_id": ""}, "session_id"),
    ({"timestamp_ms": 946_684_799_999}, "timestamp_ms"),
    ({"timestamp_ms": _NOW + 86_400_001}, "timestamp_ms"),
    ({"type": pb.INTERACTION_TYPE_UNSPECIFIED}, "type"),
    ({"type": 7}, "type"),
    ({"channel": 9}, "channel"),
    ({"qty": -1.0}, "qty"),
    ({"price": math.nan}, "price"),
    ({"price": math.inf}, "price"),
    ({"request_id": "r" * 129}, "request_id"),
    ({"request_id": "two words"}, "request_id"),
    ({"request_id": "tab\there"}, "request_id"),
])
def test_each_problem_names_its_field(fields: dict[str, object], field: str) -> None:
    bad = _event(**{"event_id": "e2", **fields})
    valid, rejected = check_events(pb.TrackEventsRequest(events=[_event(), bad]), _NOW)
    assert [e.event_id for e in valid] == ["e1"]
    assert [(r.index, r.field) for r in rejected] == [(1, field)] and rejected[0].reason


def test_defaults_fill_quantity_and_keep_the_rest() -> None:
    [event], rejected = check_events(pb.TrackEventsRequest(events=[_event(session_id="s1", price=2.5)]), _NOW)
    assert not rejected and event.qty == 1.0 and event.price == 2.5 and event.session_id == "s1"
    assert event.stored_at_ms == _NOW


def test_an_anonymous_event_with_a_session_is_valid_and_a_repeat_in_the_batch_is_not() -> None:
    events = [_event(user_id="", session_id="s1"), _event(user_id="", session_id="s1")]
    valid, rejected = check_events(pb.TrackEventsRequest(events=events), _NOW)
    assert len(valid) == 1 and [(r.index, r.field) for r in rejected] == [(1, "event_id")]


def test_a_batch_over_the_limit_is_refused_whole() -> None:
    with pytest.raises(InvalidRequest) as error:
        check_events(pb.TrackEventsRequest(events=[_event(event_id=f"e{k}") for k in range(MAX_BATCH + 1)]), _NOW)
    assert error.value.field == "events"


def test_a_request_id_is_kept_with_its_event_and_survives_the_record() -> None:
    from protos import live

    events = [_event(request_id="req-42"), _event(event_id="e2")]
    valid, rejected = check_events(pb.TrackEventsRequest(events=events), _NOW)
    assert not rejected and [e.request_id for e in valid] == ["req-42", ""]
    records = [live.pack_event(e) for e in valid]
    assert [live.has_request_id(r) for r in records] == [True, False]
    assert [live.unpack_event(e.event_id, r) for e, r in zip(valid, records, strict=True)] == valid
