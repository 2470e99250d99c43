"""Errors the server raises on purpose (their one mapping to gRPC status codes is server/api/status.py).

TailorError
 +-- InvalidRequest      INVALID_ARGUMENT; `field` names the offending field (also sent as a
 |                       google.rpc.BadRequest field violation)
 +-- NotFound            NOT_FOUND: the thing asked for is not known (e.g. GetProfile of an
 |                       unknown user, or of one without consent: nothing about them is kept)
 +-- Busy                RESOURCE_EXHAUSTED: a worker's share of calls of this kind is taken
 |                       (TrackEvents: so writes never starve reads); retry after a back-off
 +-- Unauthenticated     UNAUTHENTICATED: a write call (TrackEvents, ForgetUser) without the
 |                       server's write token, or with a wrong one (server/api/auth.py)
 +-- Unavailable         UNAVAILABLE: a process the call needs is not answering (the live store's
 |                       writer, while the supervisor restarts it); retry after a back-off
 +-- ArtifactError       INTERNAL: a version that cannot be opened, does not verify, or fails
                         to read (LMDB, FAISS, arrays); converted where the library is called

Anything else escaping a handler is a bug: the servicer answers INTERNAL with a generic
message, logs the exception, and counts the call as INTERNAL.
"""

from __future__ import annotations

__all__ = ["TailorError", "InvalidRequest", "NotFound", "Busy", "Unauthenticated", "Unavailable", "ArtifactError"]


class TailorError(Exception):
    """Base of everything the server raises on purpose."""


class InvalidRequest(TailorError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.description = message
        super().__init__(f"{field}: {message}")


class NotFound(TailorError):
    """What the request names is not known."""


class Busy(TailorError):
    """Too many calls of this kind in flight on this worker."""


class Unauthenticated(TailorError):
    """A write call without the configured bearer token, or with another one."""


class Unavailable(TailorError):
    """A process this call needs (the live store's writer) is not answering."""


class ArtifactError(TailorError):
    """A version directory that cannot be opened, fails verification, or fails to read."""
