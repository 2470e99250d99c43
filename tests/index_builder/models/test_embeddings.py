"""Embedding helpers: cold-item content vectors and row normalisation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from index_builder.models.embeddings import content_features, content_vectors, normalize_rows


def _cold(vectors: np.ndarray, warm: np.ndarray, titles: list[str], category: np.ndarray, brand: np.ndarray,
          price: np.ndarray | None = None) -> np.ndarray:
    price = np.full(len(titles), 10.0, dtype=np.float32) if price is None else price
    features = content_features(pa.array(titles), category, brand, price, int(category.max()) + 1,
                                int(brand.max()) + 1)
    return content_vectors(vectors, warm, features, category)


def _word_store() -> tuple[np.ndarray, list[str], np.ndarray]:
    """40 warm items of one category and brand: "gravel" titles point one way, "road" titles another."""
    axes = np.eye(4, dtype=np.float32)
    rng = np.random.default_rng(5)
    vectors = np.array([axes[0] if i % 2 == 0 else axes[1] for i in range(40)]) + 0.05 * rng.standard_normal((40, 4))
    titles = [f"Halurmore {'Gravel' if i % 2 == 0 else 'Road'} Helmet {100 + i}" for i in range(40)]
    return normalize_rows(vectors), titles, np.zeros(40, dtype=np.int64)


def test_cold_items_of_one_category_and_brand_differ_by_title_words() -> None:
    vectors, titles, _ = _word_store()
    warm = np.ones(42, dtype=bool)
    warm[40:] = False
    everything = np.vstack([vectors, np.zeros((2, 4), np.float32)])
    cold = _cold(everything, warm, [*titles, "Halurmore Gravel Helmet 900", "Halurmore Road Helmet 901"],
                 np.zeros(42, np.int64), np.zeros(42, np.int64))
    assert cold.shape == (2, 4) and cold.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(cold, axis=1), 1.0, rtol=1e-5)
    assert float(cold[0] @ cold[1]) < 0.9


def test_a_cold_item_lands_nearest_the_warm_items_sharing_its_title_words() -> None:
    vectors, titles, _ = _word_store()
    everything = np.vstack([vectors, np.zeros((1, 4), np.float32)])
    warm = np.arange(41) < 40
    cold = _cold(everything, warm, [*titles, "Gravel helmet, new"], np.zeros(41, np.int64), np.zeros(41, np.int64))
    gravel, road = vectors[0], vectors[1]
    assert float(cold[0] @ gravel) > float(cold[0] @ road) + 0.3


def test_a_cold_item_without_a_title_gets_its_category_brand_and_price_band() -> None:
    rng = np.random.default_rng(3)
    category = np.repeat([0, 1], 30)
    vectors = normalize_rows(np.where(category[:, None] == 0, [1.0, 0, 0], [0, 1.0, 0]) + 0.1 * rng.random((60, 3)))
    warm = np.ones(60, dtype=bool)
    warm[[10, 50]] = False
    price = np.tile(np.arange(1, 31, dtype=np.float32), 2)
    cold = _cold(vectors, warm, [""] * 60, category, np.zeros(60, np.int64), price)
    assert float(cold[0] @ vectors[0]) > 0.9 and float(cold[1] @ vectors[40]) > 0.9


def test_without_warm_items_each_category_gets_a_fixed_direction() -> None:
    vectors = np.zeros((4, 3), np.float32)
    category = np.array([0, 0, 1, 1])
    warm = np.zeros(4, dtype=bool)
    first = _cold(vectors, warm, ["a b", "c d", "", ""], category, np.zeros(4, np.int64))
    again = _cold(vectors, warm, ["a b", "c d", "", ""], category, np.zeros(4, np.int64))
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)
    assert np.allclose(first[0], first[1]) and not np.allclose(first[0], first[2])


def test_normalize_rows_keeps_zero_rows_zero() -> None:
    rows = normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert rows.dtype == np.float32
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]])
