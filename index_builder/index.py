"""Build the FAISS index over item vectors, chosen by catalog size.

Exact inner-product search below `ivf_threshold` items. Above it an IVF
index (its inverted lists memory-map, so worker processes share them) whose
nprobe is tuned on the learned vectors: the smallest probe count whose
recall@100 against exact search, on queries drawn from item *and* user
vectors, reaches the target. The server searches one query at a time on one
thread, so search cost per query is measured and logged the same way.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import faiss
import numpy as np

from protos import artifact, artifact_pb2

__all__ = ["IvfParams", "build_index", "exact_kth_scores", "recall_at_k"]

log = logging.getLogger(__name__)

_K = 100
# Float error between BLAS (exact search) and FAISS's SIMD scores of unit vectors.
_SCORE_TOLERANCE = 1e-5
# Probe counts tried in order; the first that reaches the target recall wins.
_NPROBE_LADDER = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96, 128, 192, 256)
# k-means sees at least this many training points per list (FAISS warns below 39).
_TRAIN_POINTS_PER_LIST = 48


@dataclass(frozen=True)
class IvfParams:
    """When to use IVF and how hard to search it."""

    threshold: int  # catalogs at least this large get IVF
    target_recall: float  # smallest nprobe reaching this recall@100 is chosen...
    max_nprobe: int  # ...but never more probes than this
    seed: int


def _ivf_lists(n_items: int) -> int:
    """About 2 * sqrt(N) lists, a power of two, with enough training points each.

    A query costs one dot product per list (the quantizer) plus the codes in the probed lists.
    On the 1M-item demo store, at recall@100 ~0.92, 2048 lists scan ~8k codes per query
    against ~10k for 1024 and answer ~20% faster; 4096 lists scan fewer still, but k-means
    training and assigning every item cost O(N * lists) and would double the index step.
    """
    lists = 2 ** round(math.log2(2 * math.sqrt(n_items)))
    return max(16, min(lists, n_items // 39))


def equal_length(vectors: np.ndarray) -> np.ndarray:
    """Append one coordinate that gives every row the same length (Bachrach et al. 2014).

    Inner product with a query padded by a 0 is unchanged, but on equal-length rows it ranks like
    cosine, which IVF's k-means partitions well; on raw factors IVF recall collapses (0.39 at nprobe 32).
    """
    norms = np.einsum("ij,ij->i", vectors, vectors)
    extra = np.sqrt(np.maximum(norms.max() - norms, 0.0)).astype(np.float32)
    return np.ascontiguousarray(np.hstack([vectors, extra[:, None]]), dtype=np.float32)


def build_index(vectors: np.ndarray, queries: np.ndarray,
                params: IvfParams) -> tuple[faiss.Index, artifact_pb2.IndexInfo]:
    """Index `vectors` (inner product); report recall@100 of the chosen index on `queries`.

    The index has dim + 1 dimensions (see `equal_length`); the server pads its queries with a 0.
    """
    vectors, queries = equal_length(vectors), artifact.index_queries(queries)
    n_items, dim = vectors.shape
    if n_items < params.threshold:
        flat = faiss.IndexFlatIP(dim)
        flat.add(vectors)
        return flat, artifact_pb2.IndexInfo(factory="Flat", nprobe=0, recall_at_100=1.0)
    lists = _ivf_lists(n_items)
    factory = f"IVF{lists},Flat"
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(params.seed)
    sample = rng.choice(n_items, size=min(n_items, _TRAIN_POINTS_PER_LIST * lists), replace=False)
    started = time.perf_counter()
    index.train(vectors[np.sort(sample)])
    log.info("index_trained factory=%s points=%d seconds=%.1f", factory, len(sample), time.perf_counter() - started)
    started = time.perf_counter()
    index.add(vectors)
    log.info("index_filled factory=%s items=%d seconds=%.1f", factory, n_items, time.perf_counter() - started)
    nprobe, recall = _tune_nprobe(index, vectors, queries, params)
    log.info("index_built factory=%s nprobe=%d recall_at_100=%.4f search_ms_per_query=%.3f",
             factory, nprobe, recall, _search_ms(index, queries))
    return index, artifact_pb2.IndexInfo(factory=factory, nprobe=nprobe, recall_at_100=recall)


def _tune_nprobe(index: faiss.Index, vectors: np.ndarray, queries: np.ndarray,
                 params: IvfParams) -> tuple[int, float]:
    """Smallest nprobe on the ladder whose recall reaches the target (else `max_nprobe`)."""
    ivf = faiss.extract_index_ivf(index)
    kth = exact_kth_scores(vectors, queries, k=_K)
    cap = min(params.max_nprobe, ivf.nlist)
    recall = 0.0
    for nprobe in [*(p for p in _NPROBE_LADDER if p < cap), cap]:
        ivf.nprobe = nprobe
        recall = recall_at_k(index, vectors, queries, kth)
        log.info("index_probe nprobe=%d recall_at_100=%.4f", nprobe, recall)
        if recall >= params.target_recall:
            break
    return int(ivf.nprobe), recall


def exact_kth_scores(vectors: np.ndarray, queries: np.ndarray, *, k: int,
                     block: int = 8192) -> np.ndarray:
    """The exact k-th best inner product per query (brute force, blockwise, `vectors` not copied)."""
    k = min(k, len(vectors))
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    scores = np.empty((len(queries), block + k), dtype=np.float32)
    for start in range(0, len(vectors), block):
        part = vectors[start:start + block]
        np.matmul(queries, part.T, out=scores[:, :len(part)])
        scores[:, len(part):len(part) + k] = best
        width = len(part) + k
        best = np.partition(scores[:, :width], width - k, axis=1)[:, -k:]
    return best.min(axis=1)


def recall_at_k(index: faiss.Index, vectors: np.ndarray, queries: np.ndarray, kth: np.ndarray,
                *, k: int = _K) -> float:
    """Share of each query's exact top-k that `index` returns, averaged over queries.

    `kth` holds each query's exact k-th best score (`exact_kth_scores` with the same k). A
    returned item counts when its exact score reaches it: items with identical vectors (cold
    items share their category's and brand's vector) tie, and which of them fills the last
    places is arbitrary, so comparing ids would count a tie as a miss.
    """
    k = min(k, len(vectors))
    _, found = index.search(queries, k)
    valid = found >= 0
    scores = np.einsum("qd,qkd->qk", queries, vectors[np.where(valid, found, 0)])
    hits = valid & (scores >= kth[:, None] - _SCORE_TOLERANCE)
    return float(hits.sum()) / float(len(queries) * k)


def _search_ms(index: faiss.Index, queries: np.ndarray) -> float:
    """Mean milliseconds per single-query search on one thread, as the server calls it."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        started = time.perf_counter()
        for query in queries:
            index.search(query[None, :], _K)
        return 1e3 * (time.perf_counter() - started) / max(len(queries), 1)
    finally:
        faiss.omp_set_num_threads(threads)
