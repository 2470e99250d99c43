"""TrackEvents against the real server: per-event checks, durability, idempotence, consent, and live
events steering Recommend on every worker."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import pytest

from clients import TailorClient
from clients.client import RETRY_OPTIONS
from clients.errors import InvalidArgument
from protos import decision_pb2 as pb
from protos import decision_pb2_grpc, live
from server import RunningServer
from server.runtime.snapshot import load_snapshot
from tests.conftest import Built
from tests.support import LOYAL_USER, NO_CONSENT_USER, ServeProcess
from tests.waiting import wait_until

_NOW_MS = int(time.time() * 1000)
_FRESH = [("grpc.use_local_subchannel_pool", 1), *RETRY_OPTIONS]


def _event(event_id: str, item_id: str, *, user_id: str = "", session_id: str = "",
           kind: pb.InteractionType = pb.INTERACTION_TYPE_VIEW, **fields: float) -> pb.Event:
    event = pb.Event(event_id=event_id, timestamp_ms=_NOW_MS, user_id=user_id, session_id=session_id,
                     item_id=item_id, type=kind, qty=1, price=0, channel=pb.CHANNEL_WEB)
    for name, value in fields.items():
        setattr(event, name, value)
    return event


def test_a_bad_event_is_rejected_by_index_and_field_and_the_others_land(own_client: TailorClient,
                                                                        built: Built) -> None:
    item = next(iter(built.store.category))
    batch = [
        _event("ok-1", item, user_id=LOYAL_USER),
        _event("bad-ts", item, user_id=LOYAL_USER, timestamp_ms=5),
        _event("bad id", item, user_id=LOYAL_USER),
        _event("bad-type", item, user_id=LOYAL_USER, kind=pb.INTERACTION_TYPE_UNSPECIFIED),
        _event("bad-qty", item, user_id=LOYAL_USER, qty=-1),
        _event("anon-no-session", item),
        _event("ok-2", item, session_id="s-live-1"),
        _event("ok-2", item, session_id="s-live-1"),  # repeated in the batch
        _event("future", item, user_id=LOYAL_USER, timestamp_ms=_NOW_MS + 3 * 86_400_000),
    ]
    answer = own_client.track(batch)
    assert answer.accepted == 2 and answer.duplicates == 0 and answer.not_stored == 0
    assert [(r.index, r.field) for r in answer.rejected] == [
        (1, "timestamp_ms"), (2, "event_id"), (3, "type"), (4, "qty"), (5, "session_id"), (7, "event_id"),
        (8, "timestamp_ms")]
    assert all(r.reason for r in answer.rejected)


def test_a_retried_batch_is_reported_as_duplicates_and_stored_once(own_client: TailorClient,
                                                                   own_server: RunningServer, built: Built) -> None:
    items = list(built.store.category)[:5]
    batch = [_event(f"retry-{k}", item, user_id=LOYAL_USER) for k, item in enumerate(items)]
    first, again = own_client.track(batch), own_client.track(batch)
    assert (first.accepted, first.duplicates) == (5, 0)
    assert (again.accepted, again.duplicates) == (0, 5)
    assert own_server.live is not None and own_server.live.event_ids() >= {f"retry-{k}" for k in range(5)}


def test_a_batch_over_the_limit_is_invalid_argument_naming_events(own_client: TailorClient) -> None:
    with pytest.raises(InvalidArgument) as error:
        own_client.track([_event(f"e{k}", "i0001", session_id="s") for k in range(1001)])
    assert error.value.field == "events"


def test_events_of_a_user_without_consent_are_not_kept(own_client: TailorClient, own_server: RunningServer,
                                                       built: Built) -> None:
    item = next(iter(built.store.category))
    answer = own_client.track([_event("nc-1", item, user_id=NO_CONSENT_USER, session_id="s-nc"),
                               _event("c-1", item, user_id=LOYAL_USER)])
    assert (answer.accepted, answer.not_stored) == (1, 1)
    assert own_server.live is not None
    assert "nc-1" not in own_server.live.event_ids()
    user, session = own_server.live.overlay(NO_CONSENT_USER, "s-nc")
    assert len(user) == 0 and len(session) == 0


def test_an_anonymous_live_session_of_one_category_steers_recommendations(own_client: TailorClient,
                                                                          built: Built) -> None:
    """Several anonymous sessions, each of views in one category, sent only through TrackEvents: the
    answers for those session ids come mostly from that category."""
    categories = [c for c, _ in Counter(built.store.category.values()).most_common(6)]
    shares = []
    for k, category in enumerate(categories):
        items = [i for i in built.store.items_in(category) if built.store.in_stock[i]][:4]
        session = f"s-steer-{k}"
        own_client.track([_event(f"steer-{k}-{j}", item, session_id=session) for j, item in enumerate(items)])
        answer = own_client.recommend(10, session_id=session).items
        shares.append(sum(built.store.category[i.item_id] == category for i in answer) / len(answer))
        assert {i.item_id for i in answer}.isdisjoint(items)  # what they just saw is not offered again
    assert sum(shares) / len(shares) >= 0.6, shares


def _stored_event_ids(root: Path) -> set[str]:
    env = live.open_live(root, readonly=True)
    try:
        with env.begin() as txn:
            cursor = txn.cursor(db=env.open_db(live.DB_EVENTS, txn=txn))
            return {bytes(k).decode() for k in cursor.iternext(values=False)}
    finally:
        env.close()


def _recommend_on(target: str, user_id: str) -> tuple[list[str], int]:
    """Recommend over a fresh connection: the ids and the worker that answered."""
    with grpc.insecure_channel(target, options=_FRESH) as channel:
        reply, call = decision_pb2_grpc.DecisionStub(channel).Recommend.with_call(
            pb.RecommendRequest(user_id=user_id, n=10), timeout=10)
    return [i.item_id for i in reply.items], int(dict(call.trailing_metadata() or ())["x-tailor-worker"])


def test_a_live_purchase_leaves_recommendations_on_another_worker_and_survives_kill_9(own_root: Path) -> None:
    server = ServeProcess(own_root, "--workers", "2", "--threads", "2")
    try:
        before, _ = _recommend_on(server.target, LOYAL_USER)
        bought = before[0]
        batch = pb.TrackEventsRequest(events=[_event("buy-1", bought, user_id=LOYAL_USER,
                                                     kind=pb.INTERACTION_TYPE_PURCHASE)])
        with grpc.insecure_channel(server.target, options=_FRESH) as channel:
            answer, call = decision_pb2_grpc.EventsStub(channel).TrackEvents.with_call(batch, timeout=10)
        assert answer.accepted == 1
        ingested_by = int(dict(call.trailing_metadata() or ())["x-tailor-worker"])

        def from_another_worker() -> tuple[list[str], int] | None:
            ids, worker = _recommend_on(server.target, LOYAL_USER)
            return (ids, worker) if worker != ingested_by else None

        found = wait_until(from_another_worker, 60, lambda: "no other worker answered")
        assert found is not None and bought not in found[0]
        # kill -9 every process (workers, the live store's writer, the supervisor) right after the
        # acknowledged batch; a restarted server has it, once.
        assert server.writer_pid() is not None
        for pid in (*server.child_pids(), server.proc.pid):
            os.kill(pid, signal.SIGKILL)
        server.proc.wait()
    finally:
        server.stop()
    assert "buy-1" in _stored_event_ids(own_root)
    restarted = ServeProcess(own_root, "--workers", "1")
    try:
        with TailorClient(restarted.target, timeout=10) as client:
            retried = client.track(list(batch.events))
            assert (retried.accepted, retried.duplicates) == (0, 1)
            assert bought not in [i.item_id for i in client.recommend(10, user_id=LOYAL_USER).items]
    finally:
        restarted.stop()


def test_a_build_while_events_arrive_folds_them_in_without_counting_any_twice(own_root: Path, built: Built) -> None:
    """Views for one shopper keep arriving while `tailor build` folds the live store into a new version;
    once it is current, the shopper's view count is the files' views plus every acknowledged live view:
    the folded ones come from the version, the later ones from the overlay. (The overlay keeps a user's
    newest OVERLAY_LIMIT entries: the sender stays below that between builds.)"""
    import threading

    from index_builder import build_artifacts
    from tests.conftest import small_config

    item = next(i for i in built.store.items_in(built.loyal_category) if built.store.in_stock[i])
    server = ServeProcess(own_root, "--workers", "2")
    sent = [0]
    stop = threading.Event()
    try:
        with TailorClient(server.target, timeout=10) as client:
            base = client.get_profile(LOYAL_USER).views

            def send(first: int, batches: int) -> None:
                for batch in range(first, first + batches):
                    if stop.is_set():
                        return
                    events = [_event(f"fold-{batch}-{k}", item, user_id=LOYAL_USER) for k in range(5)]
                    sent[0] += client.track(events).accepted

            sender = threading.Thread(target=send, args=(0, 30))
            sender.start()
            try:
                wait_until(lambda: sent[0] >= 20, 60, "no events acknowledged")
                manifest = build_artifacts(small_config(built.data, own_root))
                wait_until(lambda: client.recommend(3).version == manifest.version, 60, "the new version never served")
            finally:
                stop.set()
                sender.join()
            stop.clear()
            send(1000, 4)  # and some after the switch
            assert 0 < manifest.live_seq and 0 < manifest.counts.events_live < sent[0]  # some folded, some not
            for _ in range(4):  # whichever worker answers
                assert client.get_profile(LOYAL_USER).views == base + sent[0]
    finally:
        server.stop()


def test_what_trends_live_on_a_channel_leads_a_new_visitors_answer(own_client: TailorClient, built: Built) -> None:
    """A new visitor (no profile, no session) on the app is first shown what app shoppers are buying right
    now; the build's lists follow."""
    popular = [i.item_id for i in own_client.recommend(10).items]
    rising = next(i for i in built.store.category if built.store.in_stock[i] and i not in popular)
    own_client.track([_event(f"trend-{k}", rising, session_id=f"s-trend-{k}", kind=pb.INTERACTION_TYPE_PURCHASE,
                             channel=pb.CHANNEL_APP) for k in range(20)])
    assert wait_until(lambda: own_client.recommend(10, channel="app").items[0].item_id == rising, 30,
                      "never trended")
    assert own_client.recommend(10).items[0].item_id == rising  # over all channels too


