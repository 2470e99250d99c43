"""ServerConfig: one typed, frozen object, validated at start.

Precedence: defaults < TAILOR_* environment < flags (the CLI applies flags last).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from server.requests import Limits

__all__ = ["ServerConfig", "config_from_env"]


@dataclass(frozen=True)
class ServerConfig:
    artifacts: Path
    host: str = "127.0.0.1"
    port: int = 50051
    threads: int = 8
    # Weight of the search engine's own score in Rerank (the rest is the shopper's affinity).
    rerank_search_weight: float = 0.5
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"ServerConfig.port: must be 0-65535, got {self.port}")
        if self.threads < 1:
            raise ValueError(f"ServerConfig.threads: must be >= 1, got {self.threads}")
        if not 0.0 <= self.rerank_search_weight <= 1.0:
            raise ValueError(f"ServerConfig.rerank_search_weight: must be in [0, 1], got {self.rerank_search_weight}")


_ENV = {"artifacts": Path, "host": str, "port": int, "threads": int, "rerank_search_weight": float}


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
