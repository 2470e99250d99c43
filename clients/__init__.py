"""How callers reach Tailor: the typed TailorClient and the `tailor` CLI.

A lazy door: `import clients.flags` (which the builder's and the server's commands use) loads no gRPC.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clients.client import DEFAULT_TARGET, Decision, Filters, Reason, ScoredItem, TailorClient
    from clients.errors import DeadlineExceeded, Internal, InvalidArgument, Overloaded, TailorClientError, Unavailable

__all__ = ["DEFAULT_TARGET", "Decision", "Filters", "Reason", "ScoredItem", "TailorClient",
           "TailorClientError", "InvalidArgument", "Overloaded", "DeadlineExceeded", "Unavailable", "Internal"]

_CLIENT = {"DEFAULT_TARGET", "Decision", "Filters", "Reason", "ScoredItem", "TailorClient"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'clients' has no attribute {name!r}")
    return getattr(importlib.import_module("clients.client" if name in _CLIENT else "clients.errors"), name)
