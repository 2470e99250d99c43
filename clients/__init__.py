"""How callers reach Tailor: the typed TailorClient and the `tailor` CLI."""

from clients.client import DEFAULT_TARGET, Decision, Filters, Reason, ScoredItem, TailorClient
from clients.errors import DeadlineExceeded, Internal, InvalidArgument, Overloaded, TailorClientError, Unavailable

__all__ = ["DEFAULT_TARGET", "Decision", "Filters", "Reason", "ScoredItem", "TailorClient",
           "TailorClientError", "InvalidArgument", "Overloaded", "DeadlineExceeded", "Unavailable", "Internal"]
