"""Files and versions: checksums and fsync, the LMDB store, staging, switching `current`, manifest I/O."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import lmdb
from google.protobuf import json_format

from protos import artifact_pb2
from protos.artifact.layout import (
    CURRENT_LINK,
    DB_PROFILES,
    MANIFEST,
    PROFILE_LAYOUT,
    SCHEMA_VERSION,
    STAGING_PREFIX,
    ManifestMismatch,
)
from protos.artifact.records import has_history_or_withheld

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
        keys = [bytes(k) for k, v in txn.cursor().iternext() if has_history_or_withheld(v)]
    step = max(1, len(keys) // max(limit, 1))
    return [k.decode() for k in keys[::step][:limit]]


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
