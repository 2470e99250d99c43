"""Assemble and run the gRPC server: Decision, health and reflection."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass

import faiss
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from protos import decision_pb2, decision_pb2_grpc
from server.config import ServerConfig
from server.service import DecisionServicer, SnapshotHolder
from server.snapshot import load_snapshot, resolve_current

__all__ = ["RunningServer", "start_server", "serve"]

log = logging.getLogger(__name__)
_SERVICE = decision_pb2.DESCRIPTOR.services_by_name["Decision"].full_name


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    holder: SnapshotHolder
    health: health.HealthServicer

    def stop(self, grace: float | None = 5.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def start_server(config: ServerConfig) -> RunningServer:
    """Load `current`, bind, start; returns once the server is answering."""
    # One query at a time per call: OpenMP threads inside FAISS only add overhead.
    faiss.omp_set_num_threads(1)
    holder = SnapshotHolder(load_snapshot(resolve_current(config.artifacts)))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=config.threads))
    decision_pb2_grpc.add_DecisionServicer_to_server(DecisionServicer(config, holder), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((_SERVICE, reflection.SERVICE_NAME, health.SERVICE_NAME), server)
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    if port == 0:
        raise OSError(f"cannot bind {config.host}:{config.port}")
    server.start()
    for name in ("", _SERVICE):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("server_started port=%d version=%s", port, holder.get().version)
    return RunningServer(server, port, holder, health_servicer)


def serve(config: ServerConfig) -> None:
    """Run until SIGINT/SIGTERM, then drain in-flight calls."""
    running = start_server(config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("server_stopping")
    running.stop()
