"""The artifact directory layout: one place both the builder and the server import.

ROOT/
  current -> <version>          symlink, switched atomically with os.replace
  <version>/
    manifest.json               written last; lists every file with its sha256
    index.faiss                 FAISS index (inner product) over the raw ALS item factors, so a
                                user's score is the predicted preference; cold items are their
                                content vector at the warm items' lower-quartile length. It has
                                dim + 1 dimensions: the last makes every row the same length
                                (so IVF partitions well); queries append a 0
    item_vectors.npy            float32 [items, dim], the same directions L2-normalised (cosine)
    item_ids.npy                bytes [items]: row -> item id
    item_category.npy           int32 [items]: code into manifest.categories
    item_brand.npy              int32 [items]: code into manifest.brands
    item_price.npy              float32 [items]
    item_in_stock.npy           bool [items]
    item_popularity.npy         float32 [items], recency-weighted event mass
    popular_rows.npy            int32: in-stock rows, most popular first
    store.lmdb                  LMDB, two named dbs:
                                  item_rows: item id -> int32 row
                                  profiles:  user id -> profile record
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from google.protobuf import json_format

from protos import artifact_pb2

__all__ = [
    "SCHEMA_VERSION",
    "CURRENT_LINK",
    "MANIFEST",
    "INDEX",
    "ITEM_ARRAYS",
    "STORE",
    "DB_ITEM_ROWS",
    "DB_PROFILES",
    "Profile",
    "pack_profile",
    "unpack_profile",
    "ROW_DTYPE",
    "pack_row",
    "unpack_row",
    "file_sha256",
    "fsync_path",
    "index_queries",
    "read_manifest",
    "write_manifest",
    "verify_files",
    "ManifestMismatch",
]

SCHEMA_VERSION = 1
CURRENT_LINK = "current"
MANIFEST = "manifest.json"
INDEX = "index.faiss"
STORE = "store.lmdb"
DB_ITEM_ROWS = b"item_rows"
DB_PROFILES = b"profiles"
# Column name -> file; every per-item array has one row per catalog item.
ITEM_ARRAYS = {
    "vectors": "item_vectors.npy",
    "ids": "item_ids.npy",
    "category": "item_category.npy",
    "brand": "item_brand.npy",
    "price": "item_price.npy",
    "in_stock": "item_in_stock.npy",
    "popularity": "item_popularity.npy",
    "popular_rows": "popular_rows.npy",
}

# Profile record: header, then float32[dim] vector, int32[n_recent] recent
# item rows (oldest first), int32[n_purchased] purchased item rows (sorted).
_PROFILE_HEADER = struct.Struct("<BBHHH")
_PROFILE_LAYOUT = 1
_FLAG_CONSENT = 1
_ROW = struct.Struct("<i")
ROW_DTYPE = np.dtype("<i4")


class ManifestMismatch(Exception):
    """A version directory's files do not match its manifest."""


@dataclass(frozen=True, slots=True)
class Profile:
    """What the server knows of one user; arrays are views into the record."""

    consent: bool
    vector: np.ndarray
    recent: np.ndarray
    purchased: np.ndarray


def pack_profile(consent: bool, vector: np.ndarray, recent: np.ndarray, purchased: np.ndarray) -> bytes:
    """Encode one user's profile record (no JSON: the server decodes it per request)."""
    header = _PROFILE_HEADER.pack(
        _PROFILE_LAYOUT, _FLAG_CONSENT if consent else 0, len(vector), len(recent), len(purchased)
    )
    return b"".join(
        (
            header,
            np.ascontiguousarray(vector, dtype="<f4").tobytes(),
            np.ascontiguousarray(recent, dtype="<i4").tobytes(),
            np.ascontiguousarray(purchased, dtype="<i4").tobytes(),
        )
    )


def unpack_profile(record: bytes) -> Profile:
    """Decode a record written by `pack_profile` without copying the arrays."""
    layout, flags, dim, n_recent, n_purchased = _PROFILE_HEADER.unpack_from(record)
    if layout != _PROFILE_LAYOUT:
        raise ManifestMismatch(f"profile record layout {layout}, expected {_PROFILE_LAYOUT}")
    offset = _PROFILE_HEADER.size
    vector = np.frombuffer(record, dtype="<f4", count=dim, offset=offset)
    offset += 4 * dim
    recent = np.frombuffer(record, dtype="<i4", count=n_recent, offset=offset)
    offset += 4 * n_recent
    purchased = np.frombuffer(record, dtype="<i4", count=n_purchased, offset=offset)
    return Profile(bool(flags & _FLAG_CONSENT), vector, recent, purchased)


def pack_row(row: int) -> bytes:
    return _ROW.pack(row)


def unpack_row(value: bytes) -> int:
    return int(_ROW.unpack(value)[0])


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def index_queries(queries: np.ndarray) -> np.ndarray:
    """Queries [n, dim] laid out for index.faiss, whose rows carry one extra coordinate: a 0 appended."""
    padded = np.zeros((len(queries), queries.shape[1] + 1), dtype=np.float32)
    padded[:, :-1] = queries
    return padded


def fsync_path(path: Path) -> None:
    """Flush a file's (or a directory's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(version_dir: Path, manifest: artifact_pb2.Manifest) -> None:
    """Write manifest.json (the last file of a version) and fsync it."""
    text = json_format.MessageToJson(manifest, preserving_proto_field_name=True, indent=1)
    path = version_dir / MANIFEST
    with path.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def read_manifest(version_dir: Path) -> artifact_pb2.Manifest:
    path = version_dir / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestMismatch(f"{path}: cannot read manifest: {exc.strerror}") from exc
    manifest = artifact_pb2.Manifest()
    try:
        json_format.Parse(text, manifest)
    except json_format.ParseError as exc:
        raise ManifestMismatch(f"{path}: invalid manifest: {exc}") from exc
    if manifest.schema_version != SCHEMA_VERSION:
        raise ManifestMismatch(
            f"{path}: schema_version {manifest.schema_version}, this code reads {SCHEMA_VERSION}"
        )
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
