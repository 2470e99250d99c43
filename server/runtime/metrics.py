"""Prometheus metrics, shared by all worker processes (prometheus_client multiprocess mode).

The supervisor sets PROMETHEUS_MULTIPROC_DIR before any worker starts (see
`prepare_multiprocess`); each worker writes its samples to files there and the
supervisor's endpoint aggregates them. Without the variable (tests, one
process) the same metrics live in the default registry.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

__all__ = ["prepare_multiprocess", "Metrics", "process_metrics", "start_metrics_endpoint", "worker_exited"]

_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess() -> Path:
    """Point prometheus_client at a fresh directory; must run before prometheus_client is imported."""
    directory = Path(tempfile.mkdtemp(prefix="tailor-metrics-"))
    os.environ[_ENV] = str(directory)
    return directory


class Metrics:
    """The server's instruments; one instance per process."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        buckets = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
        self.latency = Histogram("tailor_rpc_latency_seconds", "Server-side latency per RPC", ["rpc"],
                                 buckets=buckets)
        self.calls = Counter("tailor_rpc_calls", "Calls by RPC and status code", ["rpc", "code"])
        self.version = Gauge("tailor_artifact_version_info", "1 for the artifact version a worker serves",
                             ["version"], multiprocess_mode="livemax")
        self.created = Gauge("tailor_artifact_created_timestamp_seconds", "When the served version was built",
                             multiprocess_mode="livemin")
        self.age = Gauge("tailor_artifact_age_seconds", "Age of the oldest version being served",
                         multiprocess_mode="livemax")
        self.swaps = Counter("tailor_artifact_swaps", "Version swaps", ["outcome"])
        self.restarts = Counter("tailor_worker_restarts", "Worker processes restarted by the supervisor")
        # Experiments (server/experiments/arms.py): calls per variant, and answers remembered for attribution.
        self.variant_calls = Counter("tailor_experiment_calls", "Calls by RPC and experiment variant",
                                     ["rpc", "variant"])
        self.impressions = Counter("tailor_impressions", "Answers remembered for attribution, by outcome",
                                   ["outcome"])
        self.rules_version = Gauge("tailor_rules_version_info", "1 for the rules file version a worker applies",
                                   ["version"], multiprocess_mode="livemax")
        self.rules_loads = Counter("tailor_rules_loads", "Rules file loads by outcome (loaded, refused)",
                                   ["outcome"])


@functools.cache
def process_metrics() -> Metrics:
    """This process's instruments (metric names may be registered only once per process)."""
    return Metrics()


def start_metrics_endpoint(port: int, host: str) -> int:
    """Serve /metrics aggregated over every worker's files (or the default registry); returns the port."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

    registry = REGISTRY
    if _ENV in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    httpd, _ = start_http_server(port, addr=host, registry=registry)
    return int(httpd.server_port)


def worker_exited(pid: int) -> None:
    """Drop a dead worker's live gauges."""
    if _ENV in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
