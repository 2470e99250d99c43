"""The EASE item-item model against the closed form computed here from its definition."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from index_builder.item_item import ease_neighbors


def _interactions() -> sp.csr_matrix:
    rng = np.random.default_rng(3)
    dense = (rng.random((60, 12)) < 0.3).astype(np.float32) * rng.integers(1, 5, (60, 12))
    return sp.csr_matrix(dense)


def test_neighbours_are_the_strongest_entries_of_the_ease_matrix() -> None:
    matrix = _interactions()
    binary = (matrix.toarray() > 0).astype(np.float64)
    gram = binary.T @ binary + 50.0 * np.eye(12)
    inverse = np.linalg.inv(gram)
    expected = inverse / -np.diag(inverse)
    np.fill_diagonal(expected, 0.0)
    neighbors, weights = ease_neighbors(matrix, lam=50.0, k=4, max_items=100)
    assert neighbors.shape == weights.shape == (12, 4)
    for row in range(12):
        strongest = np.sort(np.abs(expected[row]))[::-1][:4]
        assert np.allclose(np.sort(np.abs(weights[row]))[::-1], strongest, atol=1e-6)
        assert np.allclose(weights[row], expected[row, neighbors[row]], atol=1e-6)
        assert row not in neighbors[row] or weights[row][neighbors[row] == row][0] == 0.0


def test_off_or_too_large_catalogs_get_no_model() -> None:
    matrix = _interactions()
    for kwargs in ({"k": 0, "max_items": 100}, {"k": 4, "max_items": 11}):
        neighbors, weights = ease_neighbors(matrix, lam=50.0, **kwargs)
        assert neighbors.shape == weights.shape == (12, 0)
