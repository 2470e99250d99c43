"""Version swaps while calls stream: zero errors, new version after; a corrupt version is refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients import TailorClient, TailorClientError
from server import RunningServer, ServerConfig, start_server
from tests.support import LOYAL_USER, publish_copy


@pytest.fixture
def own_server(own_root: Path) -> Iterator[tuple[RunningServer, Path]]:
    server = start_server(ServerConfig(artifacts=own_root, port=0, poll_seconds=0.05))
    yield server, own_root
    server.stop(grace=None)


def _stream(client: TailorClient, stop: threading.Event, versions: list[str], errors: list[Exception]) -> None:
    while not stop.is_set():
        try:
            versions.append(client.recommend(5, user_id=LOYAL_USER).version)
            versions.append(client.rerank([("a", 1.0), ("b", 0.5)], user_id=LOYAL_USER).version)
        except TailorClientError as exc:
            errors.append(exc)


def _until(predicate: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_swap_under_a_stream_of_calls_loses_nothing(own_server: tuple[RunningServer, Path]) -> None:
    server, root = own_server
    old = server.holder.current.version  # type: ignore[union-attr]
    versions: list[str] = []
    errors: list[Exception] = []
    stop = threading.Event()
    with TailorClient(f"127.0.0.1:{server.port}", timeout=5) as client:
        threads = [threading.Thread(target=_stream, args=(client, stop, versions, errors)) for _ in range(3)]
        for t in threads:
            t.start()
        assert _until(lambda: len(versions) > 50)
        publish_copy(root, "v-swapped")
        assert _until(lambda: versions[-1] == "v-swapped")
        count_at_swap = len(versions)
        assert _until(lambda: len(versions) > count_at_swap + 50)
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert versions[0] == old
    first_new = versions.index("v-swapped")
    # Once a call saw the new version, at most the few calls already in flight still name the old one.
    assert versions[first_new + 10:].count(old) == 0


def test_corrupt_version_is_refused_and_the_old_keeps_serving(own_server: tuple[RunningServer, Path]) -> None:
    server, root = own_server
    old = server.holder.current.version  # type: ignore[union-attr]
    publish_copy(root, "v-corrupt", corrupt="item_vectors.npy")
    time.sleep(0.5)  # ten polls
    with TailorClient(f"127.0.0.1:{server.port}", timeout=5) as client:
        assert client.recommend(3, user_id=LOYAL_USER).version == old
    publish_copy(root, "v-good", source=server.holder.current.directory.name)  # type: ignore[union-attr]
    assert _until(lambda: server.holder.current.version == "v-good")  # type: ignore[union-attr]
