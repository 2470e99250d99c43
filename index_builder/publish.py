"""Write a version directory under a staging name and publish it atomically.

ROOT/.staging-<version>/  ->  fsync every file  ->  manifest.json last
  ->  rename to ROOT/<version>  ->  verify  ->  ROOT/current swapped by os.replace.
A build that dies anywhere before the final os.replace leaves `current` as it was;
stale staging directories are removed by the next build.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import faiss
import lmdb
import numpy as np

from index_builder.errors import ArtifactWriteError
from protos import artifact, artifact_pb2

__all__ = ["new_version_name", "Staging"]

log = logging.getLogger(__name__)
_STAGING_PREFIX = ".staging-"


def new_version_name() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


class Staging:
    """A version being written; `publish` makes it current, nothing else does."""

    def __init__(self, root: Path, version: str) -> None:
        self.root = root
        self.version = version
        self.dir = root / f"{_STAGING_PREFIX}{version}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            self._remove_stale()
            self.dir.mkdir()
        except OSError as exc:
            raise ArtifactWriteError(f"{root}: cannot create staging directory: {exc}") from exc
        self._files: list[str] = []

    def _remove_stale(self) -> None:
        for stale in self.root.glob(f"{_STAGING_PREFIX}*"):
            log.warning("staging_removed dir=%s", stale.name)
            shutil.rmtree(stale, ignore_errors=True)

    def save_array(self, name: str, array: np.ndarray) -> None:
        path = self.dir / name
        np.save(path, array, allow_pickle=False)
        self._done(name)

    def save_index(self, index: faiss.Index) -> None:
        faiss.write_index(index, str(self.dir / artifact.INDEX))
        self._done(artifact.INDEX)

    def save_store(self, item_rows: Iterable[tuple[bytes, bytes]], profiles: Iterable[tuple[bytes, bytes]],
                   map_size: int) -> int:
        """Write the LMDB store (keys must come sorted); returns the number of profiles."""
        path = self.dir / artifact.STORE
        env = lmdb.open(str(path), subdir=False, map_size=map_size, max_dbs=2, lock=False, sync=True)
        try:
            with env.begin(write=True) as txn:
                txn.cursor(env.open_db(artifact.DB_ITEM_ROWS, txn=txn)).putmulti(item_rows, append=True)
                _, added = txn.cursor(env.open_db(artifact.DB_PROFILES, txn=txn)).putmulti(profiles, append=True)
            env.sync(True)
        except lmdb.Error as exc:
            raise ArtifactWriteError(f"{path}: LMDB write failed: {exc}") from exc
        finally:
            env.close()
        self._done(artifact.STORE)
        return int(added)

    def _done(self, name: str) -> None:
        artifact.fsync_path(self.dir / name)
        self._files.append(name)

    def file_entries(self) -> list[artifact_pb2.ArtifactFile]:
        return [
            artifact_pb2.ArtifactFile(path=name, size_bytes=(self.dir / name).stat().st_size,
                                      sha256=artifact.file_sha256(self.dir / name))
            for name in self._files
        ]

    def publish(self, manifest: artifact_pb2.Manifest) -> Path:
        """Manifest last, rename, verify, then switch `current`; returns the version dir."""
        manifest.files.extend(self.file_entries())
        artifact.write_manifest(self.dir, manifest)
        final = self.root / self.version
        os.rename(self.dir, final)
        artifact.fsync_path(self.root)
        try:
            artifact.verify_files(final, artifact.read_manifest(final))
        except artifact.ManifestMismatch as exc:
            raise ArtifactWriteError(f"written version does not verify: {exc}") from exc
        link = self.root / f".{artifact.CURRENT_LINK}.tmp"
        link.unlink(missing_ok=True)
        link.symlink_to(self.version)
        os.replace(link, self.root / artifact.CURRENT_LINK)
        artifact.fsync_path(self.root)
        log.info("version_published version=%s", self.version)
        return final

    def abandon(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
