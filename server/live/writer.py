"""The live store's writer process: one per server, it commits every worker's TrackEvents batches.

Workers check a batch and its users' consent, then hand the events to the writer over a Unix socket
and wait for its answer; the writer takes every batch waiting at that moment, commits them in one
LMDB write transaction with one fsync (a group commit, LiveStore.commit), and only then answers each
worker with its counts — so an acknowledged event is on disk, whichever process is killed next. The
write work and LMDB's write lock stay off the workers, whose gRPC threads would otherwise contend
for the GIL with the write transaction (py-lmdb releases it on every get and put).

Wire format (both directions: uint32 little-endian length, then that many bytes):
  request  per event: struct <BH (length of event_id, length of its EVENT record), event_id, record
  answer   struct <BIII (0 = committed, accepted, duplicates, not stored because forgotten); or 1
           followed by the error's text (the commit failed: nothing of the group was stored)

The trending weights of the committed events are written at most every TREND_SECONDS (LiveStore
`trend_every`), not with each commit, which would rewrite most of the trending db's pages every time.

The supervisor (server/runtime/workers.py) binds the socket before it forks anyone and restarts a writer
that dies; a worker whose writer is gone answers UNAVAILABLE, which the client retries (same event
ids: idempotent). A server of one process (tests, `start_server`) stores in process instead.
"""

from __future__ import annotations

import logging
import selectors
import signal
import socket
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import cast

from protos import live
from protos.live import LiveEvent
from server.errors import ArtifactError, Unavailable
from server.live.store import LiveStore, Stored, consented

__all__ = ["WriterClient", "run_writer", "PROCESS_NAME", "TREND_SECONDS"]

log = logging.getLogger(__name__)
PROCESS_NAME = "tailor-writer"  # its /proc comm, for `ps` and the tests that tell it from the workers
_LENGTH = struct.Struct("<I")
_EVENT = struct.Struct("<BH")
_ANSWER = struct.Struct("<BIII")
_TIMEOUT = 30.0  # seconds a worker waits for its answer (a commit takes milliseconds)
TREND_SECONDS = 0.5  # trending weights wait in the writer's memory at most this long (LiveStore trend_every)


def _encode(events: list[LiveEvent]) -> bytes:
    parts: list[bytes] = []
    for e in events:
        event_id, record = e.event_id.encode(), live.pack_event(e)
        parts += (_EVENT.pack(len(event_id), len(record)), event_id, record)
    return b"".join(parts)


def _decode(payload: bytes) -> tuple[list[LiveEvent], list[bytes]]:
    """The events of a request and their EVENT records (stored as they came)."""
    events, records, at = [], [], 0
    while at < len(payload):
        n_id, n_record = _EVENT.unpack_from(payload, at)
        at += _EVENT.size
        record = payload[at + n_id:at + n_id + n_record]
        events.append(live.unpack_event(payload[at:at + n_id].decode(), record))
        records.append(record)
        at += n_id + n_record
    return events, records


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """`n` bytes from `sock`; None when it closes first."""
    chunks, missing = [], n
    while missing:
        chunk = sock.recv(missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _recv_frame(sock: socket.socket) -> bytes | None:
    header = _recv_exact(sock, _LENGTH.size)
    return None if header is None else _recv_exact(sock, _LENGTH.unpack(header)[0])


def _send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_LENGTH.pack(len(payload)) + payload)


