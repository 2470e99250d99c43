"""One item-array table (artifact.ITEM_ARRAYS): the builder writes from it, the load-time checks and the
server's Catalog are derived from it, and a built demo version matches it file for file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from index_builder.errors import ArtifactWriteError
from index_builder.publish import Staging
from protos import artifact, artifact_pb2
from server.runtime.snapshot import Catalog
from tests.conftest import Built

# What the demo version held before the table (schema 10): file, dtype. The artifact's files and their types
# must not move when the table's shape does.
_BEFORE = {
    "item_vectors.npy": "float32", "item_ids.npy": "S", "item_titles.npy": "S", "item_ids_sorted.npy": "S",
    "item_rows_by_id.npy": "int32", "item_category.npy": "int32", "item_brand.npy": "int32",
    "item_price.npy": "float32", "item_in_stock.npy": "bool", "popular_rows.npy": "int32",
    "item_neighbors.npy": "int32", "item_neighbor_weights.npy": "float32", "item_bought_together.npy": "int32",
    "item_bought_together_weights.npy": "float32", "item_viewed_together.npy": "int32",
    "item_viewed_together_weights.npy": "float32", "item_successors.npy": "int32",
    "item_successor_weights.npy": "float32", "item_repurchase_rate.npy": "float32",
    "item_repurchase_days.npy": "float32", "item_price_position.npy": "float32", "item_first_seen.npy": "int64",
    "segment_popularity.npy": "float32", "cell_popular_rows.npy": "int32", "segment_popular_rows.npy": "int32",
    "channel_popular_rows.npy": "int32", "category_priors.npy": "float32", "category_popular_rows.npy": "int32",
}
# Added since: the learned ranker's distinct users per item ([9/15]).
_ADDED = {"item_users.npy": "int32"}
# The learned ranker's files (manifest.ranker), when its build trained one.
_RANKER = {artifact.RANKER_MODEL, *(artifact.RANKER_ARRAY.format(stem) for stem in (
    "feature", "threshold", "left", "right", "default_left", "missing", "leaf_value", "root"))}


def test_the_built_version_holds_the_same_files_and_dtypes_as_before(built: Built) -> None:
    version = artifact.resolve_current(built.root)
    listed = {f.path for f in built.manifest.files}
    assert built.manifest.ranker.trained
    assert listed == {*_BEFORE, *_ADDED, *_RANKER, artifact.INDEX, artifact.STORE}
    for file, dtype in (_BEFORE | _ADDED).items():
        array = np.load(version / file, mmap_mode="r")
        assert (array.dtype.kind == "S") if dtype == "S" else array.dtype == np.dtype(dtype), file


def test_the_catalog_has_a_field_per_table_entry_and_defaults_exactly_the_optional_ones() -> None:
    arrays = {f.name: f for f in dataclasses.fields(Catalog) if f.type == "np.ndarray"}
    assert set(arrays) - {"category_names"} == set(artifact.ITEM_ARRAYS)
    defaulted = {name for name, f in arrays.items() if f.default_factory is not dataclasses.MISSING}
    assert defaulted == {name for name, spec in artifact.ITEM_ARRAYS.items() if spec.optional}


@pytest.mark.parametrize("name", [n for n, spec in artifact.ITEM_ARRAYS.items() if spec.optional])
def test_an_empty_optional_array_has_the_tables_dtype_and_rank(name: str) -> None:
    spec, array = artifact.ITEM_ARRAYS[name], artifact.empty_item_array(name)
    assert array.dtype == np.dtype(spec.dtype) and array.ndim == len(spec.shape) and array.size == 0


def _manifest(items: int) -> artifact_pb2.Manifest:
    return artifact_pb2.Manifest(dim=2, counts=artifact_pb2.Counts(items=items), categories=["a"])


def test_the_writer_casts_to_the_tables_dtype_and_refuses_another_rank(tmp_path: Path) -> None:
    staging = Staging(tmp_path, "v1")
    staging.save_item("popular_rows", np.array([2, 0, 1], dtype=np.int64))
    assert np.load(staging.dir / "popular_rows.npy").dtype == np.dtype("<i4")
    with pytest.raises(ArtifactWriteError, match=r"item_price.npy: shape \(3, 1\), expected \(items\)"):
        staging.save_item("price", np.zeros((3, 1)))
    with pytest.raises(ArtifactWriteError, match="item_ids.npy: dtype int64, expected byte strings"):
        staging.save_item("ids", np.arange(3))
    with pytest.raises(ArtifactWriteError, match="item_price.npy: not <f4"):
        staging.save_item("price", np.array(["cheap", "dear"]))


def test_a_version_the_server_would_refuse_is_never_published(tmp_path: Path) -> None:
    staging = Staging(tmp_path, "v1")
    staging.save_item("vectors", np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(ArtifactWriteError, match="item_ids.npy: not written"):
        staging.publish(_manifest(3))
    assert not (tmp_path / artifact.CURRENT_LINK).exists()


def test_the_writer_checks_the_staged_arrays_as_the_server_will(built: Built, tmp_path: Path) -> None:
    version = artifact.resolve_current(built.root)
    staging = Staging(tmp_path, "v1")
    for name, spec in artifact.ITEM_ARRAYS.items():
        array = np.load(version / spec.file)
        staging.save_item(name, array[1:] if name == "channel_popular_rows" else array)
    manifest = artifact_pb2.Manifest()
    manifest.CopyFrom(built.manifest)
    del manifest.files[:]
    with pytest.raises(ArtifactWriteError, match="channel_popular_rows.npy: shape"):
        staging.publish(manifest)
    assert not (tmp_path / artifact.CURRENT_LINK).exists()
