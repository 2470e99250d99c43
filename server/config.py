"""ServerConfig: one typed, frozen object, validated at start.

Precedence: defaults < TAILOR_* environment < flags (the CLI applies flags last).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from server.requests import Limits

__all__ = ["ServerConfig", "config_from_env", "worker_count"]


@dataclass(frozen=True)
class ServerConfig:
    artifacts: Path
    host: str = "127.0.0.1"
    port: int = 50051
    # Worker processes sharing the port (SO_REUSEPORT) and the mapped artifact; 0 = one per core.
    workers: int = 0
    # Threads per worker; calls beyond `max_concurrent` in flight get RESOURCE_EXHAUSTED at once.
    threads: int = 4
    max_concurrent: int = 32
    # Prometheus endpoint on the supervisor (aggregates all workers); None = off, 0 = any free port.
    metrics_port: int | None = None
    # How often each worker checks ROOT/current for a new version, and how long SIGTERM drains.
    poll_seconds: float = 1.0
    drain_seconds: float = 10.0
    # After SIGTERM, keep answering (health NOT_SERVING) this long before refusing new calls.
    lame_duck_seconds: float = 1.0
    # Weight of the search engine's own score in Rerank (the rest is the shopper's affinity).
    rerank_search_weight: float = 0.5
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"ServerConfig.port: must be 0-65535, got {self.port}")
        positive = {"threads": self.threads, "max_concurrent": self.max_concurrent,
                    "poll_seconds": self.poll_seconds, "drain_seconds": self.drain_seconds}
        for key, value in positive.items():
            if value <= 0:
                raise ValueError(f"ServerConfig.{key}: must be > 0, got {value}")
        if self.lame_duck_seconds < 0:
            raise ValueError(f"ServerConfig.lame_duck_seconds: must be >= 0, got {self.lame_duck_seconds}")
        if self.workers < 0:
            raise ValueError(f"ServerConfig.workers: must be >= 0, got {self.workers}")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ValueError(f"ServerConfig.metrics_port: must be 0-65535, got {self.metrics_port}")
        if not 0.0 <= self.rerank_search_weight <= 1.0:
            raise ValueError(f"ServerConfig.rerank_search_weight: must be in [0, 1], got {self.rerank_search_weight}")


_ENV = {"artifacts": Path, "host": str, "port": int, "workers": int, "threads": int, "max_concurrent": int,
        "metrics_port": int, "poll_seconds": float, "drain_seconds": float, "lame_duck_seconds": float,
        "rerank_search_weight": float}


def config_from_env(base: ServerConfig, environ: dict[str, str] | None = None) -> ServerConfig:
    """Apply TAILOR_<KEY> environment variables over `base`; a bad value names its variable."""
    environ = dict(os.environ) if environ is None else environ
    changes: dict[str, object] = {}
    for f in fields(base):
        name = f"TAILOR_{f.name.upper()}"
        if f.name in _ENV and name in environ:
            try:
                changes[f.name] = _ENV[f.name](environ[name])
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from exc
    return replace(base, **changes)  # type: ignore[arg-type]


def worker_count(config: ServerConfig) -> int:
    return config.workers or os.cpu_count() or 1
