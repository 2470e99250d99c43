"""Profile records in the store's `profiles` db: their layout, packing and unpacking, and the codes behind FACTS."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from protos import enums
from protos.artifact.layout import PROFILE_LAYOUT

# --- records -------------------------------------------------------------------------------------------------------

# Profile record (layout 5): header, then FACTS (one packed record of scalars), float32[dim] vector,
# int32[n_recent] recent item rows (oldest first), int32[n_purchased] purchased item rows (sorted),
# int64[n_purchased] the last purchase of each (epoch seconds, aligned with them), int32[n_recent]
# events on each recent row, int64[n_recent] the last touch of each recent row (epoch seconds, any event
# type; non-decreasing, as the rows are), int32[n_purchased] purchase events on each purchased row, then the
# top categories and brands: int32 codes and float32 weights (strongest first, weights summing to at most 1).
# Layout 5 added the last touches and purchase counts (the learned ranker's own_days_since and own_purchases,
# docs/ranker.md); a version of another layout is refused at load (read_manifest), never decoded.
_PROFILE_HEADER = struct.Struct("<BBHHHBB")
_FLAG_CONSENT = 1

# The names behind the small codes in FACTS, fixed by PROFILE_LAYOUT (docs/segments.md).
SEGMENTS = ("browsers", "champions", "loyal", "potential loyalists", "new", "promising", "needs attention",
            "about to sleep", "at risk", "can't lose them", "hibernating", "lost")
LIFECYCLES = ("new", "active", "lapsing", "lapsed")
PRICE_BANDS = ("unknown", "bargain", "mid", "premium")
CHANNELS = enums.CHANNELS  # the wire contract's Channel values, in order: unknown, web, app, email, store
TAGS = ("bargain hunter", "brand loyalist", "high value", "deal-driven")  # bit i = TAGS[i]

# One user's scalar facts. Codes: segment -> SEGMENTS, lifecycle -> LIFECYCLES, price_band -> PRICE_BANDS,
# channel -> CHANNELS, country/age_band -> manifest.countries/age_bands (-1 = not given), tags -> TAGS bits.
# r/f/m are 1..5 quintile scores (0 = no purchase in the RFM window); times are epoch ms (0 = never);
# price_position is where the shopper's paid prices sit in their categories' price ranges, 0..1
# (-1 = unknown); clv figures are from BG/NBD + Gamma-Gamma (docs/segments.md).
FACTS = np.dtype([
    ("first_seen_ms", "<i8"), ("last_seen_ms", "<i8"), ("last_purchase_ms", "<i8"), ("monetary_total", "<f8"),
    ("recency_days", "<f4"), ("monetary_avg", "<f4"), ("price_position", "<f4"), ("expected_purchases", "<f4"),
    ("p_alive", "<f4"), ("expected_value", "<f4"), ("clv", "<f4"),
    ("frequency", "<i4"), ("views", "<i4"), ("carts", "<i4"), ("purchases", "<i4"),
    ("country", "<i2"), ("age_band", "<i2"), ("tags", "<u2"),
    ("segment", "u1"), ("r", "u1"), ("f", "u1"), ("m", "u1"), ("lifecycle", "u1"), ("price_band", "u1"),
    ("channel", "u1"), ("reserved", "u1"),
])
# The fixed head of every profile record, for scans over a whole store (e.g. `tailor segments`): the
# layout byte, the flags (CONSENT_FLAG), and FACTS at a fixed offset.
RECORD_HEAD = np.dtype({"names": ["layout", "flags", "facts"], "formats": ["u1", "u1", FACTS],
                        "offsets": [0, 1, _PROFILE_HEADER.size], "itemsize": _PROFILE_HEADER.size + FACTS.itemsize})
CONSENT_FLAG = _FLAG_CONSENT
_NO_FACTS = np.zeros(1, dtype=FACTS)
_NO_FACTS["country"] = _NO_FACTS["age_band"] = -1
_NO_FACTS["price_position"] = -1
_NO_FACTS["segment"] = SEGMENTS.index("browsers")
_NO_FACTS.flags.writeable = False
_NO_ROWS = np.zeros(0, dtype="<i4")
_NO_WEIGHTS = np.zeros(0, dtype="<f4")
_NO_TIMES = np.zeros(0, dtype="<i8")


@dataclass(frozen=True, slots=True)
class Profile:
    """What the server knows of one user; arrays are views into the record."""

    consent: bool
    vector: np.ndarray  # empty: the user has no learned vector (no usable events)
    recent: np.ndarray
    purchased: np.ndarray
    purchased_at: np.ndarray  # int64 epoch seconds of the last purchase of each purchased row
    recent_touches: np.ndarray  # int32 events the user had on each recent row
    facts: np.ndarray = field(default_factory=lambda: _NO_FACTS)  # FACTS[1]
    categories: np.ndarray = field(default_factory=lambda: _NO_ROWS)  # top category codes, strongest first
    category_weights: np.ndarray = field(default_factory=lambda: _NO_WEIGHTS)
    brands: np.ndarray = field(default_factory=lambda: _NO_ROWS)
    brand_weights: np.ndarray = field(default_factory=lambda: _NO_WEIGHTS)
    # Decoded records always carry these two, aligned with recent / purchased; a Profile made by hand without
    # them has them empty.
    recent_at: np.ndarray = field(default_factory=lambda: _NO_TIMES)  # int64 epoch s of each recent row's last touch
    purchase_counts: np.ndarray = field(default_factory=lambda: _NO_ROWS)  # int32 purchase events per purchased row


def no_facts() -> np.ndarray:
    """A writable FACTS[1] holding "nothing known" (browsers, unknown price band and demographics)."""
    return _NO_FACTS.copy()


def pack_profile(consent: bool, vector: np.ndarray, recent: np.ndarray, purchased: np.ndarray,
                 purchased_at: np.ndarray, recent_touches: np.ndarray, *, facts: np.ndarray | None = None,
                 categories: tuple[np.ndarray, np.ndarray] = (_NO_ROWS, _NO_WEIGHTS),
                 brands: tuple[np.ndarray, np.ndarray] = (_NO_ROWS, _NO_WEIGHTS),
                 recent_at: np.ndarray | None = None, purchase_counts: np.ndarray | None = None) -> bytes:
    """Encode one user's profile record (no JSON: the server decodes it per request).

    `categories` and `brands` are (codes, weights), strongest first, at most 255 of each. `recent_at` (epoch s
    of each recent row's last touch) and `purchase_counts` (purchase events per purchased row) default to
    zeros: only records made by hand (tests, a withheld record) leave them out; the builder always passes them."""
    if recent_at is None:
        recent_at = np.zeros(len(recent), dtype="<i8")
    if purchase_counts is None:
        purchase_counts = np.zeros(len(purchased), dtype="<i4")
    if len(purchased_at) != len(purchased):
        raise ValueError(f"purchased_at: {len(purchased_at)} times for {len(purchased)} purchased items")
    if len(purchase_counts) != len(purchased):
        raise ValueError(f"purchase_counts: {len(purchase_counts)} counts for {len(purchased)} purchased items")
    if len(recent_touches) != len(recent):
        raise ValueError(f"recent_touches: {len(recent_touches)} counts for {len(recent)} recent items")
    if len(recent_at) != len(recent):
        raise ValueError(f"recent_at: {len(recent_at)} times for {len(recent)} recent items")
    for name, (codes, weights) in (("categories", categories), ("brands", brands)):
        if len(codes) != len(weights) or len(codes) > 255:
            raise ValueError(f"{name}: {len(codes)} codes and {len(weights)} weights (at most 255)")
    header = _PROFILE_HEADER.pack(PROFILE_LAYOUT, _FLAG_CONSENT if consent else 0, len(vector), len(recent),
                                  len(purchased), len(categories[0]), len(brands[0]))
    return b"".join((
        header,
        (_NO_FACTS if facts is None else np.asarray(facts, dtype=FACTS).reshape(1)).tobytes(),
        np.ascontiguousarray(vector, dtype="<f4").tobytes(),
        np.ascontiguousarray(recent, dtype="<i4").tobytes(),
        np.ascontiguousarray(purchased, dtype="<i4").tobytes(),
        np.ascontiguousarray(purchased_at, dtype="<i8").tobytes(),
        np.ascontiguousarray(recent_touches, dtype="<i4").tobytes(),
        np.ascontiguousarray(recent_at, dtype="<i8").tobytes(),
        np.ascontiguousarray(purchase_counts, dtype="<i4").tobytes(),
        *(np.ascontiguousarray(a, dtype=t).tobytes()
          for a, t in ((categories[0], "<i4"), (categories[1], "<f4"), (brands[0], "<i4"), (brands[1], "<f4")))
    ))


def record_consent(record: bytes | memoryview) -> bool:
    """A profile record's consent flag, without decoding the rest (the flags byte follows the layout byte)."""
    return bool(record[1] & _FLAG_CONSENT)


def unpack_profile(record: bytes) -> Profile:
    """Decode a record written by `pack_profile` without copying the arrays.

    The layout is checked once per version (manifest.profile_layout), not here.
    """
    _, flags, dim, n_recent, n_purchased, n_categories, n_brands = _PROFILE_HEADER.unpack_from(record)
    offset = _PROFILE_HEADER.size
    parts = []
    for dtype, count in ((FACTS, 1), ("<f4", dim), ("<i4", n_recent), ("<i4", n_purchased), ("<i8", n_purchased),
                         ("<i4", n_recent), ("<i8", n_recent), ("<i4", n_purchased), ("<i4", n_categories),
                         ("<f4", n_categories), ("<i4", n_brands), ("<f4", n_brands)):
        part = np.frombuffer(record, dtype=dtype, count=count, offset=offset)
        parts.append(part)
        offset += part.nbytes
    (facts, vector, recent, purchased, purchased_at, touches, recent_at, purchase_counts, categories,
     category_weights, brands, brand_weights) = parts
    return Profile(bool(flags & _FLAG_CONSENT), vector, recent, purchased, purchased_at, touches, facts, categories,
                   category_weights, brands, brand_weights, recent_at, purchase_counts)


def has_history_or_withheld(record: bytes) -> bool:
    _, flags, dim, *_ = _PROFILE_HEADER.unpack_from(record)
    return dim > 0 or not flags & _FLAG_CONSENT
