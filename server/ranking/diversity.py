"""Diversity: Recommend's re-ranking step against walls of one brand or one category.

Two parts, both on by default in Recommend (not in Rerank, whose candidates are a search engine's
answer to a query: a search for a brand should show that brand):

- a soft penalty (MMR-like, RankingPolicy.diversity_penalty): each candidate loses that share of the best
  score per better candidate of its own category, so the second, third ... item of one category slides
  below a slightly weaker item of another;
- caps (server/ranking/caps.py): at most ceil(max_brand_share x n) items of one brand in the top n (0.4: 4 of
  10), and, when max_category_share < 1, ceil(max_category_share x n) of one category. Items without a
  brand (empty in the catalog, which the builder names "unbranded", as in every MovieLens import) are
  never capped. The default brand cap lets through only the shopper's due restocks (the rows
  stages.restocks_due judged due, reason buy_again: a restock list is the shopper's own, not a wall the
  store built); everything else the shopper touched before is held like any item. A merchandiser's brand
  cap rule replaces the default for the brands it covers, and holds restocks too.

Recommend retrieves up to `pool(n)` candidates (2n with a cap on) so a capped item has something to
give its place to; when even those are too few (a session whose similar items are nearly all of one
brand), the popular top-up fills in above the capped items. Only when nothing else is eligible (a
filter on one brand) do capped items fill the answer.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from server.api.queries import Filter
from server.ranking import reasons, stages
from server.ranking.caps import cap_groups
from server.ranking.policy import RankingPolicy
from server.ranking.stages import Candidates

if TYPE_CHECKING:
    from server.runtime.snapshot import Catalog

__all__ = ["pool", "diversify", "over_caps"]

# The builder's name for an empty brand (index_builder/build.py): never capped.
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


def pool(n: int, policy: RankingPolicy) -> int:
    """How many candidates Recommend fills up to before the top n: 2n when a cap or the penalty is on."""
    on = policy.max_brand_share < 1.0 or policy.max_category_share < 1.0 or policy.diversity_penalty > 0
    return 2 * n if on else n


def _penalized(catalog: Catalog, c: Candidates, penalty: float) -> Candidates:
    if penalty <= 0 or int(c.keep.sum()) < 2:
        return c
    order = stages.best_first(c)
    earlier = group_ranks(catalog.category[np.maximum(c.rows[order], 0)])
    if not earlier.any():
        return c
    scores = c.scores.astype(np.float64)
    scores[order] -= penalty * abs(float(scores[order[0]])) * earlier
    return c.with_(scores=scores)


def _brand_groups(catalog: Catalog, rows: np.ndarray) -> np.ndarray:
    groups = np.where(rows >= 0, catalog.brand[np.maximum(rows, 0)], -1).astype(np.int64)
    groups[np.isin(groups, catalog.no_brand)] = -1
    return groups


def over_caps(catalog: Catalog, rows: np.ndarray, answer: np.ndarray, n: int, policy: RankingPolicy,
              rule_caps: tuple[tuple[np.ndarray, np.ndarray], ...] = ()) -> np.ndarray:
    """Per row of `rows` (items that may join the answer, as an explore slot does): whether it would go past
    a cap the `answer` rows already fill — the policy's brand share of the n places, or a merchandiser's
    brand or category cap rule in force (`rule_caps`: ActiveRules.caps, per catalog item its group code or
    -1 and its limit). An added item's limit for its brand is so the smaller of the policy's and the rule's."""
    over = np.zeros(len(rows), dtype=bool)
    if not len(answer) or not len(rows):
        return over
    if policy.max_brand_share < 1.0:
        held = _brand_groups(catalog, answer)
        counts = np.bincount(held[held >= 0], minlength=len(catalog.brand_codes) + 1)
        brands = _brand_groups(catalog, rows)
        over |= (brands >= 0) & (counts[np.maximum(brands, 0)] >= _limit(policy.max_brand_share, n))
    answer = answer[answer >= 0]
    for groups, limits in rule_caps:
        held = groups[answer]
        counts = np.bincount(held[held >= 0], minlength=int(groups.max(initial=0)) + 1)
        at = np.maximum(rows, 0)
        group = np.where(rows >= 0, groups[at], -1)
        over |= (group >= 0) & (counts[np.maximum(group, 0)] >= limits[at])
    return over


def _caps(catalog: Catalog, c: Candidates, n: int, policy: RankingPolicy, ruled: np.ndarray | None,
          restocks: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]]]:
    """(group per candidate, limit per candidate) of each default cap that is on, and the same with the
    merchandiser's brand cap rule (`ruled`: per catalog item, the rule's limit for its brand, -1 = none),
    which counts what a cap will demote. The default brand cap holds every branded item but the shopper's
    due restocks (`restocks`: the rows stages.restocks_due judged due, reason buy_again) and the brands a rule
    covers: that rule replaces it and is applied once, with the other rules (server/merchandising/stage.py)."""
    caps, counted = [], []
    rule = np.where(c.rows >= 0, ruled[np.maximum(c.rows, 0)], -1) if ruled is not None else None
    if policy.max_brand_share < 1.0:
        groups = _brand_groups(catalog, c.rows)
        if len(restocks):
            groups[((c.reasons & _RESTOCK) != 0) & stages.member(c.rows, restocks)] = -1
        if rule is not None:
            groups[rule >= 0] = -1
        caps.append((groups, np.full(len(c.rows), _limit(policy.max_brand_share, n))))
    if policy.max_category_share < 1.0:
        groups = np.where(c.rows >= 0, catalog.category[np.maximum(c.rows, 0)], -1)
        caps.append((groups, np.full(len(c.rows), _limit(policy.max_category_share, n))))
    if rule is not None and (rule >= 0).any():
        counted.append((np.where(rule >= 0, _brand_groups(catalog, c.rows), -1), rule))
    return caps, caps + counted


def _limit(share: float, n: int) -> int:
    return math.ceil(share * n - 1e-9)


def _past(c: Candidates, caps: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The kept candidates best first, and which of them are past one of the caps (at most two: brand, category)."""
    order = stages.best_first(c)
    over = np.zeros(len(order), dtype=bool)
    for groups, limits in caps:
        group = groups[order]
        over |= (group >= 0) & (group_ranks(group) >= limits[order])
    return order, over


def diversify(catalog: Catalog, c: Candidates, n: int, policy: RankingPolicy, exclude: np.ndarray, f: Filter,
              source: tuple[np.ndarray, int] | None = None, ruled: np.ndarray | None = None,
              restocks: np.ndarray | None = None) -> Candidates:
    """The category penalty, then the caps (module docstring): the items past a cap go below all others. When
    that leaves fewer than n others, the popular top-up (`source`, as in stages.top_up_popular) fills in
    first, above them, so a cap only gives way when the catalog has nothing else eligible. `ruled`: per
    catalog item, the limit a merchandiser's brand cap rule sets for its brand, -1 = none: it replaces the
    default, and what it will demote is counted here, for the top-up. `restocks`: the shopper's due restocks
    (stages.restocks_due), which the default brand cap lets through."""
    c = _penalized(catalog, c, policy.diversity_penalty)
    restocks = restocks if restocks is not None else np.zeros(0, dtype=np.int64)
    caps, counted = _caps(catalog, c, n, policy, ruled, restocks)
    if not counted:
        return c
    order, over = _past(c, counted)
    if not over[:n].any():
        return c
    if len(order) - int(over.sum()) < n:
        c = _refilled(catalog, c, order[over], n, exclude, f, source)
        caps, _ = _caps(catalog, c, n, policy, ruled, restocks)
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
