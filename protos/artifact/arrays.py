"""The per-item arrays of a version: one table (`ITEM_ARRAYS`) from which the builder's writer, the manifest's
checks and the server's snapshot are derived."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protos import artifact_pb2
from protos.artifact.layout import INDEX, ManifestMismatch
from protos.artifact.records import CHANNELS, SEGMENTS


@dataclass(frozen=True, slots=True)
class ArraySpec:
    """One memory-mapped per-item file, the one place its type is written down: the builder's writer casts
    to `dtype` (Staging.save_item), `check_arrays` checks every field at load, the server's Catalog has a
    field per table entry (server/runtime/snapshot.py), and a memory snapshot takes `empty_item_array` for an
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
    "users": ArraySpec("item_users.npy", "<i4", ("items",), values=(0, _INF)),
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