class WriterClient:
    """A worker's door to the writer process: `store` has LiveStore.store's meaning. One connection per
    call in flight (kept for the next call); a writer that is gone or silent is Unavailable."""

    def __init__(self, path: Path) -> None:
        self._path = str(path)
        self._idle: list[socket.socket] = []

    def store(self, events: list[LiveEvent], may_keep: Callable[[Iterable[str]], dict[str, bool]]) -> Stored:
        keep = consented(events, may_keep)
        if not keep:
            return Stored(0, 0, len(events))
        answer = self._call(_encode(keep))
        if answer[0] != 0:
            raise ArtifactError(answer[1:].decode(errors="replace"))
        _, accepted, duplicates, forgotten = _ANSWER.unpack(answer)
        return Stored(accepted, duplicates, forgotten + len(events) - len(keep))

    def _call(self, payload: bytes) -> bytes:
        try:  # the worker's gRPC threads share the idle connections: take one, or open one when none is left
            sock = self._idle.pop()
        except IndexError:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if sock.gettimeout() is None:  # a new connection
                sock.settimeout(_TIMEOUT)
                sock.connect(self._path)
            _send_frame(sock, payload)
            answer = _recv_frame(sock)
            detail = "it closed the connection"
        except OSError as exc:
            answer, detail = None, f"{type(exc).__name__}: {exc}"
        if answer is None:
            sock.close()
            self.close()  # the other idle connections went to the same writer: gone too, most likely
            raise Unavailable(f"events: the live store's writer is not answering ({detail}); retry")
        self._idle.append(sock)
        return answer

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def _answer(stored: Stored) -> bytes:
    return _ANSWER.pack(0, stored.accepted, stored.duplicates, stored.not_stored)


class _Writer:
    def __init__(self, store: LiveStore, listener: socket.socket) -> None:
        self._store = store
        self._listener = listener
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ)

    def serve_forever(self) -> None:
        try:
            while True:
                if not self.serve_once(TREND_SECONDS):
                    self._store.flush_trends()  # idle: nothing else will write them
        finally:
            self._store.flush_trends()

    def serve_once(self, timeout: float | None = None) -> int:
        """Accept new workers' connections, then commit every batch waiting now as one group; returns the
        number of batches committed."""
        group: list[tuple[socket.socket, tuple[list[LiveEvent], list[bytes]]]] = []
        for key, _ in self._selector.select(timeout):
            sock = cast(socket.socket, key.fileobj)
            if sock is self._listener:
                conn, _ = sock.accept()
                conn.settimeout(_TIMEOUT)  # a worker stalled mid-request cannot hold up the others for good
                self._selector.register(conn, selectors.EVENT_READ)
                continue
            try:
                payload = _recv_frame(sock)
            except OSError:
                payload = None
            if payload is None:  # the worker went away (exited, restarted, killed)
                self._selector.unregister(sock)
                sock.close()
                continue
            group.append((sock, _decode(payload)))
        if group:
            self._commit(group)
        return len(group)

    def _commit(self, group: list[tuple[socket.socket, tuple[list[LiveEvent], list[bytes]]]]) -> None:
        try:
            stored = self._store.commit([events for _, (events, _) in group], [records for _, (_, records) in group])
            answers = [_answer(s) for s in stored]
        except ArtifactError as exc:
            log.error("live_commit_failed batches=%d error=%s", len(group), exc)
            answers = [b"\x01" + str(exc).encode()] * len(group)
        for (sock, _), answer in zip(group, answers, strict=True):
            try:
                _send_frame(sock, answer)
            except OSError:  # that worker is gone; it never acknowledged, its caller retries
                self._selector.unregister(sock)
                sock.close()


def _name_process() -> None:
    try:
        Path("/proc/self/comm").write_text(PROCESS_NAME)
    except OSError:
        pass  # not Linux: only `ps` and the tests look at it


def run_writer(root: Path, listener: socket.socket) -> None:
    """The writer process's body: open ROOT/live (after the fork) and commit what the workers send on
    `listener` (bound and listening) until the process is ended."""
    _name_process()
    try:
        store = LiveStore(root, trend_every=TREND_SECONDS)
    except ArtifactError as exc:
        log.error("writer_failed error=%s", exc)
        raise SystemExit(1) from exc
    log.info("writer_started live=%s", root / live.LIVE_DIR)
    signal.signal(signal.SIGTERM, _exit)  # the supervisor's stop: write the waiting trending weights first
    _Writer(store, listener).serve_forever()


def _exit(*_: object) -> None:
    raise SystemExit(0)
