"""The supervisor: N worker processes share one port and one mapped artifact.

Follows gRPC's multiprocessing example: the supervisor forks every worker
before any gRPC object exists in it, and reserves the port with a bound (not
listening) SO_REUSEPORT socket that each worker's server binds again. It
restarts a worker that dies and, on SIGTERM or SIGINT, has every worker
drain: health NOT_SERVING, new calls refused, in-flight calls finished.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from multiprocessing.process import BaseProcess
from pathlib import Path

from server.api.service import DecisionServicer
from server.errors import ArtifactError
from server.live.writer import run_writer
from server.runtime.app import ServicerFactory, start_server
from server.runtime.config import ServerConfig, worker_count
from server.runtime.metrics import prepare_multiprocess, process_metrics, start_metrics_endpoint, worker_exited

__all__ = ["serve"]

log = logging.getLogger(__name__)
_READY_TIMEOUT = 300.0
_FAST_CRASH = 2.0


@contextmanager
def _reserve_port(host: str, port: int) -> Iterator[int]:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@contextmanager
def _writer_socket(live: bool) -> Iterator[tuple[socket.socket, Path] | None]:
    """A listening Unix socket in a private directory for the writer process; None without the live store."""
    if not live:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="tailor-writer-") as directory:
        path = Path(directory) / "writer.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(path))
            sock.listen(128)
            yield sock, path
        finally:
            sock.close()


def _writer_main(config: ServerConfig, listener: socket.socket) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # Ctrl-C reaches the supervisor, which ends us
    run_writer(config.artifacts, listener)


def _worker_main(config: ServerConfig, ready: multiprocessing.SimpleQueue, make_servicer: ServicerFactory,
                 writer: Path | None) -> None:
    # Block SIGTERM/SIGINT before gRPC starts its threads (they inherit the mask), then wait for
    # SIGTERM synchronously: a handler could run only when the main thread wakes, and a signal
    # delivered to a gRPC thread would never wake it. Ctrl-C reaches the supervisor, which drains us.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        running = start_server(config, make_servicer=make_servicer, reuse_port=True, writer=writer)
    except ArtifactError as exc:
        ready.put(("failed", os.getpid(), str(exc)))
        return
    ready.put(("ready", os.getpid(), ""))
    signal.sigwait({signal.SIGTERM})
    log.info("worker_draining pid=%d", os.getpid())
    running.stop(config.drain_seconds, lame_duck=config.lame_duck_seconds)


class _Supervisor:
    def __init__(self, config: ServerConfig, count: int, make_servicer: ServicerFactory,
                 writer: tuple[socket.socket, Path] | None) -> None:
        self._config = config
        self._count = count
        self._make_servicer = make_servicer
        self._writer_socket = writer
        self._writer: tuple[BaseProcess, float] | None = None
        self._context = multiprocessing.get_context("fork")
        self._ready = self._context.SimpleQueue()
        self._workers: dict[int, tuple[BaseProcess, float]] = {}
        self._stopping = threading.Event()

    def _spawn(self, slot: int) -> None:
        path = self._writer_socket[1] if self._writer_socket is not None else None
        process = self._context.Process(target=_worker_main, name=f"tailor-worker-{slot}",
                                        args=(self._config, self._ready, self._make_servicer, path))
        process.start()
        self._workers[slot] = (process, time.monotonic())

    def _spawn_writer(self) -> None:
        if self._writer_socket is not None:
            process = self._context.Process(target=_writer_main, name="tailor-writer",
                                            args=(self._config, self._writer_socket[0]))
            process.start()
            self._writer = (process, time.monotonic())

    def _await_ready(self) -> None:
        """Wait until every worker has bound its port; a worker that dies or fails first is an error."""
        waiting = {p.pid for p, _ in self._workers.values()}
        deadline = time.monotonic() + _READY_TIMEOUT
        while waiting and not self._stopping.is_set():
            while not self._ready.empty():
                state, pid, detail = self._ready.get()
                if state != "ready":
                    raise ArtifactError(f"worker {pid} could not start: {detail}")
                waiting.discard(pid)
            dead = [p for p, _ in self._workers.values() if p.pid in waiting and not p.is_alive()]
            if dead:
                raise ArtifactError(f"worker {dead[0].pid} exited with code {dead[0].exitcode} while starting")
            if time.monotonic() > deadline:
                raise ArtifactError(f"workers not ready after {_READY_TIMEOUT:.0f}s")
            time.sleep(0.02)

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stopping.set())
        self._spawn_writer()
        for slot in range(self._count):
            self._spawn(slot)
        try:
            self._await_ready()
        except ArtifactError:
            self._drain()
            raise
        log.info("server_started port=%d workers=%d", self._config.port, self._count)
        while not self._stopping.wait(0.2):
            self._restart_dead()
        self._drain()

    def _restart_dead(self) -> None:
        while not self._ready.empty():
            self._ready.get()  # restarted workers' ready notes: keep the pipe from filling
        for slot, (process, started) in list(self._workers.items()):
            if process.is_alive() or self._stopping.is_set():
                continue
            process.join()
            worker_exited(process.pid or 0)
            if time.monotonic() - started < _FAST_CRASH:
                time.sleep(1.0)  # do not spin on a worker that dies at start
            log.warning("worker_restarted slot=%d pid=%s exitcode=%s", slot, process.pid, process.exitcode)
            if self._config.metrics_port is not None:
                process_metrics().restarts.inc()
            self._spawn(slot)
        if self._writer is not None and not self._writer[0].is_alive() and not self._stopping.is_set():
            process, started = self._writer
            process.join()
            if time.monotonic() - started < _FAST_CRASH:
                time.sleep(1.0)
            log.warning("writer_restarted pid=%s exitcode=%s", process.pid, process.exitcode)
            self._spawn_writer()

    def _drain(self) -> None:
        log.info("server_stopping workers=%d", len(self._workers))
        for process, _ in self._workers.values():
            if process.is_alive() and process.pid:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._config.drain_seconds + 5
        for process, _ in self._workers.values():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("worker_killed pid=%s", process.pid)
                process.kill()
                process.join()
        if self._writer is not None:  # after the workers: their last batches are committed
            process = self._writer[0]
            process.terminate()
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()


def serve(config: ServerConfig, make_servicer: ServicerFactory = DecisionServicer) -> None:
    """Run `workers` processes on one port until SIGTERM/SIGINT, then drain them all."""
    if config.metrics_port is not None:
        prepare_multiprocess()
    with _reserve_port(config.host, config.port) as port:
        config = replace(config, port=port)
        if config.metrics_port is not None:
            metrics_port = start_metrics_endpoint(config.metrics_port, config.host)
            log.info("metrics_started port=%d", metrics_port)
        with _writer_socket(config.live) as writer:
            _Supervisor(config, worker_count(config), make_servicer, writer).run()
