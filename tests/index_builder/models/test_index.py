"""Index choice and its recall measurement: exact for tiny catalogs, the cheapest at the target recall from
10,000 items, tuned IVF from the threshold."""

from __future__ import annotations

import faiss
import numpy as np

from index_builder.models.index import (
    _IVF_MARGIN,
    _NPROBE_LADDER,
    MEASURED_FROM,
    IndexCandidate,
    IvfParams,
    build_index,
    cheapest,
    compare_indexes,
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
    assert recall_at_k(plain, queries, kth) == 1.0
    assert recall_at_k(reversed_ids, queries, kth) == 1.0


def test_a_poor_index_has_partial_recall() -> None:
    vectors, queries = _clustered(4000, 16, 4), _clustered(50, 16, 5)
    ivf = faiss.index_factory(16, "IVF64,Flat", faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add(vectors)
    faiss.extract_index_ivf(ivf).nprobe = 1
    recall = recall_at_k(ivf, queries, exact_kth_scores(vectors, queries, k=100))
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
    ivf = faiss.extract_index_ivf(index)
    assert ivf.nprobe == info.nprobe
    rows, padded = equal_length(vectors), index_queries(queries)
    kth = exact_kth_scores(rows, padded, k=256)
    assert recall_at_k(index, padded, kth, k=256) >= 0.9
    assert info.recall_at_100 == recall_at_k(index, padded, exact_kth_scores(rows, padded, k=100), k=100)
    if info.nprobe > 1:
        ivf.nprobe = _NPROBE_LADDER[_NPROBE_LADDER.index(info.nprobe) - 1]
        assert recall_at_k(index, padded, kth, k=256) < 0.9


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


def _candidate(factory: str, nprobe: int, us: float) -> IndexCandidate:
    return IndexCandidate(faiss.IndexFlatIP(4), factory, nprobe, us, 1.0 if nprobe == 0 else 0.95)


def test_the_cheapest_candidate_is_kept_and_an_ivf_must_clearly_beat_exact_search() -> None:
    flat = _candidate("Flat", 0, 100.0)
    slow, fast = _candidate("IVF64,Flat", 8, 70.0), _candidate("IVF128,Flat", 8, 30.0)
    assert cheapest([flat, slow, fast], 0.9) is fast
    assert cheapest([flat, slow, fast], 0.99) is flat  # neither IVF reaches the target
    assert cheapest([slow, fast], 0.99) is fast  # from the threshold on: no exact search to fall back to
    assert cheapest([flat, _candidate("IVF64,Flat", 8, 0.99 * _IVF_MARGIN * 100.0)], 0.9).nprobe == 8
    assert cheapest([flat, _candidate("IVF64,Flat", 8, 1.01 * _IVF_MARGIN * 100.0)], 0.9) is flat


def test_a_mid_size_catalog_gets_ivf_when_it_is_cheaper_at_the_target_recall() -> None:
    """20,000 items, far below the threshold: exact search scans them all per query, IVF a few lists."""
    vectors = _clustered(20_000, 16, 9)
    queries = np.ascontiguousarray(np.concatenate([vectors[:100], _clustered(100, 16, 10)]))
    threads = faiss.omp_get_max_threads()
    index, info = build_index(vectors, queries, IvfParams(200_000, 0.9, 64, seed=1))
    assert faiss.omp_get_max_threads() == threads  # timed on one thread, then given back
    assert info.factory.startswith("IVF") and index.ntotal == 20_000
    assert faiss.extract_index_ivf(index).nprobe == info.nprobe > 0
    rows, padded = equal_length(vectors), index_queries(queries)
    assert recall_at_k(index, padded, exact_kth_scores(rows, padded, k=256), k=256) >= 0.9
    # the manifest records how it was chosen: measured at the server's k, cheaper than exact search
    assert info.recall_k == 256 and info.recall_at_k >= 0.9
    assert 0 < info.search_us_per_query < info.exact_us_per_query


def test_candidates_are_timed_and_one_short_of_the_target_is_not_kept() -> None:
    vectors = _clustered(MEASURED_FROM, 16, 11)
    queries = np.ascontiguousarray(vectors[:50])
    reached = compare_indexes(vectors, queries, IvfParams(200_000, 0.9, 64, seed=1))
    assert [c.factory for c in reached] == ["Flat", "IVF128,Flat", "IVF256,Flat"]  # ~sqrt(N), ~2 sqrt(N) lists
    assert all(c.us_per_query > 0 for c in reached) and reached[0].recall == 1.0
    assert all(c.recall >= 0.9 for c in reached)
    short = compare_indexes(vectors, queries, IvfParams(200_000, 1.0, 1, seed=1))
    assert [(c.nprobe, c.recall < 1.0) for c in short] == [(0, False), (1, True), (1, True)]
    _, info = build_index(vectors, queries, IvfParams(200_000, 1.0, 1, seed=1))
    assert (info.factory, info.nprobe, info.recall_at_100) == ("Flat", 0, 1.0)


def test_below_the_measured_size_the_index_is_exact_without_timing() -> None:
    vectors = _clustered(MEASURED_FROM - 1, 16, 12)
    _, info = build_index(vectors, np.ascontiguousarray(vectors[:20]), IvfParams(200_000, 0.5, 64, seed=1))
    assert (info.factory, info.nprobe) == ("Flat", 0)
