"""Write a version directory under a staging name and publish it atomically.

ROOT/.staging-<version>/  ->  fsync every file  ->  manifest.json last
  ->  rename to ROOT/<version>  ->  verify  ->  ROOT/current swapped by os.replace.
A build that dies anywhere before the final os.replace leaves `current` as it was;
stale staging directories are removed by the next build. After the switch, `prune` deletes
all but the newest versions (BuildConfig.keep_versions): disks do not fill with hourly builds, and a
forgotten shopper's profile leaves the disk with the last version that held it (docs/privacy.md).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import faiss
import lmdb
import numpy as np

from index_builder.errors import ArtifactWriteError
from protos import artifact, artifact_pb2

__all__ = ["Staging", "prune"]

log = logging.getLogger(__name__)


class Staging:
    """A version being written; `publish` makes it current, nothing else does."""

    def __init__(self, root: Path, version: str) -> None:
        self.root = root
        self.version = version
        self.dir = artifact.staging_dir(root, version)
        try:
            root.mkdir(parents=True, exist_ok=True)
            self._remove_stale()
            self.dir.mkdir()
        except OSError as exc:
            raise ArtifactWriteError(f"{root}: cannot create staging directory: {exc}") from exc
        self._files: list[str] = []

    def _remove_stale(self) -> None:
        for stale in self.root.glob(f"{artifact.STAGING_PREFIX}*"):
            log.warning("staging_removed dir=%s", stale.name)
            shutil.rmtree(stale, ignore_errors=True)

    def save_item(self, name: str, array: np.ndarray) -> None:
        """One of artifact.ITEM_ARRAYS, under its file name and in its dtype (a byte-string array keeps its
        width); an array of another rank, or text where numbers belong, is an ArtifactWriteError."""
        spec = artifact.ITEM_ARRAYS[name]
        if spec.dtype == "S":
            typed = np.asarray(array)
            if typed.dtype.kind != "S":
                raise ArtifactWriteError(f"{spec.file}: dtype {typed.dtype}, expected byte strings")
        else:
            try:
                typed = np.asarray(array, dtype=spec.dtype)
            except (TypeError, ValueError) as exc:
                raise ArtifactWriteError(f"{spec.file}: not {spec.dtype}: {exc}") from exc
        if typed.ndim != len(spec.shape):
            raise ArtifactWriteError(f"{spec.file}: shape {typed.shape}, expected ({', '.join(spec.shape)})")
        np.save(self.dir / spec.file, typed, allow_pickle=False)
        self._done(spec.file)

    def save_index(self, index: faiss.Index) -> None:
        faiss.write_index(index, str(self.dir / artifact.INDEX))
        self._done(artifact.INDEX)

    def save_ranker(self, model_text: str, arrays: dict[str, np.ndarray]) -> None:
        """The learned ranker: LightGBM's model text and its trees' arrays (protos.ranker.forest)."""
        (self.dir / artifact.RANKER_MODEL).write_text(model_text, encoding="utf-8")
        self._done(artifact.RANKER_MODEL)
        for stem, array in arrays.items():
            name = artifact.RANKER_ARRAY.format(stem)
            np.save(self.dir / name, array, allow_pickle=False)
            self._done(name)

    def save_store(self, profiles: Iterable[tuple[bytes, bytes]]) -> int:
        """Write the LMDB store (keys must come sorted); returns the number of profiles."""
        path = self.dir / artifact.STORE
        try:
            env = artifact.open_store(path, write=True)
        except lmdb.Error as exc:
            raise ArtifactWriteError(f"{path}: cannot create LMDB store: {exc}") from exc
        try:
            with env.begin(write=True) as txn:
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
        """Check the item arrays as the server will (artifact.check_arrays), manifest last, rename, verify,
        then switch `current`; returns the version dir."""
        self._check_items(manifest)
        manifest.files.extend(self.file_entries())
        artifact.write_manifest(self.dir, manifest)
        final = self.root / self.version
        os.rename(self.dir, final)
        artifact.fsync_path(self.root)
        try:
            artifact.verify_files(final, artifact.read_manifest(final))
        except artifact.ManifestMismatch as exc:
            raise ArtifactWriteError(f"written version does not verify: {exc}") from exc
        artifact.switch_current(self.root, final)
        log.info("version_published version=%s", self.version)
        return final

    def _check_items(self, manifest: artifact_pb2.Manifest) -> None:
        """A version the server would refuse is never published: the same table checks both."""
        missing = [spec.file for spec in artifact.ITEM_ARRAYS.values() if spec.file not in self._files]
        if missing:
            raise ArtifactWriteError(f"{missing[0]}: not written")
        arrays = {name: np.load(self.dir / spec.file, mmap_mode="r").view(np.ndarray)
                  for name, spec in artifact.ITEM_ARRAYS.items()}
        try:
            artifact.check_arrays(arrays, manifest)
        except artifact.ManifestMismatch as exc:
            raise ArtifactWriteError(f"written version does not verify: {exc}") from exc

    def abandon(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def prune(root: Path, keep: int) -> list[str]:
    """Delete the version directories of `root` (those with a manifest) but the `keep` newest by when their
    manifest was written, and never the one `current` points at; returns the names deleted. keep 0: none.
    A server still serving a deleted version keeps its open files until it swaps (Linux)."""
    if keep <= 0:
        return []
    current = artifact.resolve_current(root).name if (root / artifact.CURRENT_LINK).exists() else ""
    versions = [d for d in root.iterdir() if d.is_dir() and not d.is_symlink() and not d.name.startswith(".")
                and (d / artifact.MANIFEST).is_file()]
    versions.sort(key=lambda d: ((d / artifact.MANIFEST).stat().st_mtime_ns, d.name), reverse=True)
    doomed = [d for d in versions[keep:] if d.name != current]
    for old in doomed:
        shutil.rmtree(old, ignore_errors=True)
        log.info("version_pruned version=%s", old.name)
    return [d.name for d in doomed]
