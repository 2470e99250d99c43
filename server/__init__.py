"""Online server: memory-maps the current artifact version and answers Decision calls."""

from server.app import RunningServer, ServicerFactory, start_server
from server.config import ServerConfig
from server.errors import ArtifactError, InvalidRequest, TailorError
from server.snapshot import Snapshot, load_snapshot
from server.versions import ArtifactWatcher, SnapshotHolder
from server.workers import serve

__all__ = ["RunningServer", "ServicerFactory", "serve", "start_server", "ServerConfig", "TailorError",
           "InvalidRequest", "ArtifactError", "Snapshot", "load_snapshot",
           "ArtifactWatcher", "SnapshotHolder"]
