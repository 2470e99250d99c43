"""How callers reach Tailor: the typed TailorClient and the `tailor` CLI."""

from clients.client import DEFAULT_TARGET, Decision, Filters, Reason, ScoredItem, TailorClient
from clients.errors import DeadlineExceeded, InvalidArgument, NotFound, Overloaded, TailorClientError, Unavailable

__all__ = ["DEFAULT_TARGET", "Decision", "Filters", "Reason", "ScoredItem", "TailorClient",
           "TailorClientError", "InvalidArgument", "NotFound", "Overloaded", "DeadlineExceeded", "Unavailable"]
