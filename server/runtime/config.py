"""ServerConfig: one typed, frozen object, validated at start.

Precedence: defaults < config file ([server] and [ranking] tables of a TOML file) < TAILOR_*
environment (TAILOR_PORT, TAILOR_RANKING_SEARCH_WEIGHT, ...; a TAILOR_RANKING_ variable that names no
ranking key is an error, protos/settings.py) < flags; the builder's BuildConfig has the same shape.
`tailor.example.toml` at the repository root lists every key with its default. An [experiments] table
(server/experiments/arms.py) comes from the file only; each variant's ranking overrides apply over the
resulting [ranking].
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from protos.settings import ENV_PREFIX, environment_values, nearest, parse_boolean
from server.api.auth import read_write_token
from server.experiments.arms import Experiment, parse_experiment
from server.ranking.policy import RankingPolicy

__all__ = ["Limits", "ServerConfig", "load_server_config", "config_from_env", "worker_count"]


@dataclass(frozen=True)
class Limits:
    """Documented request bounds (see decision.proto)."""

    max_recommend: int = 500
    max_rerank_n: int = 1000
    max_candidates: int = 1000
    max_session: int = 100
    max_filter_values: int = 100
    max_query_bytes: int = 1024


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
    # Accept TrackEvents into ROOT/live (protos/live.py) and merge live events into answers.
    live: bool = True
    # A file holding the bearer token TrackEvents and ForgetUser require (server/api/auth.py); None = writes
    # are open (a local demo). Read at start; an empty or unreadable file is an error.
    write_token_file: Path | None = None
    # Merchandising rules file (docs/rules.md), watched every poll_seconds and swapped in when a new
    # version is valid; None = no rules.
    rules: Path | None = None
    ranking: RankingPolicy = field(default_factory=RankingPolicy)
    limits: Limits = field(default_factory=Limits)
    # The running experiment ([experiments]); None = none, answers name no variant.
    experiment: Experiment | None = None

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


_TYPES: dict[str, type] = {
    "artifacts": Path, "host": str, "port": int, "workers": int, "threads": int, "max_concurrent": int,
    "metrics_port": int, "poll_seconds": float, "drain_seconds": float, "lame_duck_seconds": float, "live": bool,
    "write_token_file": Path,
    "rules": Path,
}
_RANKING_TYPES: dict[str, type] = {f.name: {"float": float, "int": int, "bool": bool, "str": str}[str(f.type)]
                                   for f in fields(RankingPolicy)}


def _convert(key: str, value: object, source: str, types: Mapping[str, type] = _TYPES) -> object:
    kind = types[key]
    try:
        if kind is bool:
            return parse_boolean(value)
        if kind is int and (isinstance(value, bool) or (isinstance(value, float) and not value.is_integer())):
            raise ValueError(f"not an integer: {value!r}")
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: {exc}") from exc


def _table(path: Path, document: Mapping[str, object], name: str, types: Mapping[str, type]) -> dict[str, object]:
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: {name}: must be a table")
    unknown = sorted(set(table) - set(types))
    if unknown:
        raise ValueError(f"{path}: unknown key {name}.{unknown[0]}{nearest(unknown[0], types)}")
    return {k: _convert(k, v, f"{path}: {name}.{k}", types) for k, v in table.items()}


def _from_file(path: Path) -> tuple[dict[str, object], dict[str, object], dict[str, object] | None]:
    """The [server] and [ranking] tables of a TOML file, and its raw [experiments] table ([build] is
    ignored); any other table is an error."""
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read config: {exc}") from exc
    unknown = sorted(set(document) - {"server", "ranking", "build", "experiments"})  # [build] is `tailor build`'s
    if unknown:
        raise ValueError(f"{path}: unknown table [{unknown[0]}]")
    experiments = document.get("experiments")
    if experiments is not None and not isinstance(experiments, dict):
        raise ValueError(f"{path}: experiments: must be a table")
    return (_table(path, document, "server", _TYPES), _table(path, document, "ranking", _RANKING_TYPES),
            experiments)


def _from_env(environ: Mapping[str, str], section: str = "") -> dict[str, object]:
    """TAILOR_<KEY> for [server] keys, TAILOR_RANKING_<KEY> for [ranking] (`section` "ranking"); a
    TAILOR_RANKING_ variable naming no ranking key is an error (protos/settings.py)."""
    types = _RANKING_TYPES if section else _TYPES
    return environment_values(environ, f"{ENV_PREFIX}{section.upper()}_" if section else ENV_PREFIX, types,
                              lambda key, text, name: _convert(key, text, name, types), strict=bool(section))


def _ranking(base: RankingPolicy, values: Mapping[str, object]) -> RankingPolicy:
    try:
        return replace(base, **values)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ValueError(f"ranking: {exc}") from exc


def load_server_config(file: Path | None = None, environ: Mapping[str, str] | None = None,
                       flags: Mapping[str, object] | None = None) -> ServerConfig:
    """Defaults < `file` < TAILOR_* `environ` < `flags` (None values ignored); errors name the key."""
    environ = os.environ if environ is None else environ
    values, ranking, experiments = _from_file(file) if file is not None else ({}, {}, None)
    values.update(_from_env(environ))
    ranking.update(_from_env(environ, "ranking"))
    values.update({k: _convert(k, v, f"--{k.replace('_', '-')}") for k, v in (flags or {}).items() if v is not None})
    if "artifacts" not in values:
        raise ValueError("artifacts: required (--artifacts, TAILOR_ARTIFACTS or server.artifacts in the config file)")
    policy = _ranking(RankingPolicy(), ranking)
    experiment = None if experiments is None else parse_experiment(
        experiments, policy, lambda k, v, where: _convert(k, v, where, _RANKING_TYPES), str(file))
    config = ServerConfig(ranking=policy, experiment=experiment, **values)  # type: ignore[arg-type]
    if config.write_token_file is not None:
        read_write_token(config.write_token_file)  # refused at start, naming the key, not at the first write
    return config


def config_from_env(base: ServerConfig, environ: Mapping[str, str] | None = None) -> ServerConfig:
    """`base` with TAILOR_* environment variables applied over it (for programs that build a config)."""
    environ = os.environ if environ is None else environ
    ranking = _ranking(base.ranking, _from_env(environ, "ranking"))
    return replace(base, ranking=ranking, **_from_env(environ))  # type: ignore[arg-type]


def worker_count(config: ServerConfig) -> int:
    return config.workers or os.cpu_count() or 1
