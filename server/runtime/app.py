"""Assemble one gRPC server process: Decision, health, reflection, and the artifact watcher."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import faiss
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from protos import decision_pb2, decision_pb2_grpc
from server.api.auth import read_write_token
from server.api.service import DecisionServicer, EventsServicer
from server.errors import ArtifactError
from server.live.store import LiveStore
from server.live.writer import WriterClient
from server.runtime.config import ServerConfig
from server.runtime.metrics import Metrics, process_metrics
from server.runtime.snapshot import load_snapshot, resolve_current
from server.runtime.versions import ArtifactWatcher, Poller, SnapshotHolder

__all__ = ["RunningServer", "ServicerFactory", "start_server"]

log = logging.getLogger(__name__)
FOLLOW_SECONDS = 0.02  # how often a worker replays the overlay log by itself (visibility: well under 50 ms)
SERVICE_NAME = decision_pb2.DESCRIPTOR.services_by_name["Decision"].full_name
EVENTS_NAME = decision_pb2.DESCRIPTOR.services_by_name["Events"].full_name
ServicerFactory = Callable[[ServerConfig, SnapshotHolder, Metrics, LiveStore | None],
                           decision_pb2_grpc.DecisionServicer]


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    holder: SnapshotHolder
    watcher: ArtifactWatcher
    health: health.HealthServicer
    live: LiveStore | None = None
    decision: decision_pb2_grpc.DecisionServicer | None = None
    writer: WriterClient | None = None
    follower: Poller | None = None

    def stop(self, grace: float | None = 5.0, lame_duck: float = 0.0) -> None:
        """Report NOT_SERVING, keep answering for `lame_duck` seconds, then refuse new calls and
        give in-flight ones `grace` seconds to finish.

        The lame-duck period matters: gRPC cancels calls that arrived but have not started
        when stop() is called, so callers that have not yet seen NOT_SERVING get served first.
        """
        self.health.enter_graceful_shutdown()
        if lame_duck > 0:
            time.sleep(lame_duck)
        self.server.stop(grace).wait()
        self.watcher.stop()
        if isinstance(self.decision, DecisionServicer):
            self.decision.close()  # the impressions still buffered
            self.decision.rules.stop()
        if self.follower is not None:
            self.follower.stop()
        self.holder.current.close()
        if self.writer is not None:
            self.writer.close()
        if self.live is not None:
            self.live.close()


def start_server(config: ServerConfig, *, make_servicer: ServicerFactory = DecisionServicer,
                 reuse_port: bool = False, writer: Path | None = None) -> RunningServer:
    """Load `current`, bind, start; returns once the server is answering.

    `reuse_port` lets several worker processes bind the same port (SO_REUSEPORT);
    `make_servicer` swaps the Decision implementation (the benchmark's floor server);
    `writer` is the socket of the live store's writer process (server/live/writer.py), which then commits
    TrackEvents' batches (without it, this process commits them itself).
    """
    # One query at a time per call: OpenMP threads inside FAISS only add overhead.
    faiss.omp_set_num_threads(1)
    metrics = process_metrics()
    holder = SnapshotHolder(load_snapshot(resolve_current(config.artifacts)))
    watcher = ArtifactWatcher(config.artifacts, holder, metrics, config.poll_seconds)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=config.threads),
                         maximum_concurrent_rpcs=config.max_concurrent,
                         options=[("grpc.so_reuseport", int(reuse_port))])
    # Each worker opens the live store itself, after the fork (LMDB environments do not survive one).
    live = LiveStore(config.artifacts) if config.live else None
    writer_client = WriterClient(writer) if live is not None and writer is not None else None
    follower = _overlay_follower(live, holder) if live is not None else None
    decision = make_servicer(config, holder, metrics, live)
    decision_pb2_grpc.add_DecisionServicer_to_server(decision, server)
    if live is not None:  # without the live store there is no Events service: its calls are UNIMPLEMENTED
        # Writes may take half a worker's threads (at least one): reads are never starved by a burst.
        writes = max(1, config.threads // 2)
        token = read_write_token(config.write_token_file) if config.write_token_file is not None else None
        decision_pb2_grpc.add_EventsServicer_to_server(EventsServicer(holder, metrics, live, writes, token,
                                                                      writer_client), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((SERVICE_NAME, EVENTS_NAME, reflection.SERVICE_NAME, health.SERVICE_NAME),
                                        server)
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    server.start()
    watcher.start()
    if follower is not None:
        follower.start()
    if isinstance(decision, DecisionServicer):
        decision.rules.start()  # the rules file's watcher (server/merchandising/reload.py)
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("worker_started port=%d version=%s", port, holder.current.version)
    return RunningServer(server, port, holder, watcher, health_servicer, live, decision, writer_client, follower)


def _overlay_follower(live: LiveStore, holder: SnapshotHolder) -> Poller:
    """A thread that keeps this process's overlays within FOLLOW_SECONDS of the live store, whether or not
    requests arrive (an idle worker would otherwise replay a long backlog at its next request)."""

    def follow() -> None:
        try:
            live.follow(holder.current.live_seq)
        except ArtifactError as exc:
            log.warning("overlay_follow_failed error=%s", exc)

    return Poller("overlay-follower", FOLLOW_SECONDS, follow)
