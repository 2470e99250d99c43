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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from multiprocessing.process import BaseProcess

from server.app import ServicerFactory, start_server
from server.config import ServerConfig, worker_count
from server.errors import ArtifactError
from server.metrics import prepare_multiprocess, process_metrics, start_metrics_endpoint, worker_exited
from server.service import DecisionServicer

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


def _worker_main(config: ServerConfig, ready: multiprocessing.SimpleQueue, make_servicer: ServicerFactory) -> None:
    # Block SIGTERM/SIGINT before gRPC starts its threads (they inherit the mask), then wait for
    # SIGTERM synchronously: a handler could run only when the main thread wakes, and a signal
    # delivered to a gRPC thread would never wake it. Ctrl-C reaches the supervisor, which drains us.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        running = start_server(config, make_servicer=make_servicer, reuse_port=True)
    except ArtifactError as exc:
        ready.put(("failed", os.getpid(), str(exc)))
        return
    ready.put(("ready", os.getpid(), ""))
    signal.sigwait({signal.SIGTERM})
    log.info("worker_draining pid=%d", os.getpid())
    running.stop(config.drain_seconds, lame_duck=config.lame_duck_seconds)


class _Supervisor:
    def __init__(self, config: ServerConfig, count: int, make_servicer: ServicerFactory) -> None:
        self._config = config
        self._count = count
        self._make_servicer = make_servicer
        self._context = multiprocessing.get_context("fork")
        self._ready = self._context.SimpleQueue()
        self._workers: dict[int, tuple[BaseProcess, float]] = {}
        self._stopping = threading.Event()

    def _spawn(self, slot: int) -> None:
        process = self._context.Process(target=_worker_main, name=f"tailor-worker-{slot}",
                                        args=(self._config, self._ready, self._make_servicer))
        process.start()
        self._workers[slot] = (process, time.monotonic())

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


def serve(config: ServerConfig, make_servicer: ServicerFactory = DecisionServicer) -> None:
    """Run `workers` processes on one port until SIGTERM/SIGINT, then drain them all."""
    if config.metrics_port is not None:
        prepare_multiprocess()
    with _reserve_port(config.host, config.port) as port:
        config = replace(config, port=port)
        if config.metrics_port is not None:
            metrics_port = start_metrics_endpoint(config.metrics_port, config.host)
            log.info("metrics_started port=%d", metrics_port)
        _Supervisor(config, worker_count(config), make_servicer).run()
