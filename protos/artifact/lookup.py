"""Item id -> catalog row lookups over the sorted id arrays, and index query vectors."""

from __future__ import annotations

import numpy as np


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
