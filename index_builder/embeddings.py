"""Learn item and user vectors from interactions (implicit-feedback ALS).

Rows of the interaction matrix are consenting known users plus anonymous
sessions (sessions teach item-to-item similarity but get no profile).
Items nobody touched get a content vector: the mean of their brand's and
category's learned vectors, so they can still be found.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

__all__ = ["cold_item_norm", "interaction_matrix", "learn_embeddings", "content_vectors",
           "normalize_rows"]

log = logging.getLogger(__name__)

# Conjugate-gradient steps per row and iteration (implicit's default is 3). Each iteration
# warm-starts from the last, so at 12 iterations 2 steps learn vectors as good as 3 (1M-user
# demo store: leave-one-out HR@100 0.368 vs 0.365, item-to-item HR@100 0.039 vs 0.040,
# same-category cosine gap 0.163 vs 0.158) in about three quarters of the ALS time.
_CG_STEPS = 2


def interaction_matrix(rows: np.ndarray, items: np.ndarray, weights: np.ndarray,
                       n_rows: int, n_items: int, alpha: float) -> sp.csr_matrix:
    """Sum event weights per (row, item) and damp them into ALS confidences 1 + alpha * log1p(weight)."""
    matrix = sp.csr_matrix(
        (weights.astype(np.float32), (rows.astype(np.int64), items.astype(np.int64))),
        shape=(n_rows, n_items),
    )
    matrix.sum_duplicates()
    matrix.data = 1.0 + alpha * np.log1p(matrix.data)
    return matrix


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Unit-length float32 rows (all-zero rows stay zero); one float32 copy, no float64 temporaries."""
    out = np.array(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.maximum(norms, np.float32(1e-12))
    return out


def learn_embeddings(matrix: sp.csr_matrix, *, dim: int, iterations: int,
                     regularization: float, seed: int, show_progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """ALS (implicit) on the row x item confidence matrix; returns raw (users, items) factors."""
    from implicit.cpu.als import AlternatingLeastSquares

    # implicit parallelises itself; a threaded BLAS underneath only fights it.
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=dim, regularization=regularization, iterations=iterations,
            random_state=seed, calculate_training_loss=False,
        )
        model.cg_steps = _CG_STEPS
        model.fit(matrix, show_progress=show_progress)
    log.info("als_done rows=%d items=%d nnz=%d dim=%d", matrix.shape[0], matrix.shape[1], matrix.nnz, dim)
    return np.asarray(model.user_factors, dtype=np.float32), np.asarray(model.item_factors, dtype=np.float32)


def _group_means(codes: np.ndarray, vectors: np.ndarray, rows: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean of `vectors[rows]` per code, as one sparse (groups x items) product: no copies, no np.add.at."""
    counts = np.bincount(codes[rows], minlength=n_groups).astype(np.float32)
    weights = (1.0 / np.maximum(counts, 1.0))[codes[rows]]
    onehot = sp.csr_matrix((weights, (codes[rows], rows)), shape=(n_groups, len(vectors)))
    return np.asarray(onehot @ vectors, dtype=np.float32)


def content_vectors(item_vectors: np.ndarray, warm: np.ndarray, category: np.ndarray,
                    brand: np.ndarray, n_categories: int, n_brands: int) -> np.ndarray:
    """Vectors for the cold items (rows where `warm` is False, in row order) from their
    category's and brand's learned vectors."""
    learned, cold = np.flatnonzero(warm), np.flatnonzero(~warm)
    by_category = _group_means(category, item_vectors, learned, n_categories)
    by_brand = _group_means(brand, item_vectors, learned, n_brands)
    vectors = 0.6 * by_category[category[cold]] + 0.4 * by_brand[brand[cold]]
    # Items in a category nobody touched still need a direction: a fixed random one per category.
    empty = np.linalg.norm(vectors, axis=1) < 1e-9
    if empty.any():
        rng = np.random.default_rng(len(category))
        per_category = rng.standard_normal((n_categories, item_vectors.shape[1])).astype(np.float32)
        vectors[empty] = per_category[category[cold][empty]]
    return normalize_rows(vectors)


def cold_item_norm(item_factors: np.ndarray, warm: np.ndarray) -> float:
    """Length given to cold items' content vectors in the index: the warm items' lower quartile,
    so an item nobody has touched can be found but does not outrank items with evidence."""
    norms = np.linalg.norm(item_factors[warm], axis=1)
    return float(np.percentile(norms, 25)) if len(norms) else 1.0
