"""Which artifact version answers: SnapshotHolder (swap between requests) and ArtifactWatcher.

Availability first (TF Serving's policy): a new version is opened and verified
in the background while the old one keeps answering; the swap is one pointer
assignment; the old version is closed only after its in-flight calls finish.
A version that fails verification is refused, logged, and never retried.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from server.errors import ArtifactError
from server.runtime.metrics import Metrics
from server.runtime.snapshot import Snapshot, load_snapshot, resolve_current

__all__ = ["SnapshotHolder", "ArtifactWatcher", "Poller"]

log = logging.getLogger(__name__)


class SnapshotHolder:
    """The snapshot calls are answered from, with a count of calls using each one."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._current = snapshot
        self._in_flight: dict[int, int] = {}
        self._idle = threading.Condition()

    @property
    def current(self) -> Snapshot:
        return self._current

    @contextmanager
    def use(self) -> Iterator[Snapshot]:
        """The current snapshot, guaranteed open until the block ends."""
        with self._idle:
            snapshot = self._current
            key = id(snapshot)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            yield snapshot
        finally:
            with self._idle:
                self._in_flight[key] -= 1
                if not self._in_flight[key]:
                    del self._in_flight[key]
                    self._idle.notify_all()

    def swap(self, snapshot: Snapshot) -> Snapshot:
        """Make `snapshot` current; returns the previous one (still possibly in use)."""
        with self._idle:
            old, self._current = self._current, snapshot
        return old

    def wait_idle(self, snapshot: Snapshot, timeout: float) -> bool:
        """Block until no call uses `snapshot`; False if `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: id(snapshot) not in self._in_flight, timeout)


def _lower_thread_priority() -> None:
    """Nice this thread: verifying a new version hashes every file (hashlib releases the GIL),
    and that work must take only CPU the serving threads leave idle, or calls queue up during a swap."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except OSError as exc:
        log.warning("watcher_priority_unchanged reason=%s", exc.strerror)


def _created_ts(snapshot: Snapshot) -> float:
    try:
        return datetime.fromisoformat(snapshot.created_at).timestamp()
    except ValueError:
        return 0.0


class Poller:
    """A daemon thread that calls `tick` every `seconds` until stopped (`setup` runs first, on the thread)."""

    def __init__(self, name: str, seconds: float, tick: Callable[[], object],
                 setup: Callable[[], None] = lambda: None) -> None:
        self._seconds = seconds
        self._tick = tick
        self._setup = setup
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._seconds + 5)

    def _run(self) -> None:
        self._setup()
        while not self._stop.wait(self._seconds):
            self._tick()


class ArtifactWatcher:
    """Polls ROOT/current and swaps verified new versions into a holder."""

    def __init__(self, root: Path, holder: SnapshotHolder, metrics: Metrics, poll_seconds: float,
                 close_timeout: float = 60.0) -> None:
        self._root = root
        self._holder = holder
        self._metrics = metrics
        self._close_timeout = close_timeout
        self._refused: set[Path] = set()
        self._poller = Poller("artifact-watcher", poll_seconds, self.check_once, _lower_thread_priority)
        self.publish_gauges()

    def start(self) -> None:
        self._poller.start()

    def stop(self) -> None:
        self._poller.stop()

    def check_once(self) -> bool:
        """Swap in the version `current` points at if it is new and verifies; True if swapped."""
        self.publish_gauges()
        try:
            target = resolve_current(self._root)
        except ArtifactError:
            return False
        if self._holder.current.directory == target or target in self._refused:
            return False
        try:
            snapshot = load_snapshot(target)
        except ArtifactError as exc:
            self._refused.add(target)
            self._metrics.swaps.labels("refused").inc()
            log.error("version_refused dir=%s reason=%s", target.name, exc)
            return False
        self._retire(self._holder.swap(snapshot))
        self._metrics.swaps.labels("swapped").inc()
        self.publish_gauges()
        log.info("version_swapped version=%s", snapshot.version)
        return True

    def _retire(self, old: Snapshot) -> None:
        self._metrics.version.labels(old.version).set(0)
        if self._holder.wait_idle(old, self._close_timeout):
            old.close()
        else:
            log.warning("version_not_idle version=%s seconds=%.0f", old.version, self._close_timeout)

    def publish_gauges(self) -> None:
        snapshot = self._holder.current
        created = _created_ts(snapshot)
        self._metrics.version.labels(snapshot.version).set(1)
        self._metrics.created.set(created)
        self._metrics.age.set(max(0.0, time.time() - created) if created else 0.0)
