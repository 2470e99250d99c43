"""The artifact directory: the one disk contract the builder, server, benchmark and tests share.

ROOT/
  current -> <version>          symlink, switched atomically with os.replace (`switch_current`)
  .staging-<version>/           a version being written (`staging_dir`); never served
  <version>/
    manifest.json               written last; lists every file with its sha256
    index.faiss                 FAISS index (inner product) over the raw ALS item factors, so a
                                user's score is the predicted preference; cold items are their
                                content vector at the warm items' lower-quartile length. It has
                                dim + 1 dimensions: the last makes every row the same length
                                (so IVF partitions well); queries append a 0 (`index_queries`)
    item_vectors.npy            float32 [items, dim], the same directions L2-normalised (cosine)
    item_ids.npy                S [items]: row -> item id
    item_titles.npy             S [items]: UTF-8 display title (items' optional `title`; empty where absent)
    item_ids_sorted.npy         S [items]: the ids in byte order, one byte wider than the longest
                                id (so a longer query id can never match a truncated prefix)
    item_rows_by_id.npy         int32 [items]: catalog row of each sorted id (`find_rows`)
    item_category.npy           int32 [items]: code into manifest.categories
    item_brand.npy              int32 [items]: code into manifest.brands
    item_price.npy              float32 [items]
    item_in_stock.npy           bool [items]
    popular_rows.npy            int32 [<= items]: in-stock rows, most popular first
    item_neighbors.npy          int32 [items, k]: each item's strongest item-item neighbours (EASE);
                                k = 0 when the catalog has no item-item model
    item_neighbor_weights.npy   float32 [items, k]: their weights (may be negative)
    item_bought_together.npy    int32 [items, k]: each item's strongest "bought together" partners (purchased in
                                the same session), best first, -1 padded (index_builder/complements.py);
                                k = BuildConfig.complement_neighbors (0: none)
    item_bought_together_weights.npy  float32 [items, k]: their strength in (0, 1] (cosine of the two
                                items' session sets), 0 where padded
    item_viewed_together.npy    int32 [items, k]: the same for items viewed in the same session
    item_viewed_together_weights.npy  float32 [items, k]
    item_successors.npy         int32 [items, k]: each item's strongest successors in shoppers' sequences
                                (what they touch soon after it), best first, -1 padded
                                (index_builder/sequences.py); k = BuildConfig.successor_neighbors (0: none)
    item_successor_weights.npy  float32 [items, k]: their strength (> 0), 0 where padded
    item_repurchase_rate.npy    float32 [items] in [0, 1]: share of the item's buyers who bought it
                                again (a later purchase occasion, BuildParams.repurchase_min_gap_days
                                or more after the previous one)
    item_repurchase_days.npy    float32 [items] >= 0: median days between consecutive purchase
                                occasions of its repeat buyers; 0 = no cycle learned (fewer than
                                BuildParams.repurchase_min_buyers repeat buyers)
    item_price_position.npy     float32 [items] 0..1: price percentile within the item's category
    item_first_seen.npy         int64 [items]: first event (epoch s); the reference time if none
    segment_popularity.npy      float32 [SEGMENTS, items] 0..1: each segment's popularity per item
    segment_popular_rows.npy    int32 [SEGMENTS, k]: each segment's most popular in-stock rows, -1 padded
    cell_popular_rows.npy       int32 [cells, k]: each demographic cell's most popular rows, -1 padded
                                (cell = (country + 1) x (len(manifest.age_bands) + 1) + age band + 1)
    channel_popular_rows.npy    int32 [len(CHANNELS), k]: per channel, its trending in-stock rows (events on that
                                channel, decayed like popular_rows), -1 padded; row 0 (all channels) is the
                                head of popular_rows. The top-up for a visitor without a profile on a channel
                                starts from that channel's row
    category_priors.npy         float32 [categories, 2]: per category (code into manifest.categories) the Beta
                                (alpha, beta) of "a shopper converts in it" the exploration step samples
                                (index_builder/exploration.py), both >= 1
    category_popular_rows.npy   int32 [categories, k]: per category its in-stock rows, most popular first, -1
                                padded: where an exploration slot takes its item
    store.lmdb                  LMDB (`open_store`), one named db:
                                  profiles: user id -> profile record (`pack_profile`): consent,
                                  scalar facts (RFM, segment, CLV, lifecycle, price band, tags,
                                  demographics), vector, recent item rows, purchased item rows
                                  and the last purchase time of each, top categories and brands

Every check of a version's shape happens once, at load (`check_arrays`, `check_index`,
`read_manifest`), never per request; the builder runs `check_arrays` too before it publishes. The
per-item arrays above are typed once, in ITEM_ARRAYS (file, dtype, shape, rows, optional): the builder's
writer, these checks and the server's Catalog all follow that table, so a new array is one entry there,
one field of server/snapshot.py's Catalog and the builder step that computes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import lmdb
import numpy as np
from google.protobuf import json_format

from protos import artifact_pb2, enums

__all__ = [
    "SCHEMA_VERSION", "PROFILE_LAYOUT", "CURRENT_LINK", "STAGING_PREFIX", "MANIFEST", "INDEX", "STORE",
    "DB_PROFILES", "EVENT_TYPES", "ArraySpec", "ITEM_ARRAYS", "empty_item_array", "Profile", "pack_profile",
    "unpack_profile",
    "FACTS", "RECORD_HEAD", "CONSENT_FLAG", "record_consent", "no_facts",
    "SEGMENTS", "LIFECYCLES", "PRICE_BANDS", "CHANNELS", "TAGS",
    "sorted_ids", "find_rows", "sample_user_ids", "file_sha256", "fsync_path", "index_queries", "open_store",
    "staging_dir", "new_version_name", "switch_current", "resolve_current", "copy_version", "clone_current",
    "read_manifest",
    "write_manifest", "verify_files", "check_arrays", "check_index", "ManifestMismatch",
]

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


@dataclass(frozen=True, slots=True)
class ArraySpec:
    """One memory-mapped per-item file, the one place its type is written down: the builder's writer casts
    to `dtype` (Staging.save_item), `check_arrays` checks every field at load, the server's Catalog has a
    field per table entry (server/snapshot.py), and a memory snapshot takes `empty_item_array` for an
    `optional` one.

    `shape` names each axis: "items" (one per catalog item), "<=items" (at most that many), "dim"
    (manifest.dim), "segments" (len(SEGMENTS)), "channels" (len(CHANNELS)), "categories"
    (len(manifest.categories)), a number (that many), or "k" / "cells" (any length)."""

    file: str
    dtype: str  # numpy dtype string; "S" = any byte-string width
    shape: tuple[str, ...]
    rows: bool = False  # the values are catalog rows (0..items-1)
    padded: bool = False  # ... and -1 pads a short list
    weights_of: str | None = None  # the weights of that rows array: the same shape
    values: tuple[float, float] | None = None  # every value finite and within [low, high]
    optional: bool = False  # a memory snapshot (unit tests) may go without it: `empty_item_array`


_INF = float("inf")
ITEM_ARRAYS = {
    "vectors": ArraySpec("item_vectors.npy", "<f4", ("items", "dim")),
    "ids": ArraySpec("item_ids.npy", "S", ("items",)),
    "titles": ArraySpec("item_titles.npy", "S", ("items",)),
    "ids_sorted": ArraySpec("item_ids_sorted.npy", "S", ("items",)),
    "rows_by_id": ArraySpec("item_rows_by_id.npy", "<i4", ("items",), rows=True),
    "category": ArraySpec("item_category.npy", "<i4", ("items",)),
    "brand": ArraySpec("item_brand.npy", "<i4", ("items",)),
    "price": ArraySpec("item_price.npy", "<f4", ("items",)),
    "in_stock": ArraySpec("item_in_stock.npy", "|b1", ("items",)),
    "popular_rows": ArraySpec("popular_rows.npy", "<i4", ("<=items",), rows=True),
    "neighbors": ArraySpec("item_neighbors.npy", "<i4", ("items", "k"), rows=True),
    "neighbor_weights": ArraySpec("item_neighbor_weights.npy", "<f4", ("items", "k"), weights_of="neighbors"),
    "bought_together": ArraySpec("item_bought_together.npy", "<i4", ("items", "k"), rows=True, padded=True),
    "bought_together_weights": ArraySpec("item_bought_together_weights.npy", "<f4", ("items", "k"),
                                         weights_of="bought_together"),
    "viewed_together": ArraySpec("item_viewed_together.npy", "<i4", ("items", "k"), rows=True, padded=True),
    "viewed_together_weights": ArraySpec("item_viewed_together_weights.npy", "<f4", ("items", "k"),
                                         weights_of="viewed_together"),
    "successors": ArraySpec("item_successors.npy", "<i4", ("items", "k"), rows=True, padded=True, optional=True),
    "successor_weights": ArraySpec("item_successor_weights.npy", "<f4", ("items", "k"), weights_of="successors",
                                   optional=True),
    "repurchase_rate": ArraySpec("item_repurchase_rate.npy", "<f4", ("items",), values=(0.0, 1.0)),
    "repurchase_days": ArraySpec("item_repurchase_days.npy", "<f4", ("items",), values=(0.0, _INF)),
    "price_position": ArraySpec("item_price_position.npy", "<f4", ("items",)),
    "first_seen": ArraySpec("item_first_seen.npy", "<i8", ("items",)),
    "segment_popularity": ArraySpec("segment_popularity.npy", "<f4", ("segments", "items")),
    "cell_popular_rows": ArraySpec("cell_popular_rows.npy", "<i4", ("cells", "k"), rows=True, padded=True),
    "segment_popular_rows": ArraySpec("segment_popular_rows.npy", "<i4", ("segments", "k"), rows=True, padded=True),
    "channel_popular_rows": ArraySpec("channel_popular_rows.npy", "<i4", ("channels", "k"), rows=True, padded=True,
                                      optional=True),
    "category_priors": ArraySpec("category_priors.npy", "<f4", ("categories", "2"), values=(1.0, _INF),
                                 optional=True),
    "category_popular_rows": ArraySpec("category_popular_rows.npy", "<i4", ("categories", "k"), rows=True,
                                       padded=True, optional=True),
}


def empty_item_array(name: str) -> np.ndarray:
    """An optional item array with no entries (every free axis 0, a numbered one its number)."""
    spec = ITEM_ARRAYS[name]
    dtype = "S1" if spec.dtype == "S" else spec.dtype
    return np.zeros(tuple(int(axis) if axis.isdigit() else 0 for axis in spec.shape), dtype=dtype)


# --- records -------------------------------------------------------------------------------------------------------

# Profile record (layout 4): header, then FACTS (one packed record of scalars), float32[dim] vector,
# int32[n_recent] recent item rows (oldest first), int32[n_purchased] purchased item rows (sorted),
# int64[n_purchased] the last purchase of each (epoch seconds, aligned with them), int32[n_recent]
# events on each recent row, then the top categories and brands: int32 codes and float32 weights
# (strongest first, weights summing to at most 1).
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


def no_facts() -> np.ndarray:
    """A writable FACTS[1] holding "nothing known" (browsers, unknown price band and demographics)."""
    return _NO_FACTS.copy()


def pack_profile(consent: bool, vector: np.ndarray, recent: np.ndarray, purchased: np.ndarray,
                 purchased_at: np.ndarray, recent_touches: np.ndarray, *, facts: np.ndarray | None = None,
                 categories: tuple[np.ndarray, np.ndarray] = (_NO_ROWS, _NO_WEIGHTS),
                 brands: tuple[np.ndarray, np.ndarray] = (_NO_ROWS, _NO_WEIGHTS)) -> bytes:
    """Encode one user's profile record (no JSON: the server decodes it per request).

    `categories` and `brands` are (codes, weights), strongest first, at most 255 of each."""
    if len(purchased_at) != len(purchased):
        raise ValueError(f"purchased_at: {len(purchased_at)} times for {len(purchased)} purchased items")
    if len(recent_touches) != len(recent):
        raise ValueError(f"recent_touches: {len(recent_touches)} counts for {len(recent)} recent items")
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
                         ("<i4", n_recent), ("<i4", n_categories), ("<f4", n_categories), ("<i4", n_brands),
                         ("<f4", n_brands)):
        part = np.frombuffer(record, dtype=dtype, count=count, offset=offset)
        parts.append(part)
        offset += part.nbytes
    facts, vector, recent, purchased, purchased_at, touches, categories, category_weights, brands, brand_weights = parts
    return Profile(bool(flags & _FLAG_CONSENT), vector, recent, purchased, purchased_at, touches, facts, categories,
                   category_weights, brands, brand_weights)


def sorted_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids in byte order, one byte wider than the longest; catalog row of each) for `find_rows`."""
    order = np.argsort(ids, kind="stable").astype(np.int32)
    return ids[order].astype(f"S{ids.dtype.itemsize + 1}"), order


