"""Snapshot: one verified artifact version, memory-mapped and read-only.

Per-item arrays are `np.load(mmap_mode="r")` views, the FAISS index is read
with IO_FLAG_MMAP, and LMDB is opened read-only without a lock file, so
every worker process shares one copy of the artifact in the page cache.
"""

from __future__ import annotations

import logging
from pathlib import Path

import faiss
import lmdb
import numpy as np

from protos import artifact, artifact_pb2
from server.errors import ArtifactError

__all__ = ["Snapshot", "load_snapshot", "resolve_current"]

log = logging.getLogger(__name__)


def resolve_current(root: Path) -> Path:
    """The version directory `ROOT/current` points at."""
    link = root / artifact.CURRENT_LINK
    try:
        return link.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ArtifactError(f"{link}: no current version ({exc})") from exc


class Snapshot:
    """Everything one version offers the ranking code; immutable once loaded."""

    def __init__(self, directory: Path, manifest: artifact_pb2.Manifest) -> None:
        self.directory = directory
        self.manifest = manifest
        self.version = manifest.version
        # Plain ndarray views of the maps: np.memmap's Python-level __getitem__ costs µs per index.
        arrays = {k: np.load(directory / f, mmap_mode="r").view(np.ndarray) for k, f in artifact.ITEM_ARRAYS.items()}
        self.vectors: np.ndarray = arrays["vectors"]
        self.item_ids: np.ndarray = arrays["ids"]
        self.category: np.ndarray = arrays["category"]
        self.brand: np.ndarray = arrays["brand"]
        self.price: np.ndarray = arrays["price"]
        self.in_stock: np.ndarray = arrays["in_stock"]
        self.popularity: np.ndarray = arrays["popularity"]
        self.popular_rows: np.ndarray = arrays["popular_rows"]
        self.n_items = int(self.vectors.shape[0])
        self.category_codes = {name: code for code, name in enumerate(manifest.categories)}
        self.brand_codes = {name: code for code, name in enumerate(manifest.brands)}
        self.index = self._open_index()
        self.env = lmdb.open(str(directory / artifact.STORE), subdir=False, readonly=True, lock=False,
                             max_dbs=2, readahead=False)
        self.item_db = self.env.open_db(artifact.DB_ITEM_ROWS, create=False)
        self.profile_db = self.env.open_db(artifact.DB_PROFILES, create=False)

    def _open_index(self) -> faiss.Index:
        index = faiss.read_index(str(self.directory / artifact.INDEX), faiss.IO_FLAG_MMAP)
        if self.manifest.index.nprobe > 0:
            ivf = faiss.extract_index_ivf(index)
            ivf.nprobe = self.manifest.index.nprobe
            # Mapped (on-disk) inverted lists prefetch with threads by default: ~5x slower per query.
            invlists = faiss.downcast_InvertedLists(ivf.invlists) if ivf.invlists is not None else None
            if isinstance(invlists, faiss.OnDiskInvertedLists):
                invlists.prefetch_nthread = 0
        return index

    def item_id(self, row: int) -> str:
        return bytes(self.item_ids[row]).decode("utf-8")

    def close(self) -> None:
        self.env.close()


def load_snapshot(directory: Path) -> Snapshot:
    """Open and verify one version; raises ArtifactError and leaves nothing open on failure."""
    try:
        manifest = artifact.read_manifest(directory)
        artifact.verify_files(directory, manifest)
        snapshot = Snapshot(directory, manifest)
    except artifact.ManifestMismatch as exc:
        raise ArtifactError(str(exc)) from exc
    except (OSError, ValueError, RuntimeError, lmdb.Error) as exc:
        raise ArtifactError(f"{directory}: cannot open: {exc}") from exc
    log.info("snapshot_loaded version=%s items=%d", snapshot.version, snapshot.n_items)
    return snapshot
