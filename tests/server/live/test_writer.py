"""The live store's writer process (server/live/writer.py): concurrent batches from every worker are each
answered once with their own counts; a writer that is gone is UNAVAILABLE, a failed commit INTERNAL; the
supervisor restarts a killed writer and the client's retries land."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from clients import TailorClient
from clients.client import RETRY_OPTIONS
from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from protos.live import LiveEvent
from server.errors import ArtifactError, Unavailable
from server.live.writer import WriterClient
from tests.conftest import Built
from tests.support import LOYAL_USER, ServeProcess
from tests.waiting import wait_until


def _events(prefix: str, items: list[str], session: str) -> list[pb.Event]:
    now = int(time.time() * 1000)
    return [pb.Event(event_id=f"{prefix}-{k}", timestamp_ms=now, user_id=LOYAL_USER if k % 2 else "",
                     session_id=session, item_id=item, type=pb.INTERACTION_TYPE_VIEW, channel=pb.CHANNEL_WEB)
            for k, item in enumerate(items)]


def _everyone(users: Iterable[str]) -> dict[str, bool]:
    return dict.fromkeys(users, True)


@contextmanager
def _fake_writer(tmp_path: Path, answer: bytes | None) -> Iterator[Path]:
    """A socket that reads one request and answers `answer` as one frame (None: closes instead)."""
    path = tmp_path / "writer.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            length = int.from_bytes(conn.recv(4), "little")
            while length:
                length -= len(conn.recv(length))
            if answer is not None:
                conn.sendall(len(answer).to_bytes(4, "little") + answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        thread.join(10)
        listener.close()


_ONE = [LiveEvent("e1", 1_700_000_000_000, "", "s", "i1", 1, 1.0, 0.0, 1)]


def test_a_writer_that_is_not_there_is_unavailable(tmp_path: Path) -> None:
    client = WriterClient(tmp_path / "nobody.sock")
    with pytest.raises(Unavailable, match="the live store's writer is not answering"):
        client.store(_ONE, _everyone)


def test_a_writer_that_hangs_up_is_unavailable(tmp_path: Path) -> None:
    with _fake_writer(tmp_path, None) as path, pytest.raises(Unavailable, match="closed the connection"):
        WriterClient(path).store(_ONE, _everyone)


def test_a_failed_commit_is_an_artifact_error_with_the_writers_text(tmp_path: Path) -> None:
    with _fake_writer(tmp_path, b"\x01live store write failed: MapFullError") as path:
        client = WriterClient(path)
        try:
            with pytest.raises(ArtifactError, match="MapFullError"):
                client.store(_ONE, _everyone)
        finally:
            client.close()


def test_concurrent_batches_through_the_writer_are_each_answered_once(own_root: Path, built: Built) -> None:
    items = [i for i in built.store.category if built.store.in_stock[i]][:20]
    server = ServeProcess(own_root, "--workers", "2", "--threads", "4")
    answers: dict[str, list[pb.TrackEventsResponse]] = {}
    try:
        def send(sender: int) -> None:
            with TailorClient(server.target, timeout=30) as client:
                batches = [_events(f"w{sender}-{b}", items, f"s-w{sender}") for b in range(5)]
                answers[f"w{sender}"] = [client.track(batch) for batch in batches + batches[:2]]  # two retried

        threads = [threading.Thread(target=send, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 6
        for replies in answers.values():
            assert [(r.accepted, r.duplicates) for r in replies] == [(20, 0)] * 5 + [(0, 20)] * 2
        with TailorClient(server.target, timeout=30) as client:
            seen = {i.item_id for i in client.recommend(40, session_id="s-w3").items}
        assert seen.isdisjoint(items)  # the session's live views reached the overlay
    finally:
        server.stop()


def test_a_killed_writer_is_restarted_and_the_retried_batch_lands_once(own_root: Path, built: Built) -> None:
    items = [i for i in built.store.category if built.store.in_stock[i]][:5]
    server = ServeProcess(own_root, "--workers", "1")
    try:
        with TailorClient(server.target, timeout=30) as client:
            assert client.track(_events("k0", items, "s-k")).accepted == 5
            victim = server.writer_pid()
            assert victim is not None
            os.kill(victim, signal.SIGKILL)
            wait_until(lambda: server.writer_pid() not in (None, victim), 60, "the writer was not restarted")
            batch = _events("k1", items, "s-k")
            assert client.track(batch).accepted == 5
            assert (client.track(batch).duplicates, server.logged("writer_restarted") is not None) == (5, True)
    finally:
        server.stop()


def _first_on(target: str) -> tuple[str, str]:
    """Recommend for a new app visitor over a fresh connection: the first item and the worker that answered."""
    with grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1), *RETRY_OPTIONS]) as channel:
        reply, call = decision_pb2_grpc.DecisionStub(channel).Recommend.with_call(
            pb.RecommendRequest(n=10, context=pb.Context(channel=pb.CHANNEL_APP)), timeout=10)
    return reply.items[0].item_id, dict(call.trailing_metadata() or ())["x-tailor-worker"]


def test_what_trends_through_the_writer_reaches_every_worker(own_root: Path, built: Built) -> None:
    """The writer keeps trending weights in memory for a moment (TREND_SECONDS) and writes them when idle;
    both workers then lead a new app visitor's answer with the item."""
    rising = [i for i in built.store.category if built.store.in_stock[i]][-1]
    server = ServeProcess(own_root, "--workers", "2")
    try:
        with TailorClient(server.target, timeout=30) as client:
            now = int(time.time() * 1000)
            client.track([pb.Event(event_id=f"t-{k}", timestamp_ms=now, session_id=f"s-t{k}", item_id=rising,
                                   type=pb.INTERACTION_TYPE_PURCHASE, channel=pb.CHANNEL_APP) for k in range(30)])
        leading: set[str] = set()

        def both_workers_lead_with_it() -> bool:
            first, worker = _first_on(server.target)
            if first == rising:
                leading.add(worker)
            return len(leading) == 2

        wait_until(both_workers_lead_with_it, 60, lambda: f"workers leading with {rising}: {leading}")
    finally:
        server.stop()
