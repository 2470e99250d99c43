"""Errors a TailorClient raises, one per gRPC status a caller can act on.

TailorClientError            any failed call; `.code` is the gRPC status
 +-- InvalidArgument         the request was wrong; the message names the field
 +-- NotFound
 +-- Overloaded              RESOURCE_EXHAUSTED: back off and retry
 +-- DeadlineExceeded        the call's deadline passed
 +-- Unavailable             no server, or no artifact loaded yet
"""

from __future__ import annotations

import grpc

__all__ = ["TailorClientError", "InvalidArgument", "NotFound", "Overloaded", "DeadlineExceeded",
           "Unavailable", "from_rpc_error"]


class TailorClientError(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        self.details = details
        super().__init__(f"{code.name}: {details}")


class InvalidArgument(TailorClientError):
    pass


class NotFound(TailorClientError):
    pass


class Overloaded(TailorClientError):
    pass


class DeadlineExceeded(TailorClientError):
    pass


class Unavailable(TailorClientError):
    pass


_BY_CODE: dict[grpc.StatusCode, type[TailorClientError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Overloaded,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
}


def from_rpc_error(error: grpc.RpcError) -> TailorClientError:
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (error.details() if isinstance(error, grpc.Call) else str(error)) or ""
    return _BY_CODE.get(code, TailorClientError)(code, details)
