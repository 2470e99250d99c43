"""Learn item and user vectors from interactions (implicit-feedback ALS).

Rows of the interaction matrix are consenting known users plus anonymous
sessions (sessions teach item-to-item similarity but get no profile).
Items nobody touched get a content vector: the mean of their brand's and
category's learned vectors, so they can still be found.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

__all__ = ["Embeddings", "interaction_matrix", "learn_embeddings", "content_vectors", "normalize_rows"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Embeddings:
    """L2-normalised float32 vectors: item rows follow the catalog, user rows the matrix."""

    items: np.ndarray
    users: np.ndarray
    cold_items: np.ndarray


def interaction_matrix(rows: np.ndarray, items: np.ndarray, weights: np.ndarray,
                       n_rows: int, n_items: int) -> sp.csr_matrix:
    """Sum event weights per (row, item) and damp them with log1p into ALS confidences."""
    matrix = sp.csr_matrix(
        (weights.astype(np.float32), (rows.astype(np.int64), items.astype(np.int64))),
        shape=(n_rows, n_items),
    )
    matrix.sum_duplicates()
    matrix.data = 1.0 + 4.0 * np.log1p(matrix.data)
    return matrix


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


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
        model.fit(matrix, show_progress=show_progress)
    log.info("als_done rows=%d items=%d nnz=%d dim=%d", matrix.shape[0], matrix.shape[1], matrix.nnz, dim)
    return np.asarray(model.user_factors, dtype=np.float32), np.asarray(model.item_factors, dtype=np.float32)


def _group_means(codes: np.ndarray, vectors: np.ndarray, mask: np.ndarray, n_groups: int) -> np.ndarray:
    sums = np.zeros((n_groups, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, codes[mask], vectors[mask])
    counts = np.bincount(codes[mask], minlength=n_groups).astype(np.float64)
    return sums / np.maximum(counts, 1.0)[:, None]


def content_vectors(item_vectors: np.ndarray, warm: np.ndarray, category: np.ndarray,
                    brand: np.ndarray, n_categories: int, n_brands: int) -> np.ndarray:
    """Vectors for cold items from their category and brand neighbours' learned vectors."""
    by_category = _group_means(category, item_vectors, warm, n_categories)
    by_brand = _group_means(brand, item_vectors, warm, n_brands)
    vectors = 0.6 * by_category[category] + 0.4 * by_brand[brand]
    # Items in a category nobody touched still need a direction: a fixed random one per category.
    empty = np.linalg.norm(vectors, axis=1) < 1e-9
    if empty.any():
        rng = np.random.default_rng(len(category))
        per_category = rng.standard_normal((n_categories, item_vectors.shape[1]))
        vectors[empty] = per_category[category[empty]]
    return normalize_rows(vectors)
