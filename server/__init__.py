"""Online server: memory-maps the current artifact version and answers Decision calls."""

from server.app import RunningServer, serve, start_server
from server.config import ServerConfig
from server.errors import ArtifactError, InvalidRequest, NoArtifact, Overloaded, TailorError
from server.snapshot import Snapshot, load_snapshot

__all__ = ["RunningServer", "serve", "start_server", "ServerConfig", "TailorError", "InvalidRequest",
           "Overloaded", "NoArtifact", "ArtifactError", "Snapshot", "load_snapshot"]
