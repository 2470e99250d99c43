"""Build the FAISS index over item vectors: the search that costs a query least at the target recall.

The server searches one query at a time on one thread, asking for up to about `SEARCH_K` neighbours
(Recommend's k = 4 x its candidate pool + 32 + the exclusions: on the 100k-item demo store 192 for a
shopper's home page, 225 on a product page, 116 for a session alone). So the builder times searches the
same way, on sampled queries of the server's kind (item vectors, as on product pages, and known users'
vectors), for:

- exact inner-product search ("Flat"), recall 1 by definition;
- IVF candidates with about sqrt(N) and 2 sqrt(N) lists, each at the smallest nprobe whose recall@k
  against exact search reaches the target (`recall_at_k`: ties at the k-th score count as hits).

On ALS factors an IVF's recall climbs to about 0.92 and then stalls until nearly every list is probed
(100k-item demo store, 512 lists: 0.90 at nprobe 64, 0.92 at 128, 0.93 at 256, 1.0 only at 512). Ties
are not why (recall by id and by score differ by < 0.001): the factors' norms spread wide (median 0.007,
max 6.6), and the few long vectors, the popular items every top-k holds, share small lists whose
centroid points away from the query. Hence the default target of 0.90 (BuildConfig.ivf_target_recall).

It keeps the cheapest that reaches the target; an IVF must cost under `_IVF_MARGIN` of exact search to
be kept, so a near tie stays exact (and build to build the same). Two sizes skip the timing:
catalogs under `MEASURED_FROM` items are exact (exact search there costs ~0.1 ms, and stays exact
and identical build to build), and catalogs of at least `IvfParams.threshold` items are IVF (exact
search costs ~10x an IVF's there; timing it would only slow the build). The IVF's inverted lists
memory-map in the server, so worker processes share them.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import faiss
import numpy as np

from protos import artifact, artifact_pb2

__all__ = ["MEASURED_FROM", "SEARCH_K", "IndexCandidate", "IvfParams", "build_index", "cheapest",
           "compare_indexes", "exact_best_scores", "exact_kth_scores", "recall_at_k"]

log = logging.getLogger(__name__)

SEARCH_K = 256
MEASURED_FROM = 10_000
_K = 100  # the manifest's recall_at_100
# Float error between BLAS (exact search) and FAISS's SIMD scores of unit vectors.
_SCORE_TOLERANCE = 1e-5
# Probe counts tried in order; the first that reaches the target recall wins.
_NPROBE_LADDER = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96, 128, 192, 256)
# k-means sees at least this many training points per list (FAISS warns below 39).
_TRAIN_POINTS_PER_LIST = 48
# Lists per sqrt(N) of the IVF candidates that are timed against exact search.
_LISTS_PER_ROOT = (1, 2)
_IVF_MARGIN = 0.8
# Timing: up to this many of the sampled queries (fewer once a round has taken _ROUND_SECONDS), one at a
# time, the best of _ROUNDS interleaved rounds (the least disturbed by other work on the machine).
_TIMED_QUERIES = 100
_ROUNDS = 3
_ROUND_SECONDS = 0.1


@dataclass(frozen=True)
class IvfParams:
    """When to use IVF and how hard to search it."""

    threshold: int  # catalogs at least this large get IVF without timing exact search
    target_recall: float  # an IVF is kept only at an nprobe reaching this recall@k...
    max_nprobe: int  # ...with at most this many probes
    seed: int
    k: int = SEARCH_K  # neighbours per query, as the server asks


@dataclass(frozen=True)
class IndexCandidate:
    """One index the builder timed: its cost per single-query search on one thread, and its recall."""

    index: faiss.Index
    factory: str
    nprobe: int  # 0 for exact
    us_per_query: float
    recall: float  # recall@k against exact search on the sampled queries (1 for exact)

    def describe(self) -> str:
        return (f"factory={self.factory} nprobe={self.nprobe} us_per_query={self.us_per_query:.0f} "
                f"recall_at_k={self.recall:.4f}")


def _ivf_lists(n_items: int, per_root: float = 2.0) -> int:
    """About per_root * sqrt(N) lists, a power of two, with enough training points each.

    A query costs one dot product per list (the quantizer) plus the codes in the probed lists.
    On the 1M-item demo store, at recall@100 ~0.92, 2048 lists scan ~8k codes per query
    against ~10k for 1024 and answer ~20% faster; 4096 lists scan fewer still, but k-means
    training and assigning every item cost O(N * lists) and would double the index step.
    """
    lists = 2 ** round(math.log2(per_root * math.sqrt(n_items)))
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
    """Index `vectors` (inner product) with the cheapest search at the target recall on `queries`.

    The index has dim + 1 dimensions (see `equal_length`); the server pads its queries with a 0.
    """
    rows, padded = equal_length(vectors), artifact.index_queries(queries)
    n_items = len(rows)
    if n_items < MEASURED_FROM and n_items < params.threshold:
        flat = _flat(rows)
        return flat, artifact_pb2.IndexInfo(factory="Flat", nprobe=0, recall_at_100=1.0)
    started = time.perf_counter()
    best = exact_best_scores(rows, padded, k=max(params.k, _K))  # one brute-force pass for both k

    def kth(k: int) -> np.ndarray:
        return best[:, min(k, best.shape[1]) - 1]

    candidates = compare_indexes(rows, padded, params, padded=True, kth=kth(params.k))
    chosen = cheapest(candidates, params.target_recall)
    recall_100 = 1.0 if chosen.nprobe == 0 else recall_at_k(chosen.index, padded, kth(_K), k=_K)
    log.info("index_chosen %s recall_at_100=%.4f k=%d target_recall=%.4f items=%d seconds=%.1f others=%s",
             chosen.describe(), recall_100, params.k, params.target_recall, n_items,
             time.perf_counter() - started,
             ";".join(c.describe().replace(" ", ",") for c in candidates if c is not chosen) or "none")
    exact = next((c.us_per_query for c in candidates if c.nprobe == 0), 0.0)
    return chosen.index, artifact_pb2.IndexInfo(factory=chosen.factory, nprobe=chosen.nprobe,
                                                recall_at_100=recall_100, recall_k=params.k,
                                                recall_at_k=chosen.recall, search_us_per_query=chosen.us_per_query,
                                                exact_us_per_query=exact)


def compare_indexes(vectors: np.ndarray, queries: np.ndarray, params: IvfParams, *,
                    padded: bool = False, kth: np.ndarray | None = None) -> list[IndexCandidate]:
    """Every index the builder weighs for these vectors, timed, with its recall@k on `queries`.

    Exact search first (from `params.threshold` items on, neither timed nor offered); then each IVF
    candidate at the smallest nprobe reaching the target recall, else at `max_nprobe` (from the
    threshold on, only the 2 sqrt(N) candidate). `padded`: `vectors` and `queries` are laid out for the
    index already (`equal_length`, `index_queries`); `kth`: the queries' exact k-th best scores, when the
    caller has them (else computed here).
    """
    if not padded:
        vectors, queries = equal_length(vectors), artifact.index_queries(queries)
    forced = len(vectors) >= params.threshold
    kth = exact_kth_scores(vectors, queries, k=params.k) if kth is None else kth
    kinds: list[tuple[faiss.Index, int, float]] = [] if forced else [(_flat(vectors), 0, 1.0)]
    for lists in sorted({_ivf_lists(len(vectors), c) for c in ((2.0,) if forced else _LISTS_PER_ROOT)}):
        index = _ivf(vectors, lists, params.seed)
        kinds.append((index, *_tune_nprobe(index, queries, kth, params)))
    timed = queries[:: max(1, len(queries) // _TIMED_QUERIES)][:_TIMED_QUERIES]
    costs = _us_per_query([index for index, _, _ in kinds], timed, params.k)
    return [IndexCandidate(index, _factory(index), nprobe, cost, recall)
            for (index, nprobe, recall), cost in zip(kinds, costs, strict=True)]


def cheapest(candidates: list[IndexCandidate], target_recall: float) -> IndexCandidate:
    """The cheapest candidate reaching the target recall (any, when none does: from the threshold on,
    where exact search is not offered); an IVF beats exact search only below `_IVF_MARGIN` of its cost."""
    def cost(c: IndexCandidate) -> float:
        return c.us_per_query if c.nprobe else _IVF_MARGIN * c.us_per_query
    return min([c for c in candidates if c.recall >= target_recall] or candidates, key=cost)


def _factory(index: faiss.Index) -> str:
    return "Flat" if isinstance(index, faiss.IndexFlat) else f"IVF{faiss.extract_index_ivf(index).nlist},Flat"


def _flat(vectors: np.ndarray) -> faiss.Index:
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    return flat


def _ivf(vectors: np.ndarray, lists: int, seed: int) -> faiss.Index:
    factory = f"IVF{lists},Flat"
    index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(vectors), size=min(len(vectors), _TRAIN_POINTS_PER_LIST * lists), replace=False)
    started = time.perf_counter()
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    log.info("index_trained factory=%s points=%d items=%d seconds=%.1f", factory, len(sample), len(vectors),
             time.perf_counter() - started)
    return index


def _tune_nprobe(index: faiss.Index, queries: np.ndarray, kth: np.ndarray,
                 params: IvfParams) -> tuple[int, float]:
    """Smallest nprobe on the ladder whose recall@k reaches the target (else `max_nprobe`), and its recall.

    Walked up from 1 probe: a search costs about its nprobe, so the walk costs a few times the answer's.
    """
    ivf = faiss.extract_index_ivf(index)
    cap = min(params.max_nprobe, ivf.nlist)
    recall = 0.0
    for nprobe in [*(p for p in _NPROBE_LADDER if p < cap), cap]:
        ivf.nprobe = nprobe
        recall = recall_at_k(index, queries, kth, k=params.k)
        log.debug("index_probe nlist=%d nprobe=%d recall_at_k=%.4f", ivf.nlist, nprobe, recall)
        if recall >= params.target_recall:
            break
    return int(ivf.nprobe), recall


def exact_best_scores(vectors: np.ndarray, queries: np.ndarray, *, k: int,
                      block: int = 8192) -> np.ndarray:
    """[queries, min(k, items)]: each query's exact k best inner products, best first (brute force,
    blockwise, `vectors` not copied); column j - 1 is the exact j-th best for any j <= k."""
    k = min(k, len(vectors))
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    scores = np.empty((len(queries), block + k), dtype=np.float32)
    for start in range(0, len(vectors), block):
        part = vectors[start:start + block]
        np.matmul(queries, part.T, out=scores[:, :len(part)])
        scores[:, len(part):len(part) + k] = best
        width = len(part) + k
        best = np.partition(scores[:, :width], width - k, axis=1)[:, -k:]
    return -np.sort(-best, axis=1)


def exact_kth_scores(vectors: np.ndarray, queries: np.ndarray, *, k: int,
                     block: int = 8192) -> np.ndarray:
    """The exact k-th best inner product per query."""
    return exact_best_scores(vectors, queries, k=k, block=block)[:, -1]


def recall_at_k(index: faiss.Index, queries: np.ndarray, kth: np.ndarray, *, k: int = _K) -> float:
    """Share of each query's exact top-k that `index` returns, averaged over queries.

    `kth` holds each query's exact k-th best score (`exact_kth_scores` with the same k). A
    returned item counts when its score reaches it (the index's own score: exact for the
    Flat-coded indexes built here): items with identical vectors (cold items share their
    category's and brand's vector) tie, and which of them fills the last places is arbitrary,
    so comparing ids would count a tie as a miss.
    """
    k = min(k, index.ntotal)
    scores, found = index.search(queries, k)
    hits = (found >= 0) & (scores >= kth[:, None] - _SCORE_TOLERANCE)
    return float(hits.sum()) / float(len(queries) * k)


def _us_per_query(indexes: list[faiss.Index], queries: np.ndarray, k: int) -> list[float]:
    """Microseconds per single-query search on one thread, as the server calls it: per index, the best
    of `_ROUNDS` rounds, the indexes taking turns within each round; a round stops after `_ROUND_SECONDS`
    (at least 10 queries), so exact search on a large catalog does not slow the build."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    best = [math.inf] * len(indexes)
    clock = time.perf_counter
    try:
        for _ in range(_ROUNDS):
            for i, index in enumerate(indexes):
                started = clock()
                for done, query in enumerate(queries, start=1):
                    index.search(query[None, :], k)
                    if done >= 10 and clock() - started > _ROUND_SECONDS:
                        break
                best[i] = min(best[i], 1e6 * (clock() - started) / done)
        return best
    finally:
        faiss.omp_set_num_threads(threads)
