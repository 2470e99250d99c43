"""The one mapping of the server's errors (server/errors.py) to gRPC status codes, where requests enter."""

from __future__ import annotations

import grpc

from server.errors import ArtifactError, Busy, InvalidRequest, NotFound, TailorError, Unauthenticated, Unavailable

__all__ = ["status_of"]

_STATUS: dict[type[TailorError], grpc.StatusCode] = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    Busy: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
    ArtifactError: grpc.StatusCode.INTERNAL,
}


def status_of(error: TailorError) -> grpc.StatusCode:
    for kind, code in _STATUS.items():
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL
