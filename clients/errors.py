"""Errors a TailorClient raises, one per gRPC status a caller can act on.

TailorClientError            any failed call; `.code` is the gRPC status, `.details` its message
 +-- InvalidArgument         the request was wrong; `.field` names the offending field
 +-- NotFound                what was asked for is not known (GetProfile: unknown user or no consent)
 +-- Overloaded              RESOURCE_EXHAUSTED: back off and retry
 +-- Unauthenticated         a write call without the server's write token, or with a wrong one
 +-- DeadlineExceeded        the call's deadline passed
 +-- Unavailable             no server listening, or it is draining
 +-- Internal                a fault on the server's side (logged there)
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

__all__ = ["TailorClientError", "InvalidArgument", "NotFound", "Overloaded", "Unauthenticated", "DeadlineExceeded",
           "Unavailable", "Internal", "describe", "from_rpc_error"]


class TailorClientError(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        self.details = details
        super().__init__(f"{code.name}: {details}")


class InvalidArgument(TailorClientError):
    def __init__(self, code: grpc.StatusCode, details: str, field: str = "") -> None:
        super().__init__(code, details)
        self.field = field


class NotFound(TailorClientError):
    pass


class Overloaded(TailorClientError):
    pass


class Unauthenticated(TailorClientError):
    pass


class DeadlineExceeded(TailorClientError):
    pass


class Unavailable(TailorClientError):
    pass


class Internal(TailorClientError):
    pass


_BY_CODE: dict[grpc.StatusCode, type[TailorClientError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Overloaded,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.INTERNAL: Internal,
}


def _violated_field(error: grpc.Call) -> str:
    """The field of the first google.rpc.BadRequest violation in the status details ("" if none)."""
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            if bad.field_violations:
                return str(bad.field_violations[0].field)
    return ""


def from_rpc_error(error: grpc.RpcError) -> TailorClientError:
    if not isinstance(error, grpc.Call):
        return TailorClientError(grpc.StatusCode.UNKNOWN, str(error))
    code, details = error.code(), error.details() or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(code, details, _violated_field(error))
    return _BY_CODE.get(code, TailorClientError)(code, details)


# gRPC's words for "nothing is listening there" (as opposed to a server that answered UNAVAILABLE: draining).
_CONNECT_FAILURES = ("failed to connect", "connection refused", "connect failed", "dns resolution failed",
                     "name resolution", "no route to host", "socket closed", "unreachable")


def describe(error: TailorClientError, target: str) -> str:
    """The one-line message a command prints for a failed call; no server at `target` says how to start one."""
    if isinstance(error, Unavailable) and any(words in error.details.lower() for words in _CONNECT_FAILURES):
        return (f"no Tailor server answers at {target} ({error.details}). Start one with `make demo`, or "
                f"`tailor serve --artifacts ROOT` after `tailor build`; or name another with --target HOST:PORT "
                f"or $TAILOR_TARGET")
    if isinstance(error, DeadlineExceeded):
        return (f"{error} — no answer from {target} in time: a busy server (retry, or raise --timeout), or "
                f"something at {target} that is not a Tailor server (start one with `make demo`, or name another "
                f"with --target HOST:PORT)")
    return str(error)
