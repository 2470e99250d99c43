"""ServerConfig: one typed, frozen object, validated at start.

Precedence: defaults < config file ([server] table of a TOML file) < TAILOR_* environment < flags.
`tailor.example.toml` at the repository root lists every key with its default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from server.requests import Limits

__all__ = ["ServerConfig", "load_server_config", "config_from_env", "worker_count"]


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


_TYPES: dict[str, type] = {
    "artifacts": Path, "host": str, "port": int, "workers": int, "threads": int, "max_concurrent": int,
    "metrics_port": int, "poll_seconds": float, "drain_seconds": float, "lame_duck_seconds": float,
    "rerank_search_weight": float,
}


def _convert(key: str, value: object, source: str) -> object:
    kind = _TYPES[key]
    try:
        if kind is int and (isinstance(value, bool) or (isinstance(value, float) and not value.is_integer())):
            raise ValueError(f"not an integer: {value!r}")
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: {exc}") from exc


def _from_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as f:
            table = tomllib.load(f).get("server", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read config: {exc}") from exc
    unknown = sorted(set(table) - set(_TYPES))
    if unknown:
        raise ValueError(f"{path}: unknown key server.{unknown[0]}")
    return {k: _convert(k, v, f"{path}: server.{k}") for k, v in table.items()}


def _from_env(environ: Mapping[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for key in _TYPES:
        name = f"TAILOR_{key.upper()}"
        if name in environ:
            values[key] = _convert(key, environ[name], name)
    return values


def load_server_config(file: Path | None = None, environ: Mapping[str, str] | None = None,
                       flags: Mapping[str, object] | None = None) -> ServerConfig:
    """Defaults < `file` < TAILOR_* `environ` < `flags` (None values ignored); errors name the key."""
    values = _from_file(file) if file is not None else {}
    values.update(_from_env(os.environ if environ is None else environ))
    values.update({k: _convert(k, v, f"--{k.replace('_', '-')}") for k, v in (flags or {}).items() if v is not None})
    if "artifacts" not in values:
        raise ValueError("artifacts: required (--artifacts, TAILOR_ARTIFACTS or server.artifacts in the config file)")
    return ServerConfig(**values)  # type: ignore[arg-type]


def config_from_env(base: ServerConfig, environ: Mapping[str, str] | None = None) -> ServerConfig:
    """`base` with TAILOR_* environment variables applied over it (for programs that build a config)."""
    return replace(base, **_from_env(os.environ if environ is None else environ))  # type: ignore[arg-type]


def worker_count(config: ServerConfig) -> int:
    return config.workers or os.cpu_count() or 1
