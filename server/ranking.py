"""Ranking: pure functions from a snapshot and signals to ordered rows with reasons.

Recommend: query vector -> FAISS top-k -> drop excluded, out-of-stock and
filtered rows -> top n, topped up from the popularity list.
Rerank: blend the search engine's (min-max scaled) score with the shopper's
affinity (cosine) to each candidate; unknown items keep their search order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protos.artifact import index_queries
from server.requests import Filter
from server.signals import Signals
from server.snapshot import Snapshot

__all__ = ["Ranked", "recommend", "rerank", "filter_mask", "member"]

_MAX_K = 8192
_BROADCAST_LIMIT = 16_384
_AFFINITY_REASON = 0.3  # cosine above which the personal source is named as a reason


@dataclass(frozen=True, slots=True)
class Ranked:
    """Parallel arrays: rows (-1 = unknown candidate), scores, and reason codes per item."""

    rows: np.ndarray
    scores: np.ndarray
    reasons: list[tuple[str, ...]]
    candidate_index: np.ndarray | None = None  # Rerank: position in the request


def member(values: np.ndarray, of: np.ndarray) -> np.ndarray:
    """np.isin for the hot path: a broadcast compare when small (np.isin costs ~20 µs of overhead)."""
    if len(of) == 0:
        return np.zeros(len(values), dtype=bool)
    if len(values) * len(of) <= _BROADCAST_LIMIT:
        return (values[:, None] == of[None, :]).any(axis=1)
    return np.isin(values, of)


def filter_mask(snapshot: Snapshot, rows: np.ndarray, f: Filter) -> np.ndarray:
    """True where the item passes every set filter."""
    mask = np.ones(len(rows), dtype=bool)
    if f.categories:
        codes = [snapshot.category_codes[c] for c in f.categories if c in snapshot.category_codes]
        mask &= member(snapshot.category[rows], np.array(codes, dtype=np.int32))
    if f.brands:
        codes = [snapshot.brand_codes[b] for b in f.brands if b in snapshot.brand_codes]
        mask &= member(snapshot.brand[rows], np.array(codes, dtype=np.int32))
    if f.min_price or f.max_price:
        price = snapshot.price[rows]
        mask &= price >= f.min_price
        if f.max_price:
            mask &= price <= f.max_price
    if f.in_stock_only:
        mask &= snapshot.in_stock[rows]
    return mask


def _eligible(snapshot: Snapshot, rows: np.ndarray, signals: Signals, f: Filter) -> np.ndarray:
    mask = (rows >= 0) & ~member(rows, signals.exclude)
    safe = np.where(mask, rows, 0)
    return mask & snapshot.in_stock[safe] & filter_mask(snapshot, safe, f)


def _nearest(snapshot: Snapshot, signals: Signals, n: int, f: Filter) -> tuple[np.ndarray, np.ndarray]:
    query = signals.vector
    if query is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    k = min(snapshot.n_items, 4 * n + len(signals.exclude) + 32)
    padded = index_queries(query[None, :])
    while True:
        scores, rows = snapshot.index.search(padded, k)
        keep = _eligible(snapshot, rows[0], signals, f)
        if keep.sum() >= n or k >= min(snapshot.n_items, _MAX_K):
            return rows[0][keep][:n], scores[0][keep][:n]
        k = min(snapshot.n_items, _MAX_K, 4 * k)


def _popular(snapshot: Snapshot, signals: Signals, n: int, f: Filter, taken: np.ndarray) -> np.ndarray:
    rows = np.asarray(snapshot.popular_rows)
    keep = _eligible(snapshot, rows, signals, f) & ~member(rows, taken)
    return rows[keep][:n]


def recommend(snapshot: Snapshot, signals: Signals, n: int, f: Filter) -> Ranked:
    rows = np.zeros(0, dtype=np.int64)
    scores = np.zeros(0, dtype=np.float32)
    if signals.vector is not None:
        rows, scores = _nearest(snapshot, signals, n, f)
    reasons: list[tuple[str, ...]] = [signals.sources] * len(rows)
    if len(rows) < n:
        extra = _popular(snapshot, signals, n - len(rows), f, rows)
        floor = float(scores.min()) if len(scores) else 1.0
        # Below every similarity score, in popularity order.
        extra_scores = floor - 1.0 - np.arange(len(extra), dtype=np.float32) / max(len(extra), 1)
        rows = np.concatenate([rows, extra])
        scores = np.concatenate([scores, extra_scores.astype(np.float32)])
        reasons += [("popular",)] * len(extra)
    return Ranked(rows, scores, reasons)


def _minmax(values: np.ndarray) -> np.ndarray:
    spread = float(values.max() - values.min())
    return (values - values.min()) / spread if spread > 0 else np.ones_like(values)


def rerank(snapshot: Snapshot, signals: Signals, search_scores: np.ndarray, n: int, f: Filter,
           search_weight: float) -> Ranked:
    rows = signals.candidate_rows
    known = rows >= 0
    blended = _minmax(search_scores.astype(np.float64))
    affinity = np.zeros(len(rows))
    if signals.vector is not None and known.any():
        affinity[known] = snapshot.vectors[rows[known]] @ signals.vector
        affinity[~known] = affinity[known].mean()
        blended = search_weight * blended + (1 - search_weight) * np.clip(affinity, 0.0, 1.0)
    keep = known.copy()
    keep[known] = filter_mask(snapshot, rows[known], f)
    if f.empty:
        keep |= ~known
    order = np.flatnonzero(keep)
    order = order[np.argsort(-blended[order], kind="stable")][:n]
    reasons = [_rerank_reasons(bool(known[i]), affinity[i], signals) for i in order]
    return Ranked(rows[order], blended[order].astype(np.float32), reasons, candidate_index=order)


def _rerank_reasons(known: bool, affinity: float, signals: Signals) -> tuple[str, ...]:
    if not known:
        return ("search_relevance", "unknown_item")
    if signals.vector is not None and affinity >= _AFFINITY_REASON:
        return ("search_relevance",) + signals.sources
    return ("search_relevance",)
