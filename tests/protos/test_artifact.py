"""The disk contract's load-time checks: a version of the wrong shape is refused once, at load."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import faiss
import lmdb
import numpy as np
import pytest

from protos import artifact, artifact_pb2
from server import ArtifactError, load_snapshot
from tests.conftest import Built


def _tampered(built: Built, tmp_path: Path, change: Callable[[Path, artifact_pb2.Manifest], None]) -> Path:
    """A copy of the built version changed by `change`, with a manifest whose checksums match again:
    only the load-time shape checks can refuse it."""
    version = tmp_path / "v"
    shutil.copytree(artifact.resolve_current(built.root), version)
    manifest = artifact.read_manifest(version)
    change(version, manifest)
    for entry in manifest.files:
        entry.size_bytes = (version / entry.path).stat().st_size
        entry.sha256 = artifact.file_sha256(version / entry.path)
    artifact.write_manifest(version, manifest)
    return version


def _resave(name: str, transform: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path, artifact_pb2.Manifest], None]:
    def change(version: Path, _: artifact_pb2.Manifest) -> None:
        path = version / artifact.ITEM_ARRAYS[name].file
        np.save(path, transform(np.load(path)), allow_pickle=False)

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_resave("price", lambda a: a[:-1]), "item_price.npy: .* rows for"),
        (_resave("price", lambda a: a.astype(np.float64)), "item_price.npy: dtype float64"),
        (_resave("in_stock", lambda a: a.astype(np.int8)), "item_in_stock.npy: dtype int8"),
        (_resave("vectors", lambda a: a[:, :-1].copy()), "item_vectors.npy: shape"),
        (_resave("rows_by_id", lambda a: a + 1), "item_rows_by_id.npy: rows outside"),
        (_resave("neighbors", lambda a: a + len(a)), "item_neighbors.npy: rows outside"),
        (_resave("neighbor_weights", lambda a: a[:, :-1].copy()), "item_neighbors.npy: shape"),
        (_resave("bought_together", lambda a: a - 1 - len(a)), "item_bought_together.npy: rows outside"),
        (_resave("viewed_together", lambda a: a + len(a)), "item_viewed_together.npy: rows outside"),
        (_resave("viewed_together_weights", lambda a: a[:, :-1].copy()), "item_viewed_together.npy: shape"),
        (_resave("channel_popular_rows", lambda a: a[1:].copy()), "channel_popular_rows.npy: shape"),
        (_resave("channel_popular_rows", lambda a: a + 10**6), "channel_popular_rows.npy: rows outside"),
        (_resave("segment_popular_rows", lambda a: a[1:].copy()), "segment_popular_rows.npy: shape"),
        (_resave("segment_popular_rows", lambda a: a + 10**6), "segment_popular_rows.npy: rows outside"),
        (_resave("category_priors", lambda a: a[1:].copy()), "category_priors.npy: shape"),
        (_resave("category_priors", np.zeros_like), r"category_priors.npy: values outside \[1.0, inf\]"),
        (_resave("category_popular_rows", lambda a: a + 10**6), "category_popular_rows.npy: rows outside"),
        (lambda v, m: setattr(m, "profile_layout", 99), "profile_layout 99"),
        (lambda v, m: setattr(m, "schema_version", 1), "schema_version 1"),
        (lambda v, m: m.params.event_weights.pop("cart"), "event_weights lacks cart"),
    ],
)
def test_a_version_of_the_wrong_shape_is_refused_at_load(
    built: Built, tmp_path: Path, change: Callable[[Path, artifact_pb2.Manifest], None], message: str
) -> None:
    with pytest.raises(ArtifactError, match=message):
        load_snapshot(_tampered(built, tmp_path, change))


def test_an_index_of_another_dimension_is_refused(built: Built, tmp_path: Path) -> None:
    def change(version: Path, manifest: artifact_pb2.Manifest) -> None:
        index = faiss.IndexFlatIP(manifest.dim)  # one coordinate short of the contract's dim + 1
        index.add(np.zeros((manifest.counts.items, manifest.dim), dtype=np.float32))
        faiss.write_index(index, str(version / artifact.INDEX))
        manifest.index.nprobe = 0

    with pytest.raises(ArtifactError, match=r"index.faiss: d=32 ntotal=\d+, expected d=33"):
        load_snapshot(_tampered(built, tmp_path, change))


def test_a_failed_load_leaves_the_store_closed(built: Built, tmp_path: Path) -> None:
    """LMDB refuses a second open of one file in a process: opening it again proves the first was closed."""

    def drop_profiles(version: Path, _: artifact_pb2.Manifest) -> None:
        env = lmdb.open(str(version / artifact.STORE), subdir=False, max_dbs=1, lock=False)
        with env.begin(write=True) as txn:
            txn.drop(env.open_db(artifact.DB_PROFILES, txn=txn), delete=True)
        env.close()

    version = _tampered(built, tmp_path, drop_profiles)
    with pytest.raises(ArtifactError, match="cannot open"):
        load_snapshot(version)
    artifact.open_store(version / artifact.STORE).close()


def test_copy_version_and_switch_current(built: Built, tmp_path: Path) -> None:
    root = tmp_path / "root"
    source = artifact.resolve_current(built.root)
    shutil.copytree(source, root / source.name)
    artifact.switch_current(root, root / source.name)
    copy = artifact.copy_version(root, name="v-copy")
    assert artifact.read_manifest(copy).version == "v-copy"
    assert artifact.resolve_current(root).name == source.name  # copying never moves `current`
    artifact.switch_current(root, copy)
    assert artifact.resolve_current(root) == copy
    assert not list(root.glob(f"{artifact.STAGING_PREFIX}*")) and not list(root.glob(".current.tmp*"))
    load_snapshot(copy).close()


def test_a_layout_4_version_is_refused_at_load(built: Built, tmp_path: Path) -> None:
    """A version written before recent_at and purchase_counts (layout 4) is refused, never misread."""
    assert artifact.PROFILE_LAYOUT == 5
    version = _tampered(built, tmp_path, lambda v, m: setattr(m, "profile_layout", 4))
    with pytest.raises(ArtifactError, match="profile_layout 4, this code reads 5"):
        load_snapshot(version)


def test_built_profiles_carry_each_rows_last_touch_and_purchase_count(built: Built, own_root: Path) -> None:
    """Against the events file: recent_at is the shopper's latest event on the row (epoch s), purchase_counts
    their purchase events of it."""
    last: dict[tuple[str, str], int] = {}
    bought: dict[tuple[str, str], int] = {}
    with (built.data / "events.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if not row["user_id"]:
                continue
            key = (row["user_id"], row["item_id"])
            at = int(datetime.fromisoformat(row["ts"].replace("Z", "+00:00")).timestamp())
            last[key] = max(last.get(key, at), at)
            if row["type"] == "purchase":
                bought[key] = bought.get(key, 0) + 1
    version = artifact.resolve_current(own_root)  # a private copy: the session's servers hold built.root's LMDB
    ids = [i.decode() for i in np.load(version / artifact.ITEM_ARRAYS["ids"].file).tolist()]
    env = artifact.open_store(version / artifact.STORE)
    try:
        db = env.open_db(artifact.DB_PROFILES, create=False)
        with env.begin(db=db) as txn:
            profiles = {bytes(k).decode(): artifact.unpack_profile(bytes(v)) for k, v in txn.cursor()}
    finally:
        env.close()
    checked = repeat_buyers = 0
    for user, profile in profiles.items():
        if not profile.consent:
            continue
        assert profile.recent_at.tolist() == [last[user, ids[r]] for r in profile.recent.tolist()], user
        assert profile.purchase_counts.tolist() == [bought[user, ids[r]] for r in profile.purchased.tolist()], user
        assert (np.diff(profile.recent_at) >= 0).all()  # oldest first, like the rows
        checked += len(profile.recent)
        repeat_buyers += int((profile.purchase_counts > 1).any())
    assert checked > 1000 and repeat_buyers > 10
