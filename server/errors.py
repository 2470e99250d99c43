"""Errors the server raises, and their one mapping to gRPC status codes.

TailorError
 +-- InvalidRequest      INVALID_ARGUMENT; `field` names the offending field
 +-- Overloaded          RESOURCE_EXHAUSTED
 +-- NoArtifact          UNAVAILABLE: no verified version loaded yet
 +-- ArtifactError       a version that cannot be opened or does not verify
"""

from __future__ import annotations

import grpc

__all__ = ["TailorError", "InvalidRequest", "Overloaded", "NoArtifact", "ArtifactError", "status_of"]


class TailorError(Exception):
    """Base of everything the server raises on purpose."""


class InvalidRequest(TailorError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class Overloaded(TailorError):
    """Too many calls in flight; the caller should back off."""


class NoArtifact(TailorError):
    """The server has no verified artifact version to answer from."""


class ArtifactError(TailorError):
    """A version directory that cannot be opened or fails verification."""


_STATUS = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    Overloaded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    NoArtifact: grpc.StatusCode.UNAVAILABLE,
    ArtifactError: grpc.StatusCode.INTERNAL,
}


def status_of(error: TailorError) -> grpc.StatusCode:
    for kind, code in _STATUS.items():
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL
