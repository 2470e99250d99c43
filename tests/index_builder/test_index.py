"""Index choice and its recall measurement: exact below the threshold, tuned IVF above."""

from __future__ import annotations

import faiss
import numpy as np

from index_builder.index import (
    _NPROBE_LADDER,
    IvfParams,
    build_index,
    equal_length,
    exact_kth_scores,
    recall_at_k,
)
from protos.artifact import index_queries


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _clustered(rows: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = _unit(40, dim, seed + 1)
    vectors = centres[rng.integers(0, 40, rows)] + 0.3 * rng.standard_normal((rows, dim)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_exact_kth_scores_match_a_full_sort() -> None:
    vectors, queries = _unit(3000, 16, 1), _unit(7, 16, 2)
    expected = -np.sort(-(queries @ vectors.T), axis=1)[:, 99]
    np.testing.assert_allclose(exact_kth_scores(vectors, queries, k=100, block=512), expected, rtol=1e-6)


def test_exact_search_has_full_recall_and_ties_are_not_misses() -> None:
    vectors = _unit(500, 8, 3)
    vectors[200:400] = vectors[0]  # 201 identical vectors: any 100 of them are an exact answer
    queries = np.ascontiguousarray(vectors[[0, 5, 17]])
    kth = exact_kth_scores(vectors, queries, k=100)
    plain = faiss.IndexFlatIP(8)
    plain.add(vectors)
    reversed_ids = faiss.IndexIDMap(faiss.IndexFlatIP(8))  # the same vectors, ties broken the other way
    rows = np.arange(500, dtype=np.int64)[::-1].copy()
    reversed_ids.add_with_ids(vectors[rows], rows)
    _, first = plain.search(queries, 100)
    _, second = reversed_ids.search(queries, 100)
    assert set(first[0]) != set(second[0])
    assert recall_at_k(plain, vectors, queries, kth) == 1.0
    assert recall_at_k(reversed_ids, vectors, queries, kth) == 1.0


def test_a_poor_index_has_partial_recall() -> None:
    vectors, queries = _clustered(4000, 16, 4), _clustered(50, 16, 5)
    ivf = faiss.index_factory(16, "IVF64,Flat", faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add(vectors)
    faiss.extract_index_ivf(ivf).nprobe = 1
    recall = recall_at_k(ivf, vectors, queries, exact_kth_scores(vectors, queries, k=100))
    assert 0.0 < recall < 0.9


def test_small_catalogs_get_exact_search() -> None:
    vectors = _unit(900, 8, 6)
    index, info = build_index(vectors, vectors[:10], IvfParams(1000, 0.9, 32, seed=1))
    assert (info.factory, info.nprobe, info.recall_at_100) == ("Flat", 0, 1.0)
    assert index.ntotal == 900


def test_ivf_nprobe_is_the_smallest_that_reaches_the_target() -> None:
    vectors = _clustered(6000, 16, 7)
    queries = np.ascontiguousarray(vectors[:200])
    index, info = build_index(vectors, queries, IvfParams(1000, 0.9, 64, seed=1))
    assert info.factory.startswith("IVF") and index.ntotal == 6000
    assert info.recall_at_100 >= 0.9
    ivf = faiss.extract_index_ivf(index)
    assert ivf.nprobe == info.nprobe
    if info.nprobe > 1:
        ivf.nprobe = _NPROBE_LADDER[_NPROBE_LADDER.index(info.nprobe) - 1]
        rows, padded = equal_length(vectors), index_queries(queries)
        assert recall_at_k(index, rows, padded, exact_kth_scores(rows, padded, k=100)) < 0.9


def test_ivf_nprobe_stops_at_the_cap() -> None:
    vectors = _clustered(6000, 16, 8)
    _, info = build_index(vectors, np.ascontiguousarray(vectors[:100]), IvfParams(1000, 1.0, 2, seed=1))
    assert info.nprobe == 2 and info.recall_at_100 < 1.0


def test_equal_length_keeps_inner_products_and_equalises_norms() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((50, 8)).astype(np.float32) * rng.uniform(0.1, 3, (50, 1)).astype(np.float32)
    queries = rng.standard_normal((5, 8)).astype(np.float32)
    rows, padded = equal_length(vectors), index_queries(queries)
    np.testing.assert_allclose(padded @ rows.T, queries @ vectors.T, rtol=1e-5, atol=1e-5)
    norms = np.linalg.norm(rows, axis=1)
    np.testing.assert_allclose(norms, norms.max(), rtol=1e-5)