def find_rows(ids_sorted: np.ndarray, rows_by_id: np.ndarray, ids: tuple[str, ...]) -> np.ndarray:
    """Catalog row of each id (int64), -1 where unknown: one binary search over the mapped arrays.

    Ids are cast to the sorted array's width; an id longer than every catalog id keeps more bytes
    than any of them has, so truncation can never turn it into a match.
    """
    if not ids or not len(ids_sorted):
        return np.full(len(ids), -1, dtype=np.int64)
    wanted = np.array(ids, dtype=ids_sorted.dtype)
    at = np.searchsorted(ids_sorted, wanted)
    np.minimum(at, len(ids_sorted) - 1, out=at)
    return np.where(ids_sorted[at] == wanted, rows_by_id[at], -1).astype(np.int64)


def index_queries(queries: np.ndarray) -> np.ndarray:
    """Queries [n, dim] laid out for index.faiss, whose rows carry one extra coordinate: a 0 appended."""
    padded = np.zeros((len(queries), queries.shape[1] + 1), dtype=np.float32)
    padded[:, :-1] = queries
    return padded


# --- files and versions --------------------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a file's (or a directory's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_store(path: Path, *, write: bool = False) -> lmdb.Environment:
    """The version's LMDB store: read-only and lock-free for serving (one copy in the page cache for
    every worker), or writable once by the builder. Raises lmdb.Error."""
    if write:
        # A sparse file's ceiling, not an allocation.
        return lmdb.open(str(path), subdir=False, map_size=1 << 40, max_dbs=1, lock=False, sync=True)
    return lmdb.open(str(path), subdir=False, readonly=True, lock=False, max_dbs=1, readahead=False)


