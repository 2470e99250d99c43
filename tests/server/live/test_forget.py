"""ForgetUser and the write token against the real server: the profile is no longer used or shown, live
events and overlays are gone, on every worker; idempotent; malformed ids refused; writes need the token
when one is configured, reads never do."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from clients import Decision, TailorClient
from clients.client import RETRY_OPTIONS
from clients.errors import InvalidArgument, NotFound, Unauthenticated
from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from server import RunningServer, ServerConfig, start_server
from server.runtime.config import load_server_config
from tests.conftest import Built
from tests.support import LOYAL_USER, ServeProcess
from tests.waiting import wait_until

_FRESH = [("grpc.use_local_subchannel_pool", 1), *RETRY_OPTIONS]
_TOKEN = "s3cret-write-token"


def _event(event_id: str, item_id: str, user_id: str, session_id: str = "") -> pb.Event:
    return pb.Event(event_id=event_id, timestamp_ms=int(time.time() * 1000), user_id=user_id, session_id=session_id,
                    item_id=item_id, type=pb.INTERACTION_TYPE_VIEW, channel=pb.CHANNEL_WEB)


def _ids(decision: Decision) -> list[str]:
    return [i.item_id for i in decision.items]


def test_a_forgotten_shopper_is_unknown_at_once_and_their_live_events_are_gone(
        own_client: TailorClient, own_server: RunningServer, built: Built) -> None:
    store = own_server.live
    assert store is not None
    items = [i for i in built.store.items_in(built.loyal_category) if built.store.in_stock[i]][:3]
    own_client.track([_event(f"fg-{k}", item, LOYAL_USER, "s-forget") for k, item in enumerate(items)]
                     + [_event("fg-anon", items[0], "", "s-forget"), _event("other", items[0], "", "s-other")])
    assert own_client.get_profile(LOYAL_USER).views > 0
    anonymous = own_client.recommend(10, request_id="forget")  # one request_id: one exploration draw
    assert own_client.recommend(10, user_id=LOYAL_USER, request_id="forget").items != anonymous.items

    answer = own_client.forget_user(LOYAL_USER)

    assert (answer.live_events_deleted, answer.already_forgotten) == (4, False)  # theirs and their session's
    with pytest.raises(NotFound) as forgotten:
        own_client.get_profile(LOYAL_USER)
    with pytest.raises(NotFound) as unknown:
        own_client.get_profile("nobody-of-that-name")
    assert forgotten.value.details == unknown.value.details  # nothing tells a forgotten shopper apart
    assert own_client.recommend(10, user_id=LOYAL_USER, request_id="forget").items == anonymous.items
    candidates = [(i, 1.0) for i in list(built.store.category)[:30]]
    assert own_client.rerank(candidates, user_id=LOYAL_USER).items == own_client.rerank(candidates).items
    stored = store.event_ids()
    assert not stored & {"fg-0", "fg-1", "fg-2", "fg-anon"} and "other" in stored
    user, session = store.overlay(LOYAL_USER, "s-forget")
    assert user.forgotten and len(user) == 0 and len(session) == 0  # the session they were in goes too
    assert len(store.overlay("", "s-other")[1]) == 1
    # Events sent for them afterwards are not kept (counted as not stored).
    later = own_client.track([_event("fg-later", items[0], LOYAL_USER)])
    assert (later.accepted, later.not_stored) == (0, 1) and "fg-later" not in store.event_ids()


def test_forget_is_idempotent_and_an_unknown_user_is_ok(own_client: TailorClient) -> None:
    first = own_client.forget_user("u_never_seen")
    again = own_client.forget_user("u_never_seen")
    assert (first.live_events_deleted, first.already_forgotten) == (0, False)
    assert (again.live_events_deleted, again.already_forgotten) == (0, True)


@pytest.mark.parametrize("user_id", ["john smith", "", "x" * 300, "é"])
def test_a_malformed_user_id_is_invalid_argument_naming_user_id(own_client: TailorClient, user_id: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        own_client.forget_user(user_id)
    assert error.value.field == "user_id"


def _token_file(tmp_path: Path, text: str = _TOKEN + "\n") -> Path:
    path = tmp_path / "write-token"
    path.write_text(text)
    return path


@pytest.fixture
def guarded(own_root: Path, tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(ServerConfig(artifacts=own_root, port=0, write_token_file=_token_file(tmp_path)))
    yield server
    server.stop(grace=None)


@pytest.mark.parametrize("token", [None, "wrong", _TOKEN + "x", _TOKEN[:-1]])
def test_with_a_write_token_writes_without_it_are_unauthenticated(guarded: RunningServer, built: Built,
                                                                  token: str | None,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    item = next(iter(built.store.category))
    with TailorClient(f"127.0.0.1:{guarded.port}", timeout=10, write_token=token) as client:
        with pytest.raises(Unauthenticated):
            client.track([_event("tok-1", item, LOYAL_USER)])
        with pytest.raises(Unauthenticated):
            client.forget_user(LOYAL_USER)
        with pytest.raises(Unauthenticated):  # checked before the batch is looked at: not INVALID_ARGUMENT
            client.track([_event(f"e{k}", item, "", "s") for k in range(1001)])
        assert client.recommend(5).items and client.get_profile(LOYAL_USER).user_id == LOYAL_USER  # reads stay open
    assert guarded.live is not None and "tok-1" not in guarded.live.event_ids()
    assert not guarded.live.is_forgotten(LOYAL_USER)
    assert "UNAUTHENTICATED" in caplog.text and _TOKEN[:-1] not in caplog.text  # neither token is ever logged


def test_with_the_right_token_writes_succeed(guarded: RunningServer, built: Built) -> None:
    item = next(iter(built.store.category))
    with TailorClient(f"127.0.0.1:{guarded.port}", timeout=10, write_token=_TOKEN) as client:
        assert client.track([_event("tok-ok", item, LOYAL_USER)]).accepted == 1
        assert client.forget_user(LOYAL_USER).live_events_deleted == 1
    with grpc.insecure_channel(f"127.0.0.1:{guarded.port}") as channel:  # the scheme's case does not matter
        events = decision_pb2_grpc.EventsStub(channel)
        answer = events.ForgetUser(pb.ForgetUserRequest(user_id=LOYAL_USER), timeout=10,
                                   metadata=(("authorization", f"bearer {_TOKEN}"),))
        assert answer.already_forgotten


@pytest.mark.parametrize(("content", "message"), [("", "is empty"), ("  \n", "is empty"), (None, "cannot read"),
                                                   ("two words", "printable ASCII")])
def test_a_bad_token_file_is_a_config_error_naming_the_key(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=f"write_token_file: .*{message}"):
        load_server_config(flags={"artifacts": tmp_path, "write_token_file": path}, environ={})
    with pytest.raises(ValueError, match="write_token_file"):
        load_server_config(environ={"TAILOR_ARTIFACTS": str(tmp_path), "TAILOR_WRITE_TOKEN_FILE": str(path)})


def _answer_on(target: str, user_id: str) -> tuple[list[str], int, grpc.StatusCode]:
    """Recommend and GetProfile over a fresh connection (so either worker may answer): Recommend's ids, the
    worker, and GetProfile's status on that same connection's worker."""
    with grpc.insecure_channel(target, options=_FRESH) as channel:
        stub = decision_pb2_grpc.DecisionStub(channel)
        reply, call = stub.Recommend.with_call(pb.RecommendRequest(user_id=user_id, n=10, request_id="forget"),
                                               timeout=10)
        worker = int(dict(call.trailing_metadata() or ())["x-tailor-worker"])
        try:
            _, profile_call = stub.GetProfile.with_call(pb.GetProfileRequest(user_id=user_id), timeout=10)
            code, profile_worker = grpc.StatusCode.OK, int(dict(profile_call.trailing_metadata())["x-tailor-worker"])
        except grpc.RpcError as exc:
            assert isinstance(exc, grpc.Call)
            code = exc.code()
            profile_worker = int(dict(exc.trailing_metadata() or ())["x-tailor-worker"])
    assert profile_worker == worker  # one connection, one worker
    return [i.item_id for i in reply.items], worker, code


def test_forgotten_on_every_worker_of_a_multi_worker_server(own_root: Path, tmp_path: Path) -> None:
    server = ServeProcess(own_root, "--workers", "2", "--threads", "2",
                          "--write-token-file", str(_token_file(tmp_path)))
    try:
        with TailorClient(server.target, timeout=10) as reader:
            anonymous = _ids(reader.recommend(10, request_id="forget"))  # as _answer_on asks
        before, _, code = _answer_on(server.target, LOYAL_USER)
        assert code == grpc.StatusCode.OK and before != anonymous
        with TailorClient(server.target, timeout=10, write_token=_TOKEN) as writer:
            assert not writer.forget_user(LOYAL_USER).already_forgotten
        workers = server.worker_pids()
        assert len(workers) == 2
        seen: set[int] = set()

        def every_worker_forgot() -> bool:
            ids, worker, status = _answer_on(server.target, LOYAL_USER)
            assert ids == anonymous and status == grpc.StatusCode.NOT_FOUND, (worker, status)
            seen.add(worker)
            return seen >= workers

        wait_until(every_worker_forgot, 60, lambda: f"only workers {seen} of {workers} answered")
    finally:
        server.stop()
