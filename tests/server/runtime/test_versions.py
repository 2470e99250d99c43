"""Version swaps while calls stream: zero errors, new version after; a corrupt version is refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients import TailorClient, TailorClientError
from server import RunningServer, ServerConfig, Snapshot, start_server
from tests.support import LOYAL_USER, Answer, late_old_answers, publish_copy
from tests.waiting import wait_until

_PATIENCE = 60.0  # seconds a condition may take on a loaded machine; only a bound, never waited out


@pytest.fixture
def own_server(own_root: Path) -> Iterator[tuple[RunningServer, Path]]:
    server = start_server(ServerConfig(artifacts=own_root, port=0, poll_seconds=0.05))
    yield server, own_root
    server.stop(grace=None)


def _served(server: RunningServer) -> Snapshot:
    snapshot = server.holder.current
    assert snapshot is not None, "the server holds no version"
    return snapshot


def _stream(client: TailorClient, stop: threading.Event, answers: list[Answer], errors: list[Exception]) -> None:
    while not stop.is_set():
        try:
            sent = time.monotonic()
            version = client.recommend(5, user_id=LOYAL_USER).version
            answers.append(Answer(sent, time.monotonic(), version))
            sent = time.monotonic()
            version = client.rerank([("a", 1.0), ("b", 0.5)], user_id=LOYAL_USER).version
            answers.append(Answer(sent, time.monotonic(), version))
        except TailorClientError as exc:
            errors.append(exc)


def _sent_after_first(answers: list[Answer], version: str) -> int:
    """How many calls were sent after the first answer naming `version` arrived."""
    first = min((a.received for a in answers if a.version == version), default=None)
    return 0 if first is None else sum(a.sent > first for a in answers)


def test_swap_under_a_stream_of_calls_loses_nothing(own_server: tuple[RunningServer, Path]) -> None:
    server, root = own_server
    old = _served(server).version
    answers: list[Answer] = []
    errors: list[Exception] = []
    stop = threading.Event()
    with TailorClient(f"127.0.0.1:{server.port}", timeout=5) as client:
        threads = [threading.Thread(target=_stream, args=(client, stop, answers, errors)) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: len(answers) > 50, _PATIENCE, "the stream is answered")
            publish_copy(root, "v-swapped")
            # Once the new version answers, fifty more calls, which must all name it.
            wait_until(lambda: _sent_after_first(list(answers), "v-swapped") > 50, _PATIENCE,
                       lambda: f"fifty calls after the first answer from v-swapped ({len(answers)} answers)")
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert errors == []
    assert answers[0].version == old
    assert late_old_answers(answers, "v-swapped") == []


def test_corrupt_version_is_refused_and_the_old_keeps_serving(
        own_server: tuple[RunningServer, Path], caplog: pytest.LogCaptureFixture) -> None:
    server, root = own_server
    old = _served(server).version
    publish_copy(root, "v-corrupt", corrupt="item_vectors.npy")
    wait_until(lambda: any("version_refused dir=v-corrupt" in r.getMessage() for r in list(caplog.records)),
               _PATIENCE, "the watcher refuses v-corrupt")
    with TailorClient(f"127.0.0.1:{server.port}", timeout=5) as client:
        assert client.recommend(3, user_id=LOYAL_USER).version == old
    served = _served(server).directory
    assert served is not None
    publish_copy(root, "v-good", source=served.name)
    wait_until(lambda: _served(server).version == "v-good", _PATIENCE,
               lambda: f"v-good is served (serving {_served(server).version})")