def sample_user_ids(env: lmdb.Environment, limit: int) -> list[str]:
    """Up to `limit` user ids of shoppers with a history (a learned vector) or without consent, spread
    evenly over the store's key order: the traffic of benchmarks and load tests. Profiles of users who
    never did anything (only in users.csv) are left out, so the mix does not depend on how many of those
    a store lists. Raises lmdb.Error."""
    db = env.open_db(DB_PROFILES, create=False)
    with env.begin(db=db) as txn:
        keys = [bytes(k) for k, v in txn.cursor().iternext() if _has_history_or_withheld(v)]
    step = max(1, len(keys) // max(limit, 1))
    return [k.decode() for k in keys[::step][:limit]]


def _has_history_or_withheld(record: bytes) -> bool:
    _, flags, dim, *_ = _PROFILE_HEADER.unpack_from(record)
    return dim > 0 or not flags & _FLAG_CONSENT


def staging_dir(root: Path, version: str) -> Path:
    """Where a version is written before it is renamed to ROOT/<version>; never served."""
    return root / f"{STAGING_PREFIX}{version}"


def new_version_name() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def switch_current(root: Path, version_dir: Path) -> None:
    """Point ROOT/current at `version_dir` atomically (symlink + os.replace), durably."""
    link = root / f".{CURRENT_LINK}.tmp-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(version_dir.name)
    os.replace(link, root / CURRENT_LINK)
    fsync_path(root)


def resolve_current(root: Path) -> Path:
    """The version directory ROOT/current points at; raises ManifestMismatch when there is none."""
    link = root / CURRENT_LINK
    try:
        return link.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ManifestMismatch(f"{link}: no current version ({exc})") from exc


def copy_version(root: Path, name: str | None = None, source: str = CURRENT_LINK) -> Path:
    """Copy ROOT/<source> to ROOT/<name> as a new version (staged, fsynced, manifest renamed and
    written last); `current` is not switched. Returns the new version directory."""
    name = name or new_version_name()
    staging = staging_dir(root, name)
    try:
        shutil.copytree((root / source).resolve(strict=True), staging)
        manifest = read_manifest(staging)
        manifest.version = name
        for path in staging.iterdir():
            if path.name != MANIFEST:
                fsync_path(path)
        write_manifest(staging, manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    final = root / name
    os.rename(staging, final)
    fsync_path(root)
    return final


def clone_current(source_root: Path, root: Path) -> Path:
    """A copy of SOURCE_ROOT/current's version as ROOT's current (benchmarks and tests that must not touch
    the source: each LMDB file opens once per process, and a live store is kept beside the copy). Returns
    the copied version directory."""
    version = resolve_current(source_root)
    shutil.copytree(version, root / version.name)
    switch_current(root, root / version.name)
    return root / version.name


def write_manifest(version_dir: Path, manifest: artifact_pb2.Manifest) -> None:
    """Write manifest.json (the last file of a version) and fsync it."""
    text = json_format.MessageToJson(manifest, preserving_proto_field_name=True, indent=1)
    path = version_dir / MANIFEST
    with path.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def read_manifest(version_dir: Path) -> artifact_pb2.Manifest:
    """Parse manifest.json and refuse a schema or profile layout this code does not read."""
    path = version_dir / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestMismatch(f"{path}: cannot read manifest: {exc.strerror}") from exc
    manifest = artifact_pb2.Manifest()
    try:
        json_format.Parse(text, manifest)
    except (json_format.ParseError, json.JSONDecodeError) as exc:
        raise ManifestMismatch(f"{path}: invalid manifest: {exc}") from exc
    if manifest.schema_version != SCHEMA_VERSION:
        raise ManifestMismatch(f"{path}: schema_version {manifest.schema_version}, this code reads {SCHEMA_VERSION}")
    if manifest.profile_layout != PROFILE_LAYOUT:
        raise ManifestMismatch(f"{path}: profile_layout {manifest.profile_layout}, this code reads {PROFILE_LAYOUT}")
    return manifest


def verify_files(version_dir: Path, manifest: artifact_pb2.Manifest) -> None:
    """Check every listed file's size and sha256; raise ManifestMismatch naming the first bad one."""
    for entry in manifest.files:
        path = version_dir / entry.path
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ManifestMismatch(f"{path}: missing ({exc.strerror})") from exc
        if size != entry.size_bytes:
            raise ManifestMismatch(f"{path}: {size} bytes, manifest says {entry.size_bytes}")
        if file_sha256(path) != entry.sha256:
            raise ManifestMismatch(f"{path}: sha256 does not match the manifest")


def check_arrays(arrays: dict[str, np.ndarray], manifest: artifact_pb2.Manifest) -> None:
    """Every item array present and as ITEM_ARRAYS says: dtype, each axis, rows in the catalog, weights
    shaped like their rows, values in range; raise ManifestMismatch naming the file."""
    n_items = int(manifest.counts.items)
    sizes = {"items": n_items, "dim": int(manifest.dim), "segments": len(SEGMENTS), "channels": len(CHANNELS),
             "categories": len(manifest.categories)}
    for name, spec in ITEM_ARRAYS.items():
        array = arrays.get(name)
        if array is None:
            raise ManifestMismatch(f"{spec.file}: missing")
        _check_array(spec, array, sizes)
    for name, spec in ITEM_ARRAYS.items():
        if spec.weights_of is not None:
            rows, weights = arrays[spec.weights_of], arrays[name]
            if rows.shape != weights.shape:
                raise ManifestMismatch(f"{ITEM_ARRAYS[spec.weights_of].file}: shape {rows.shape}, weights "
                                       f"{weights.shape}")


def _check_array(spec: ArraySpec, array: np.ndarray, sizes: dict[str, int]) -> None:
    kind_ok = array.dtype.kind == "S" if spec.dtype == "S" else array.dtype == np.dtype(spec.dtype)
    if not kind_ok:
        raise ManifestMismatch(f"{spec.file}: dtype {array.dtype}, expected {spec.dtype}")
    expected = "(" + ", ".join(spec.shape) + ")"
    if array.ndim != len(spec.shape):
        raise ManifestMismatch(f"{spec.file}: shape {array.shape}, expected {expected}")
    n_items = sizes["items"]
    for axis, size in zip(spec.shape, array.shape, strict=True):
        if axis == "items" and size != n_items or axis == "<=items" and size > n_items:
            raise ManifestMismatch(f"{spec.file}: {size} rows for {n_items} items")
        wanted = int(axis) if axis.isdigit() else sizes.get(axis, size)
        if axis != "<=items" and size != wanted:
            raise ManifestMismatch(f"{spec.file}: shape {array.shape}, expected {expected} = "
                                   f"({', '.join(str(sizes.get(a, a)) for a in spec.shape)})")
    if not array.size:
        return
    if spec.rows:
        lowest = -1 if spec.padded else 0
        if not lowest <= int(array.min()) <= int(array.max()) < n_items:
            raise ManifestMismatch(f"{spec.file}: rows outside {lowest}..{n_items - 1}")
    if spec.values is not None:
        low, high = spec.values
        if not (np.isfinite(array).all() and low <= float(array.min()) <= float(array.max()) <= high):
            raise ManifestMismatch(f"{spec.file}: values outside [{low}, {high}] or non-finite")


def check_index(dimension: int, count: int, manifest: artifact_pb2.Manifest) -> None:
    """index.faiss holds one dim + 1 row per catalog item; raise ManifestMismatch."""
    if dimension != manifest.dim + 1 or count != manifest.counts.items:
        raise ManifestMismatch(f"{INDEX}: d={dimension} ntotal={count}, expected d={manifest.dim + 1} "
                               f"ntotal={manifest.counts.items}")
