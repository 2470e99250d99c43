"""The version directory's names and numbers: schema and profile layout versions, file names, event types."""

from __future__ import annotations

from protos import enums

SCHEMA_VERSION = 10
PROFILE_LAYOUT = 5  # 5: recent_at and purchase_counts in the profile record (records.py)
CURRENT_LINK = "current"
STAGING_PREFIX = ".staging-"
MANIFEST = "manifest.json"
INDEX = "index.faiss"
STORE = "store.lmdb"
DB_PROFILES = b"profiles"
# The learned ranker (manifest.ranker): LightGBM's model text and its trees as arrays, one file per
# protos.ranker.forest.Forest.arrays() stem (ranker_<stem>.npy).
RANKER_MODEL = "ranker.txt"
RANKER_ARRAY = "ranker_{}.npy"
# Event types in the order the builder codes them (decision.proto's InteractionType without UNSPECIFIED:
# view, cart, purchase); manifest.params.event_weights is keyed by these.
EVENT_TYPES = enums.INTERACTION_TYPES[1:]

# The catalog's name for an item without a brand (an empty or absent brand cell, as in every MovieLens import),
# and the pair of names that never count as a brand: no brand affinity, no brand reason, no brand cap, no
# brand-loyalist tag.
UNBRANDED = "unbranded"
NO_BRAND = (UNBRANDED, "")


class ManifestMismatch(Exception):
    """A version directory's files do not match its manifest, or its layout is unknown."""
