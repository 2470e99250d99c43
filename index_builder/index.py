"""Build the FAISS index over item vectors, chosen by catalog size.

Exact inner-product search below `ivf_threshold` items; above it an IVF
index (its inverted lists memory-map, so worker processes share them) with
its recall@100 against exact search measured on real learned vectors.
"""

from __future__ import annotations

import logging
import math

import faiss
import numpy as np

from protos import artifact_pb2

__all__ = ["build_index", "recall_at_k"]

log = logging.getLogger(__name__)


def _ivf_lists(n_items: int) -> int:
    """About 4 * sqrt(N) lists, a power of two, and at least 39 training points each."""
    target = 4 * math.sqrt(n_items)
    lists = 2 ** round(math.log2(target))
    return max(16, min(lists, n_items // 39))


def build_index(vectors: np.ndarray, queries: np.ndarray, *, ivf_threshold: int,
                nprobe: int, seed: int) -> tuple[faiss.Index, artifact_pb2.IndexInfo]:
    """Index `vectors` (inner product); report recall@100 of the chosen index on `queries`."""
    n_items, dim = vectors.shape
    if n_items < ivf_threshold:
        flat = faiss.IndexFlatIP(dim)
        flat.add(vectors)
        return flat, artifact_pb2.IndexInfo(factory="Flat", nprobe=0, recall_at_100=1.0)
    factory = f"IVF{_ivf_lists(n_items)},Flat"
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(n_items, size=min(n_items, 64 * _ivf_lists(n_items)), replace=False)]
    index.train(sample)
    index.add(vectors)
    faiss.extract_index_ivf(index).nprobe = nprobe
    recall = recall_at_k(index, vectors, queries, k=100)
    log.info("index_built factory=%s nprobe=%d recall_at_100=%.4f", factory, nprobe, recall)
    return index, artifact_pb2.IndexInfo(factory=factory, nprobe=nprobe, recall_at_100=recall)


def recall_at_k(index: faiss.Index, vectors: np.ndarray, queries: np.ndarray, *, k: int) -> float:
    """Share of the exact top-k that `index` also returns, averaged over queries."""
    k = min(k, len(vectors))
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, k)
    _, found = index.search(queries, k)
    hits = sum(len(np.intersect1d(t, f[f >= 0])) for t, f in zip(truth, found, strict=True))
    return hits / float(truth.size)
