"""Embedding helpers: cold-item content vectors and row normalisation."""

from __future__ import annotations

import numpy as np

from index_builder.embeddings import content_vectors, normalize_rows


def _reference_content(vectors: np.ndarray, warm: np.ndarray, category: np.ndarray, brand: np.ndarray,
                       n_categories: int, n_brands: int) -> np.ndarray:
    """The straightforward float64 version: group means by np.add.at, for every item."""
    def means(codes: np.ndarray, n: int) -> np.ndarray:
        sums = np.zeros((n, vectors.shape[1]))
        np.add.at(sums, codes[warm], vectors[warm])
        return sums / np.maximum(np.bincount(codes[warm], minlength=n), 1)[:, None]
    mixed = 0.6 * means(category, n_categories)[category] + 0.4 * means(brand, n_brands)[brand]
    return mixed / np.linalg.norm(mixed, axis=1, keepdims=True)


def test_cold_items_get_their_category_and_brand_direction() -> None:
    rng = np.random.default_rng(3)
    vectors = normalize_rows(rng.standard_normal((300, 8)))
    category, brand = rng.integers(0, 5, 300), rng.integers(0, 12, 300)
    warm = rng.random(300) < 0.6
    cold = content_vectors(vectors, warm, category, brand, 5, 12)
    assert cold.shape == ((~warm).sum(), 8) and cold.dtype == np.float32
    expected = _reference_content(vectors, warm, category, brand, 5, 12)[~warm]
    np.testing.assert_allclose(cold, expected, atol=1e-5)


def test_a_category_nobody_touched_still_gets_a_fixed_direction() -> None:
    vectors = normalize_rows(np.random.default_rng(4).standard_normal((6, 4)))
    category, brand = np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 0, 1, 1, 1])
    warm = np.array([True, True, True, False, False, False])
    first = content_vectors(vectors, warm, category, brand, 2, 2)
    again = content_vectors(vectors, warm, category, brand, 2, 2)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)
    assert np.allclose(first, first[0])  # one direction per category


def test_normalize_rows_keeps_zero_rows_zero() -> None:
    rows = normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert rows.dtype == np.float32
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]])
