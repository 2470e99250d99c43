"""Online server: memory-maps the current artifact version and answers Decision calls.

Rooms, in the order a request walks through them:
  api/            where requests enter and answers leave: the servicer, request parsing, auth, responses
  ranking/        the policy and the pure array stages: request arrays -> ranked candidates (no gRPC, no LMDB)
  merchandising/  rules files: their schema, the compiled rule set, its reload, the ranking stage
  experiments/    arms per shopper, the impressions log
  live/           the live store: TrackEvents' writer, each worker's replayed overlays, trending
  runtime/        config, the app and its worker processes, artifact versions and snapshots, metrics
  errors.py       the error hierarchy and its gRPC status codes
  serve_command.py  `tailor serve`

The door is lazy: `import server` loads nothing else; a name below is imported when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.errors import ArtifactError, InvalidRequest, TailorError
    from server.runtime.app import RunningServer, ServicerFactory, start_server
    from server.runtime.config import ServerConfig
    from server.runtime.snapshot import Snapshot, load_snapshot
    from server.runtime.versions import ArtifactWatcher, SnapshotHolder
    from server.runtime.workers import serve

_EXPORTS = {"RunningServer": "server.runtime.app", "ServicerFactory": "server.runtime.app",
            "start_server": "server.runtime.app", "serve": "server.runtime.workers",
            "ServerConfig": "server.runtime.config", "TailorError": "server.errors",
            "InvalidRequest": "server.errors", "ArtifactError": "server.errors",
            "Snapshot": "server.runtime.snapshot", "load_snapshot": "server.runtime.snapshot",
            "ArtifactWatcher": "server.runtime.versions", "SnapshotHolder": "server.runtime.versions"}
__all__ = ["ArtifactError", "ArtifactWatcher", "InvalidRequest", "RunningServer", "ServerConfig",
           "ServicerFactory", "Snapshot", "SnapshotHolder", "TailorError", "load_snapshot", "serve", "start_server"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'server' has no attribute {name!r}")
