"""The version directory's names and numbers: schema and profile layout versions, file names, event types."""

from __future__ import annotations

from protos import enums

SCHEMA_VERSION = 10
PROFILE_LAYOUT = 4
CURRENT_LINK = "current"
STAGING_PREFIX = ".staging-"
MANIFEST = "manifest.json"
INDEX = "index.faiss"
STORE = "store.lmdb"
DB_PROFILES = b"profiles"
# Event types in the order the builder codes them (decision.proto's InteractionType without UNSPECIFIED:
# view, cart, purchase); manifest.params.event_weights is keyed by these.
EVENT_TYPES = enums.INTERACTION_TYPES[1:]


class ManifestMismatch(Exception):
    """A version directory's files do not match its manifest, or its layout is unknown."""
