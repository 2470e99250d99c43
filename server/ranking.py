"""The two ranking pipelines, each a short sequence of stages (server/stages.py).

Recommend: query vector -> index top-k -> eligibility (excluded, out-of-stock, filters) ->
top n, topped up from the popularity list.
Rerank: candidates -> eligibility (filters) -> score terms (min-max search score blended with
the shopper's affinity) -> top n; unknown candidates keep their search order.

Both return `Ranked`: parallel arrays of rows, scores and reason masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server import reasons, stages
from server.policy import RankingPolicy
from server.queries import Filter
from server.signals import Signals
from server.snapshot import Snapshot

__all__ = ["Ranked", "recommend", "rerank"]


@dataclass(frozen=True, slots=True)
class Ranked:
    """Parallel arrays: rows (-1 = unknown candidate), scores, reason masks (server/reasons.py)."""

    rows: np.ndarray
    scores: np.ndarray
    reasons: np.ndarray
    candidate_index: np.ndarray | None = None  # Rerank: position in the request


def _nearest(snapshot: Snapshot, policy: RankingPolicy, signals: Signals, n: int,
             f: Filter) -> tuple[np.ndarray, np.ndarray]:
    """Eligible index neighbours of the query vector, best first; the search grows (4x per round,
    a bounded number of rounds) while fewer than n pass."""
    catalog, vector = snapshot.catalog, signals.vector
    if vector is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    limit = min(catalog.n_items, policy.max_search_k)
    k = min(catalog.n_items, policy.search_overfetch * n + len(signals.exclude) + 32)
    while True:
        rows, scores = stages.search_index(snapshot.index, vector, k)
        keep = stages.eligible(catalog, rows, signals.exclude, f)
        if keep.sum() >= n or k >= limit:
            return rows[keep][:n], scores[keep][:n]
        k = min(limit, 4 * k)


def recommend(snapshot: Snapshot, policy: RankingPolicy, signals: Signals, n: int, f: Filter) -> Ranked:
    rows, scores = _nearest(snapshot, policy, signals, n, f)
    if len(rows) == n:
        return Ranked(rows, scores, np.full(n, signals.sources, dtype=reasons.MASK_DTYPE))
    extra = stages.popular_rows(snapshot.catalog, signals.exclude, f, rows, n - len(rows))
    masks = np.concatenate([np.full(len(rows), signals.sources, dtype=reasons.MASK_DTYPE),
                            np.full(len(extra), reasons.bit(reasons.POPULAR), dtype=reasons.MASK_DTYPE)])
    scores = np.concatenate([scores, stages.scores_below(scores, len(extra))])
    return Ranked(np.concatenate([rows, extra]), scores, masks)


def rerank(snapshot: Snapshot, policy: RankingPolicy, signals: Signals, search_scores: np.ndarray, n: int,
           f: Filter) -> Ranked:
    catalog, rows = snapshot.catalog, signals.candidate_rows
    known = rows >= 0
    keep = known & stages.filter_mask(catalog, np.where(known, rows, 0), f)
    if f.empty:
        keep |= ~known
    personal = signals.vector is not None
    cosine = stages.affinity(catalog.vectors, rows, signals.vector)
    scores = stages.blend_scores(search_scores, cosine, policy.search_weight, personal and bool(known.any()))
    masks = stages.rerank_reasons(known, cosine, signals.sources, personal, policy.affinity_reason)
    order = stages.top_n(scores, keep, n)
    return Ranked(rows[order], scores[order].astype(np.float32), masks[order], candidate_index=order)
