"""Diversity: Recommend's re-ranking step against walls of one brand or one category.

Two parts, both on by default in Recommend (not in Rerank, whose candidates are a search engine's
answer to a query: a search for a brand should show that brand):

- a soft penalty (MMR-like, RankingPolicy.diversity_penalty): each candidate loses that share of the best
  score per better candidate of its own category, so the second, third ... item of one category slides
  below a slightly weaker item of another;
- caps (server/caps.py): at most ceil(max_brand_share x n) items of one brand in the top n (0.4: 4 of
  10), and, when max_category_share < 1, ceil(max_category_share x n) of one category. Items without a
  brand (empty in the catalog, which the builder names "unbranded", as in every MovieLens import) are
  never capped, nor are the shopper's own items by the default brand cap — their restocks (reason
  buy_again) and, in a store where shoppers come back to items, what they touched before: a restock
  list is the shopper's own, not a wall the store built (docs/evaluation.md "Successors, and the
  shopper's own items"); a merchandiser's cap rule still holds for them.

Recommend retrieves up to `pool(n)` candidates (2n with a cap on) so a capped item has something to
give its place to; when even those are too few (a session whose similar items are nearly all of one
brand), the popular top-up fills in above the capped items. Only when nothing else is eligible (a
filter on one brand) do capped items fill the answer.
"""

from __future__ import annotations

import math

import numpy as np

from server import reasons, stages
from server.caps import cap_groups
from server.policy import RankingPolicy
from server.queries import Filter
from server.snapshot import Catalog
from server.stages import Candidates

__all__ = ["UNBRANDED", "pool", "diversify", "full_brands"]

# The builder's name for an empty brand (index_builder/build.py): never capped.
UNBRANDED = ("unbranded", "")
_RESTOCK = reasons.bit(reasons.BUY_AGAIN)


def group_ranks(groups: np.ndarray) -> np.ndarray:
    """Per entry (in the order given): how many earlier entries share its group."""
    if not len(groups):
        return np.zeros(0, dtype=np.int64)
    by_group = np.argsort(groups, kind="stable")
    sorted_groups = groups[by_group]
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[by_group] = np.arange(len(groups)) - np.searchsorted(sorted_groups, sorted_groups)
    return ranks


def _best_first(c: Candidates) -> np.ndarray:
    """The indices of the kept candidates, best score first (ties in their order)."""
    order = np.flatnonzero(c.keep)
    return order[np.argsort(-c.scores[order], kind="stable")]


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


def _caps(catalog: Catalog, c: Candidates, n: int, policy: RankingPolicy, ruled: np.ndarray | None = None,
          own: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(group per candidate, limit per candidate) of each cap that is on; a brand a rule caps (`ruled`: per
    catalog item, that rule's limit, -1 = none) has the rule's limit instead of the default, which holds
    neither restocks nor the shopper's `own` rows."""
    caps = []
    if policy.max_brand_share < 1.0 or ruled is not None:
        default = _limit(policy.max_brand_share, n) if policy.max_brand_share < 1.0 else n
        limits = np.full(len(c.rows), default)
        rule = np.full(len(c.rows), -1) if ruled is None else np.where(c.rows >= 0, ruled[np.maximum(c.rows, 0)], -1)
        limits = np.where(rule >= 0, rule, limits)
        groups = _brand_groups(catalog, c.rows)
        mine = (c.reasons & _RESTOCK) != 0
        if own is not None and len(own):
            mine |= stages.member(c.rows, own)
        groups[mine & (rule < 0)] = -1  # the shopper's own items: the default cap never holds them
        caps.append((groups, limits))
    if policy.max_category_share < 1.0:
        groups = np.where(c.rows >= 0, catalog.category[np.maximum(c.rows, 0)], -1)
        caps.append((groups, np.full(len(c.rows), _limit(policy.max_category_share, n))))
    return caps


def _limit(share: float, n: int) -> int:
    return math.ceil(share * n - 1e-9)


def _past(c: Candidates, caps: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The kept candidates best first, and which of them are past one of the caps (at most two: brand, category)."""
    order = _best_first(c)
    over = np.zeros(len(order), dtype=bool)
    for groups, limits in caps:
        group = groups[order]
        over |= (group >= 0) & (group_ranks(group) >= limits[order])
    return order, over


def diversify(catalog: Catalog, c: Candidates, n: int, policy: RankingPolicy, exclude: np.ndarray, f: Filter,
              source: tuple[np.ndarray, int] | None = None, ruled: np.ndarray | None = None,
              own: np.ndarray | None = None) -> Candidates:
    """The category penalty, then the caps (module docstring): the items past a cap go below all others. When
    that leaves fewer than n others, the popular top-up (`source`, as in stages.top_up_popular) fills in
    first, above them, so a cap only gives way when the catalog has nothing else eligible. `ruled`: per
    catalog item, the limit a merchandiser's brand cap rule sets for its brand, -1 = none: it replaces the default).
    `own`: the rows the shopper came back to, which the default brand cap does not hold."""
    c = _penalized(catalog, c, policy.diversity_penalty)
    caps = _caps(catalog, c, n, policy, ruled, own)
    if not caps:
        return c
    order, over = _past(c, caps)
    if not over[:n].any():
        return c
    if len(order) - int(over.sum()) < n:
        c = _refilled(catalog, c, order[over], n, exclude, f, source)
        caps = _caps(catalog, c, n, policy, ruled, own)
    for groups, limits in caps:
        c = cap_groups(c, groups, limits, n)
    return c


def _refilled(catalog: Catalog, c: Candidates, held: np.ndarray, n: int, exclude: np.ndarray, f: Filter,
              source: tuple[np.ndarray, int] | None) -> Candidates:
    """`c` topped up with popular items to n kept besides the `held` ones (which stay, as candidates)."""
    keep = c.keep.copy()
    keep[held] = False
    topped = stages.top_up_popular(catalog, c.with_(keep=keep), exclude, f, n, source)
    keep = topped.keep.copy()
    keep[held] = True  # the top-up appends: the held indices still point at the same candidates
    return topped.with_(keep=keep)
