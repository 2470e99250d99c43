"""Item-to-item model: EASE (Steck 2019), pruned to each item's strongest neighbours.

EASE learns an item x item weight matrix B from the training interactions in closed form:
G = XᵀX + λI, P = G⁻¹, B = -P / diag(P) with a zero diagonal. A shopper's score for item j is
Σ_h B[h, j] over the items h in their history. The server needs only each item's strongest
neighbours: row h keeps its `k` entries of largest |B[h, j]| (negative weights are evidence
too), stored as two [items, k] arrays. On MovieLens 100K (random 75/25 split) keeping 200 of
1682 loses little: nDCG@10 0.492 (full B) -> 0.487 (|top| 200); 0.472 keeping the 200 largest.

The Gram matrix is dense (items² float64), so EASE runs only for catalogs up to `max_items`;
larger catalogs get no item-item arrays (k = 0) and are served by the ALS index alone.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

__all__ = ["ease_neighbors"]

log = logging.getLogger(__name__)


def _empty(n_items: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((n_items, 0), dtype=np.int32), np.zeros((n_items, 0), dtype=np.float32)


def ease_neighbors(matrix: sp.csr_matrix, *, lam: float, k: int, max_items: int,
                   threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(neighbour rows int32 [items, k], weights float32 [items, k]) of the EASE matrix learned from
    `matrix` (rows x items; any stored value counts as one interaction); k = 0 columns when off."""
    n_items = matrix.shape[1]
    k = min(k, n_items - 1)
    if k <= 0 or n_items > max_items:
        return _empty(n_items)
    started = time.perf_counter()
    binary = matrix.copy()
    binary.data = np.ones_like(binary.data)
    gram = (binary.T @ binary).toarray().astype(np.float64)
    gram[np.diag_indices(n_items)] += lam
    with threadpool_limits(threads, "blas"):
        inverse = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
    weights = inverse / -np.diag(inverse)
    weights[np.diag_indices(n_items)] = 0.0
    del inverse
    neighbors = np.argpartition(-np.abs(weights), k - 1, axis=1)[:, :k].astype(np.int32)
    strengths = np.take_along_axis(weights, neighbors, axis=1).astype(np.float32)
    log.info("ease_done items=%d k=%d lambda=%g seconds=%.2f", n_items, k, lam, time.perf_counter() - started)
    return neighbors, strengths
