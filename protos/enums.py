"""The wire contract's enums as the words the rest of Tailor uses (rules files, the manifest's event
weights, the artifact's channel codes), read from the generated code (decision_pb2) so a value added to
decision.proto is known everywhere at once instead of in hand-copied tuples.

A word is the value's name without the enum's prefix, lower-cased (CHANNEL_WEB -> "web"); the
UNSPECIFIED value (0) is "unknown". The words are indexed by the value's number.
"""

from __future__ import annotations

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from protos import decision_pb2 as pb

__all__ = ["enum_words", "INTERACTION_TYPES", "CHANNELS", "PAGES"]


def enum_words(enum: EnumTypeWrapper, prefix: str, unspecified: str = "unknown") -> tuple[str, ...]:
    """Each value's word, position = value number; ValueError unless the numbers are 0..n-1."""
    values = sorted(enum.DESCRIPTOR.values, key=lambda v: v.number)
    if [v.number for v in values] != list(range(len(values))) or not all(v.name.startswith(prefix) for v in values):
        raise ValueError(f"{enum.DESCRIPTOR.name}: values must be numbered 0..n-1 and named {prefix}*")
    return (unspecified, *(v.name.removeprefix(prefix).lower() for v in values[1:]))


INTERACTION_TYPES = enum_words(pb.InteractionType, "INTERACTION_TYPE_")  # unknown, view, cart, purchase
CHANNELS = enum_words(pb.Channel, "CHANNEL_")  # unknown, web, app, email, store
PAGES = enum_words(pb.Page, "PAGE_")  # unknown, home, product, cart, search
