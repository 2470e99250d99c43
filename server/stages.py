"""Ranking stages: pure functions from arrays to arrays.

A request walks through candidates -> eligibility masks -> score terms -> re-ranking steps
-> top-n (see server/ranking.py for the two pipelines). Each stage costs a fixed number of
array operations whatever the number of candidates: no Python loop per candidate, item or
rule. A new feature (segment popularity, rules, diversity, exploration) is a new stage here
and one line in a pipeline.
"""

from __future__ import annotations

import faiss
import numpy as np

from protos.artifact import index_queries
from server import reasons
from server.errors import ArtifactError
from server.queries import Filter
from server.snapshot import Catalog

__all__ = ["member", "filter_mask", "eligible", "search_index", "popular_rows", "scores_below", "minmax",
           "affinity", "blend_scores", "rerank_reasons", "top_n"]

_BROADCAST_LIMIT = 16_384


# --- eligibility -----------------------------------------------------------------------------------------------------


def member(values: np.ndarray, of: np.ndarray) -> np.ndarray:
    """np.isin for the hot path: a broadcast compare when small (np.isin costs ~20 µs of overhead)."""
    if len(of) == 0:
        return np.zeros(len(values), dtype=bool)
    if len(values) * len(of) <= _BROADCAST_LIMIT:
        return (values[:, None] == of[None, :]).any(axis=1)
    return np.isin(values, of)


def _codes(names: frozenset[str], codes: dict[str, int] | object) -> np.ndarray:
    table: dict[str, int] = codes  # type: ignore[assignment]
    return np.array([table[n] for n in names if n in table], dtype=np.int32)


def filter_mask(catalog: Catalog, rows: np.ndarray, f: Filter) -> np.ndarray:
    """True where the item (row >= 0) passes every set filter of the request."""
    mask = np.ones(len(rows), dtype=bool)
    if f.categories:
        mask &= member(catalog.category[rows], _codes(f.categories, catalog.category_codes))
    if f.brands:
        mask &= member(catalog.brand[rows], _codes(f.brands, catalog.brand_codes))
    if f.min_price or f.max_price:
        price = catalog.price[rows]
        mask &= price >= f.min_price
        if f.max_price:
            mask &= price <= f.max_price
    if f.in_stock_only:
        mask &= catalog.in_stock[rows]
    return mask


def eligible(catalog: Catalog, rows: np.ndarray, exclude: np.ndarray, f: Filter) -> np.ndarray:
    """Recommendable: a known row, not excluded, in stock, passing the filters."""
    mask = (rows >= 0) & ~member(rows, exclude)
    safe = np.where(mask, rows, 0)
    return mask & catalog.in_stock[safe] & filter_mask(catalog, safe, f)


# --- score terms -----------------------------------------------------------------------------------------------------


def search_index(index: faiss.Index, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The index's k best rows for one query vector and their inner products (FAISS pads -1)."""
    try:
        scores, rows = index.search(index_queries(vector[None, :]), k)
    except RuntimeError as exc:
        raise ArtifactError(f"index search failed: {exc}") from exc
    return rows[0].astype(np.int64), scores[0]


def popular_rows(catalog: Catalog, exclude: np.ndarray, f: Filter, taken: np.ndarray, n: int) -> np.ndarray:
    """Up to n eligible rows from the popularity list, skipping `taken`."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    rows = catalog.popular_rows.astype(np.int64)
    keep = eligible(catalog, rows, exclude, f) & ~member(rows, taken)
    return rows[keep][:n]


def scores_below(scores: np.ndarray, count: int) -> np.ndarray:
    """`count` descending scores strictly below every one of `scores` (fill-ins keep their order)."""
    floor = float(scores.min()) if len(scores) else 1.0
    return (floor - 1.0 - np.arange(count, dtype=np.float32) / max(count, 1)).astype(np.float32)


def minmax(values: np.ndarray) -> np.ndarray:
    spread = float(values.max() - values.min())
    return (values - values.min()) / spread if spread > 0 else np.ones_like(values)


def affinity(vectors: np.ndarray, rows: np.ndarray, vector: np.ndarray | None) -> np.ndarray:
    """Cosine of each known row to the query vector; unknown rows get the known rows' mean; 0 without a vector."""
    out = np.zeros(len(rows))
    known = rows >= 0
    if vector is not None and known.any():
        out[known] = vectors[rows[known]] @ vector
        out[~known] = out[known].mean()
    return out


def blend_scores(search: np.ndarray, cosine: np.ndarray, search_weight: float, personal: bool) -> np.ndarray:
    """Rerank score: min-max search score, blended with clipped affinity when there is a personal vector."""
    scaled = minmax(search.astype(np.float64))
    if not personal:
        return scaled
    return search_weight * scaled + (1 - search_weight) * np.clip(cosine, 0.0, 1.0)


# --- reasons and order -----------------------------------------------------------------------------------------------


def rerank_reasons(known: np.ndarray, cosine: np.ndarray, sources: int, personal: bool,
                   threshold: float) -> np.ndarray:
    """Reason mask per candidate: search relevance always; the personal sources where the affinity
    reaches `threshold`; unknown_item for candidates not in the catalog."""
    mask = np.full(len(known), reasons.bit(reasons.SEARCH_RELEVANCE), dtype=reasons.MASK_DTYPE)
    if personal:
        mask[known & (cosine >= threshold)] |= sources
    mask[~known] |= reasons.bit(reasons.UNKNOWN_ITEM)
    return mask


def top_n(scores: np.ndarray, keep: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n best kept entries, best first; ties keep their input order."""
    order = np.flatnonzero(keep)
    return order[np.argsort(-scores[order], kind="stable")][:n]
