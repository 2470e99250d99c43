"""Diversity: Recommend's re-ranking step against walls of one brand or one category.

Two parts, both on by default in Recommend (not in Rerank, whose candidates are a search engine's
answer to a query: a search for a brand should show that brand):

- a soft penalty (MMR-like, RankingPolicy.diversity_penalty): each candidate loses that share of the best
  score per better candidate of its own category, so the second, third ... item of one category slides
  below a slightly weaker item of another;
- caps (server/caps.py): at most ceil(max_brand_share x n) items of one brand in the top n (0.4: 4 of
  10), and, when max_category_share < 1, ceil(max_category_share x n) of one category. Items without a
  brand (empty in the catalog, which the builder names "unbranded", as in every MovieLens import) are
  never capped.

Recommend retrieves up to `pool(n)` candidates (2n with a cap on) so a capped item has something to
give its place to.
"""

from __future__ import annotations

import math

import numpy as np

from server.caps import cap_groups, group_ranks
from server.policy import RankingPolicy
from server.snapshot import Catalog
from server.stages import Candidates

__all__ = ["UNBRANDED", "pool", "diversify", "full_brands"]

# The builder's name for an empty brand (index_builder/build.py): never capped.
UNBRANDED = ("unbranded", "")


def pool(n: int, policy: RankingPolicy) -> int:
    """How many candidates Recommend fills up to before the top n: 2n when a cap or the penalty is on."""
    on = policy.max_brand_share < 1.0 or policy.max_category_share < 1.0 or policy.diversity_penalty > 0
    return 2 * n if on else n


def _penalized(catalog: Catalog, c: Candidates, penalty: float) -> Candidates:
    order = np.flatnonzero(c.keep)
    if penalty <= 0 or len(order) < 2:
        return c
    order = order[np.argsort(-c.scores[order], kind="stable")]
    earlier = group_ranks(catalog.category[np.maximum(c.rows[order], 0)])
    if not earlier.any():
        return c
    scores = c.scores.astype(np.float64)
    scores[order] -= penalty * abs(float(scores[order[0]])) * earlier
    return c.with_(scores=scores)


def _brand_groups(catalog: Catalog, rows: np.ndarray) -> np.ndarray:
    groups = np.where(rows >= 0, catalog.brand[np.maximum(rows, 0)], -1).astype(np.int64)
    for name in UNBRANDED:
        code = catalog.brand_codes.get(name)
        if code is not None:
            groups[groups == code] = -1
    return groups


def full_brands(catalog: Catalog, rows: np.ndarray, n: int, policy: RankingPolicy) -> np.ndarray:
    """The brand codes that already hold their cap's share of the n places among `rows` (none without a cap):
    an item added to these rows (an explore slot) must be of another brand."""
    if policy.max_brand_share >= 1.0 or not len(rows):
        return np.zeros(0, dtype=np.int64)
    groups = _brand_groups(catalog, rows)
    counts = np.bincount(groups[groups >= 0], minlength=1)
    return np.flatnonzero(counts >= math.ceil(policy.max_brand_share * n - 1e-9))


def diversify(catalog: Catalog, c: Candidates, n: int, policy: RankingPolicy) -> Candidates:
    """The category penalty, then the brand cap, then the category cap (module docstring)."""
    c = _penalized(catalog, c, policy.diversity_penalty)
    if policy.max_brand_share < 1.0:
        limit = np.full(len(c.rows), math.ceil(policy.max_brand_share * n - 1e-9))
        c = cap_groups(c, _brand_groups(catalog, c.rows), limit, n)
    if policy.max_category_share < 1.0:
        limit = np.full(len(c.rows), math.ceil(policy.max_category_share * n - 1e-9))
        groups = np.where(c.rows >= 0, catalog.category[np.maximum(c.rows, 0)], -1)
        c = cap_groups(c, groups, limit, n)
    return c