def test_a_worker_busy_with_writes_answers_resource_exhausted_and_keeps_reading(own_root: Path, built: Built) -> None:
    """Writes may hold only their share of a worker's threads: the next one is refused at once, with
    RESOURCE_EXHAUSTED (the client backs off and retries with the same event ids)."""
    from loadtests.floor import OfflineContext
    from server.api.service import EventsServicer
    from server.live.store import LiveStore
    from server.runtime.metrics import process_metrics
    from server.runtime.snapshot import load_snapshot, resolve_current
    from server.runtime.versions import SnapshotHolder

    holder = SnapshotHolder(load_snapshot(resolve_current(own_root)))
    store = LiveStore(own_root)
    try:
        servicer = EventsServicer(holder, process_metrics(), store, max_writes=1)
        context: Any = OfflineContext()  # just enough of a ServicerContext to call the servicer directly
        request = pb.TrackEventsRequest(events=[_event("busy-1", next(iter(built.store.category)), session_id="s")])
        assert servicer.TrackEvents(request, context).accepted == 1
        servicer._writes.acquire()  # noqa: SLF001 - a write in flight on the only write slot
        with pytest.raises(RuntimeError, match="RESOURCE_EXHAUSTED: Busy: events: this worker is storing"):
            servicer.TrackEvents(request, context)
    finally:
        store.close()
        holder.current.close()


def test_the_consent_check_of_a_batch_reads_only_the_flags_and_matches_the_profiles(own_root: Path,
                                                                                    built: Built) -> None:
    """TrackEvents asks the profile store once per batch for its users' consent flags (snapshot.may_keep):
    the flags byte agrees with each decoded profile; unknown users take the version's default."""
    snapshot = load_snapshot(own_root / "current")
    try:
        users = [*sorted(built.store.consent)[:300], NO_CONSENT_USER, "u_never_seen"]
        kept = snapshot.may_keep(users)
        for user in users:
            profile = snapshot.profiles.read(user)
            assert kept[user] == (profile.consent if profile is not None else snapshot.default_consent)
        assert kept[NO_CONSENT_USER] is False and any(kept.values())
    finally:
        snapshot.close()
