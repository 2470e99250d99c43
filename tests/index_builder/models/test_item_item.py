"""The EASE item-item model against the closed form computed here from its definition."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from index_builder.models.item_item import ease_neighbors


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


def test_revisit_share_counts_later_sessions_that_come_back_to_an_item() -> None:
    from index_builder.models.revisits import revisit_share

    # user 0: session 1 touches items 0, 1; session 2 touches 0 (a revisit) and 2. user 1: one session only.
    user = np.array([0, 0, 0, 0, 1, 1])
    item = np.array([0, 1, 0, 2, 0, 0])
    session = np.array([1, 1, 2, 2, 9, 9])
    ts = np.array([1, 2, 3, 4, 1, 2])
    assert revisit_share(user, item, session, ts, 3) == 0.5  # of user 0's two later events, one revisits
    assert revisit_share(user[:2], item[:2], session[:2], ts[:2], 3) == 0.0
    assert revisit_share(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), 3) == 0.0


def test_cold_items_are_linked_from_their_nearest_warm_items_replacing_the_weakest_slot() -> None:
    from index_builder.models.item_item import link_cold_items

    # Warm items 0-2 (each with neighbours of weights 0.4, 0.2, 0.01), cold items 3 and 4; item 3 points
    # along item 0's vector, item 4 along item 2's.
    neighbors = np.array([[1, 2, 4], [0, 2, 3], [0, 1, 3], [0, 0, 0], [0, 0, 0]], dtype=np.int32)
    weights = np.array([[0.4, 0.2, 0.01]] * 3 + [[0.0] * 3] * 2, dtype=np.float32)
    vectors = np.array([[1, 0], [0.6, 0.8], [0, 1], [1, 0.01], [0.01, 1]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cold = np.array([False, False, False, True, True])
    linked, linked_weights = link_cold_items(neighbors, weights, vectors, cold, per_cold=1, scale=2.0)
    assert linked[0].tolist() == [1, 2, 3] and linked[2].tolist() == [0, 1, 4]  # the weakest slot, replaced
    assert linked_weights[0, 2] == pytest.approx(2.0 * float(vectors[3] @ vectors[0]) * 0.2)  # scale x cos x median
    assert linked[1].tolist() == [0, 2, 3]  # untouched
    unchanged, _ = link_cold_items(neighbors, weights, vectors, cold, per_cold=0, scale=2.0)
    assert unchanged is neighbors
