"""Ranking stages: pure functions over `Candidates`, the parallel arrays a pipeline carries.

A request walks through candidates -> eligibility masks -> score terms -> re-ranking steps
-> top-n (server/ranking/pipelines.py composes the two pipelines). Each stage costs a fixed number of
array operations whatever the number of candidates: no Python loop per candidate, item or
rule. A new feature (segment popularity, rules, diversity, exploration) is a new stage here
and one line in a pipeline; the array helpers below are its building blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from protos.artifact import index_queries
from protos.ranker import generators
from server.api.queries import Filter
from server.errors import ArtifactError
from server.ranking import reasons
from server.ranking.policy import RankingPolicy

if TYPE_CHECKING:
    import faiss

    from server.runtime.snapshot import Catalog

__all__ = ["Candidates", "nearest", "item_item_scores", "successors", "item_item", "item_item_affinity", "due", "mark",
           "restocks_due", "add_restocks", "buy_again", "best_first", "top_up_popular", "from_request",
           "keep_filtered", "blend_affinity", "unknown_entries", "place_unknown", "top_n", "member", "filter_mask",
           "eligible", "search_index", "minmax", "affinity"]

# A membership table over at most this many integers (or 8 per value looked at) beats np.isin.
_TABLE_LIMIT = 65_536
_BROADCAST_LIMIT = 16_384
_MASK = reasons.MASK_DTYPE


@dataclass(frozen=True, slots=True)
class Candidates:
    """One entry per candidate: catalog row (-1 = not in the catalog), score (higher is better),
    reason mask (server/ranking/reasons.py), whether it is still eligible, and (Rerank) its position in
    the request. `ordered` says the entries already stand best first (a retrieval that returns
    them so), which lets `top_n` skip its sort; a stage that changes scores drops it. `anchors`: per
    candidate, the catalog row of the item it complements (-1 none), named by the last stage
    (server/ranking/complements.py) for the reasons that name it. `rules`: per candidate, the index of the
    merchandising rule that moved it in its RuleSet (-1 none; server/merchandising/compiler.py), for Reason.rule."""

    rows: np.ndarray
    scores: np.ndarray
    reasons: np.ndarray
    keep: np.ndarray
    positions: np.ndarray | None = None
    ordered: bool = False
    anchors: np.ndarray | None = None
    rules: np.ndarray | None = None

    def with_(self, *, scores: np.ndarray | None = None, reasons: np.ndarray | None = None,
              keep: np.ndarray | None = None, anchors: np.ndarray | None = None, rules: np.ndarray | None = None,
              ordered: bool | None = None) -> Candidates:
        """A copy with some arrays replaced (dataclasses.replace costs µs of introspection per call); new scores
        drop `ordered` unless the caller says the entries still stand best first."""
        return Candidates(self.rows, self.scores if scores is None else scores,
                          self.reasons if reasons is None else reasons, self.keep if keep is None else keep,
                          self.positions, self.ordered and scores is None if ordered is None else ordered,
                          self.anchors if anchors is None else anchors, self.rules if rules is None else rules)

    def appended(self, rows: np.ndarray, scores: np.ndarray, reasons: np.ndarray, *, replaces: bool = False,
                 below: bool = False, positions: np.ndarray | None = None) -> Candidates:
        """The one way a stage adds candidates: these entries after the present ones, kept, every other
        per-candidate array (positions, anchors, rules) carried along with -1 for the new entries (or their
        `positions` in the request, when given). `replaces`: a present candidate of one of `rows` is no
        longer kept (the new entry stands for it); `below`: the new entries score below every present one in
        their order, so an ordered list stays so."""
        more = len(rows)
        keep = self.keep & ~member(self.rows, rows) if replaces and more else self.keep
        return Candidates(np.concatenate([self.rows, rows]), np.concatenate([self.scores, scores]),
                          np.concatenate([self.reasons, reasons.astype(self.reasons.dtype, copy=False)]),
                          np.concatenate([keep, np.ones(more, dtype=bool)]), _padded(self.positions, more, positions),
                          below and self.ordered and bool(self.keep.all()), _padded(self.anchors, more),
                          _padded(self.rules, more))

    def taken(self, at: np.ndarray) -> Candidates:
        """The entries at indices `at`, in that order (every per-candidate array follows), standing best first."""
        return Candidates(self.rows[at], self.scores[at], self.reasons[at], self.keep[at], _at(self.positions, at),
                          True, _at(self.anchors, at), _at(self.rules, at))


def _padded(values: np.ndarray | None, more: int, given: np.ndarray | None = None) -> np.ndarray | None:
    if values is None:
        return None
    return np.concatenate([values, np.full(more, -1, dtype=values.dtype) if given is None else given])


def _at(values: np.ndarray | None, at: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[at]


def best_first(c: Candidates) -> np.ndarray:
    """The indices of the kept candidates, best score first (ties keep their order): the one order every
    re-ranking step walks."""
    order = np.flatnonzero(c.keep)
    return order[np.argsort(-c.scores[order], kind="stable")]


def _ordered(rows: np.ndarray, scores: np.ndarray, mask: int) -> Candidates:
    """Candidates that stand best first, all kept, with one reason mask."""
    return Candidates(rows, scores, np.full(len(rows), mask, dtype=_MASK), np.ones(len(rows), dtype=bool),
                      ordered=True)


# --- array helpers ---------------------------------------------------------------------------------------------------


def member(values: np.ndarray, of: np.ndarray) -> np.ndarray:
    """np.isin for the hot path: a broadcast compare when small (np.isin costs ~13-20 µs of overhead), else
    for integers within a short range (catalog rows of a small catalog, codes) a lookup table (~4 µs for
    1,500 rows against 300)."""
    if len(of) == 0:
        return np.zeros(len(values), dtype=bool)
    if len(values) * len(of) <= _BROADCAST_LIMIT:
        return (values[:, None] == of[None, :]).any(axis=1)
    if values.dtype.kind in "iu" and of.dtype.kind in "iu":
        low, high = min(int(values.min()), int(of.min())), max(int(values.max()), int(of.max()))
        if high - low <= max(_TABLE_LIMIT, 8 * (len(values) + len(of))):
            table = np.zeros(high - low + 1, dtype=bool)
            table[of - low] = True
            return table[values - low]
    return np.isin(values, of)


def _codes(names: frozenset[str], table: object) -> np.ndarray:
    codes: dict[str, int] = table  # type: ignore[assignment]
    return np.array([codes[n] for n in names if n in codes], dtype=np.int32)


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
    if f.allowed is not None:
        mask &= f.allowed[rows]
    return mask


def eligible(catalog: Catalog, rows: np.ndarray, exclude: np.ndarray, f: Filter) -> np.ndarray:
    """Recommendable: a known row, not excluded, in stock, passing the filters."""
    mask = (rows >= 0) & ~member(rows, exclude)
    safe = np.where(mask, rows, 0)
    return mask & catalog.in_stock[safe] & filter_mask(catalog, safe, f)


def search_index(index: faiss.Index, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The index's k best rows for one query vector and their inner products (FAISS pads -1)."""
    try:
        scores, rows = index.search(index_queries(vector[None, :]), k)
    except RuntimeError as exc:
        raise ArtifactError(f"index search failed: {exc}") from exc
    return rows[0].astype(np.int64), scores[0]


def minmax(values: np.ndarray) -> np.ndarray:
    spread = float(values.max() - values.min()) if len(values) else 0.0
    return (values - values.min()) / spread if spread > 0 else np.ones_like(values)


def affinity(vectors: np.ndarray, rows: np.ndarray, vector: np.ndarray | None) -> np.ndarray:
    """Cosine of each known row to the query vector; unknown rows get the known rows' mean; 0 without a vector."""
    out = np.zeros(len(rows))
    known = rows >= 0
    if vector is not None and known.any():
        out[known] = vectors[rows[known]] @ vector
        out[~known] = out[known].mean()
    return out


# --- candidates ------------------------------------------------------------------------------------------------------


def nearest(index: faiss.Index, catalog: Catalog, policy: RankingPolicy, vector: np.ndarray | None, sources: int,
            exclude: np.ndarray, f: Filter, n: int) -> Candidates:
    """Recommend's candidates: eligible index neighbours of the query vector, best first. The search
    grows (4x per round, a bounded number of rounds) while fewer than n pass eligibility."""
    if vector is None:
        return _ordered(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), sources)
    limit = min(catalog.n_items, policy.max_search_k)
    k = min(catalog.n_items, policy.search_overfetch * n + len(exclude) + 32)
    while True:
        rows, scores = search_index(index, vector, k)
        keep = eligible(catalog, rows, exclude, f)
        if keep.sum() >= n or k >= limit:
            return _ordered(rows[keep][:n], scores[keep][:n], sources)
        k = min(limit, 4 * k)


def item_item_scores(catalog: Catalog, seeds: np.ndarray, seed_weights: np.ndarray,
                     policy: RankingPolicy) -> np.ndarray:
    """Every catalog item's item-item score (protos.ranker.generators.item_item_scores) under the policy's
    successor settings. A bincount or two over the catalog: the model exists only for catalogs small enough
    that this is cheap."""
    return generators.item_item_scores(
        catalog.neighbors, catalog.neighbor_weights, seeds, seed_weights, catalog.n_items,
        successors=catalog.successors, successor_weights=catalog.successor_weights,
        successor_weight=policy.successor_weight, successor_items=policy.successor_items,
        successor_recency=policy.successor_recency)


def successors(catalog: Catalog, seeds: np.ndarray, policy: RankingPolicy) -> np.ndarray:
    """Every catalog item's successor score (protos.ranker.generators.successor_scores) of the newest
    successor_items seeds, each one step older weighing successor_recency times less."""
    return generators.successor_scores(catalog.successors, catalog.successor_weights, seeds, catalog.n_items,
                                       policy.successor_items, policy.successor_recency)


def item_item(catalog: Catalog, seeds: np.ndarray, seed_weights: np.ndarray, sources: int, exclude: np.ndarray,
              f: Filter, n: int, policy: RankingPolicy, revisits: np.ndarray | None = None,
              revisit_weight: float = 0.0) -> Candidates:
    """Recommend's candidates from the item-item model: the n best eligible items with a positive score.
    With `revisit_weight` > 0 each seed item also scores that much times its `revisits` (how much the
    shopper kept coming back to it)."""
    scores = item_item_scores(catalog, seeds, seed_weights, policy)
    if revisit_weight > 0 and revisits is not None:
        scores += revisit_weight * np.bincount(seeds, weights=revisits, minlength=catalog.n_items)
    rows = np.flatnonzero(scores > 0)
    rows = rows[eligible(catalog, rows, exclude, f)]
    best = rows[np.argsort(-scores[rows], kind="stable")[:n]]
    return _ordered(best, scores[best].astype(np.float32), sources)


def item_item_affinity(catalog: Catalog, seeds: np.ndarray, seed_weights: np.ndarray, rows: np.ndarray,
                       policy: RankingPolicy) -> np.ndarray:
    """Rerank's affinity from the item-item model: each known candidate's score over the best candidate's,
    clipped to [0, 1]; unknown candidates get the known ones' mean."""
    out = np.zeros(len(rows))
    known = rows >= 0
    if known.any():
        scores = np.maximum(item_item_scores(catalog, seeds, seed_weights, policy)[rows[known]], 0.0)
        top = float(scores.max())
        out[known] = scores / top if top > 0 else 0.0
        out[~known] = out[known].mean()
    return out


def due(catalog: Catalog, bought: np.ndarray, bought_at: np.ndarray, now: float, policy: RankingPolicy, *,
        without_cycle: bool = False) -> np.ndarray:
    """Per purchased row: may it be bought again now — at least policy.buy_again_min_rate of the item's
    buyers bought it again, and buy_again_due_share of its learned cycle has passed since this shopper
    last bought it (`without_cycle`: an item too rarely rebought for a cycle to be learned counts as due)."""
    return generators.due(catalog.repurchase_rate[bought], catalog.repurchase_days[bought], bought_at, now,
                          policy.buy_again_min_rate, policy.buy_again_due_share, without_cycle=without_cycle)


def mark(c: Candidates, rows: np.ndarray, reason: int) -> Candidates:
    """Add `reason` to the candidates whose row is one of `rows`."""
    hit = member(c.rows, rows)
    if not hit.any():
        return c
    return c.with_(reasons=c.reasons | np.where(hit, reasons.bit(reason), 0).astype(_MASK))


def restocks_due(catalog: Catalog, bought: np.ndarray, bought_at: np.ndarray, now: float, policy: RankingPolicy,
                 f: Filter) -> tuple[np.ndarray, np.ndarray]:
    """The shopper's purchases whose repurchase cycle is due, and how much each is: (rows, rate x timeliness).

    Due: the item has a learned cycle, at least policy.buy_again_min_rate of its buyers bought it
    again, and between buy_again_due_share and buy_again_max_cycles cycles have passed since this
    shopper last bought it; in stock and passing the filters. Timeliness: cycles elapsed, or its
    inverse once overdue (1 on the due day). These rows alone are the shopper's restocks, which the
    default brand cap lets through (server/ranking/diversity.py)."""
    if not len(bought) or policy.buy_again_weight <= 0:
        return bought[:0].astype(np.int64), np.zeros(0)
    rows = bought.astype(np.int64)
    return generators.restocks_due(catalog.repurchase_rate, catalog.repurchase_days, rows, bought_at, now,
                                   policy.buy_again_min_rate, policy.buy_again_due_share,
                                   policy.buy_again_max_cycles, eligible(catalog, rows, rows[:0], f))


def add_restocks(c: Candidates, restocks: tuple[np.ndarray, np.ndarray], policy: RankingPolicy) -> Candidates:
    """Add the due restocks (`restocks_due`; reason buy_again) to the candidates, each replacing its retrieved
    entry. Score: weight x rate x timeliness x the best kept candidate's score (1 without one), so the
    weight places rebuys among or above the personal candidates."""
    rows, due_weights = restocks
    if not len(rows):
        return c
    top = float(c.scores[c.keep].max()) if c.keep.any() else 1.0
    scores = (policy.buy_again_weight * due_weights * (abs(top) or 1.0)).astype(c.scores.dtype)
    return c.appended(rows, scores, np.full(len(rows), reasons.bit(reasons.BUY_AGAIN), dtype=_MASK), replaces=True)


def buy_again(catalog: Catalog, c: Candidates, bought: np.ndarray, bought_at: np.ndarray, now: float,
              policy: RankingPolicy, f: Filter) -> Candidates:
    """Add the shopper's purchases whose repurchase cycle is due (reason buy_again) to the candidates:
    `restocks_due` then `add_restocks`."""
    return add_restocks(c, restocks_due(catalog, bought, bought_at, now, policy, f), policy)


def top_up_popular(catalog: Catalog, c: Candidates, exclude: np.ndarray, f: Filter, n: int,
                   source: tuple[np.ndarray, int] | None = None) -> Candidates:
    """Fill up to n with eligible popular items not yet present, scored below every candidate.

    `source` is (rows best first, reason) of a shopper's own or their channel's popular list
    (scoring.fallback_rows), followed by the global popular list; default (or `catalog.popular_rows`
    itself): the global list alone (reason popular)."""
    missing = n - int(c.keep.sum())
    if missing <= 0:
        return c
    rows = catalog.popular_rows.astype(np.int64)
    masks = np.full(len(rows), reasons.bit(reasons.POPULAR), dtype=_MASK)
    if source is not None and source[0] is not catalog.popular_rows:
        own = source[0]
        rows = np.concatenate([own, rows[~member(rows, own)]])
        masks = np.concatenate([np.full(len(own), reasons.bit(source[1]), dtype=_MASK), masks[:len(rows) - len(own)]])
    usable = eligible(catalog, rows, exclude, f) & ~member(rows, c.rows)
    rows, masks = rows[usable][:missing], masks[usable][:missing]
    floor = float(c.scores[c.keep].min()) if c.keep.any() else 1.0
    return c.appended(rows, floor - 1.0 - np.arange(len(rows)) / max(len(rows), 1), masks, below=True)


def from_request(rows: np.ndarray, search_scores: np.ndarray, searched: bool = True) -> Candidates:
    """Rerank's candidates, in request order: search relevance for all when the request has a search text
    (`searched`), unknown_item where not in the catalog."""
    masks = np.full(len(rows), reasons.bit(reasons.SEARCH_RELEVANCE) if searched else 0, dtype=_MASK)
    masks[rows < 0] |= reasons.bit(reasons.UNKNOWN_ITEM)
    return Candidates(rows, search_scores.astype(np.float64), masks, np.ones(len(rows), dtype=bool),
                      np.arange(len(rows)))


def unknown_entries(c: Candidates) -> np.ndarray:
    """Rerank: the indices of the kept candidates the catalog does not hold, in request order."""
    return np.flatnonzero(c.keep & (c.rows < 0))


def place_unknown(ranked: Candidates, c: Candidates, unknown: np.ndarray, n: int,
                  pinned: np.ndarray | None = None) -> Candidates:
    """Rerank's answer with its unknown candidates at their search positions: `ranked` (the known ones, best
    first) around the `unknown` entries of the request's candidates `c`, each at its index in the request
    (those past a shorter answer take its last places; past n, none). A merchandiser's pin keeps its slot
    (`pinned`: per entry of `ranked`, placed there by a pin rule): the unknown ones take their index among the
    other places. An unknown item scores as the item above it (the first place: as the one below)."""
    if not len(unknown):
        return ranked
    at = c.positions[unknown] if c.positions is not None else unknown
    size = len(ranked.rows)
    total = min(n, size + len(unknown))
    fixed = np.flatnonzero(pinned) if pinned is not None else np.zeros(0, dtype=np.int64)
    fixed = fixed[fixed < total]
    movable = np.setdiff1d(np.arange(size), fixed)  # the known entries around the unknown ones, in order
    free = np.setdiff1d(np.arange(total), fixed)
    inside = at < len(free)
    known = min(len(movable), len(free) - int(inside.sum()))
    outside = np.flatnonzero(~inside)[:len(free) - int(inside.sum()) - known]
    taken = np.zeros(len(free), dtype=bool)
    taken[at[inside]] = True
    rest = np.flatnonzero(~taken)
    order = np.empty(len(free), dtype=np.int64)  # index into [ranked..., the unknown entries...]
    order[rest[:known]] = movable[:known]
    order[rest[known:]] = size + outside
    order[at[inside]] = size + np.flatnonzero(inside)
    take = np.empty(total, dtype=np.int64)
    take[fixed] = fixed
    take[free] = order
    return _scored_as_neighbours(ranked.appended(c.rows[unknown], c.scores[unknown].astype(ranked.scores.dtype),
                                                 c.reasons[unknown], positions=at).taken(take), take >= size)


def _scored_as_neighbours(c: Candidates, placed: np.ndarray) -> Candidates:
    """`c` with each `placed` entry scoring as the nearest other entry above it, else below it (none: as it is)."""
    if placed.all():
        return c
    places = np.arange(len(placed))
    above = np.maximum.accumulate(np.where(placed, -1, places))
    below = np.minimum.accumulate(np.where(placed, len(placed), places)[::-1])[::-1]
    source = np.where(placed, np.where(above >= 0, above, below), places)
    return c.with_(scores=c.scores[source])


# --- eligibility, score terms, order ---------------------------------------------------------------------------------


def keep_filtered(catalog: Catalog, c: Candidates, f: Filter) -> Candidates:
    """Drop candidates failing the request's filters; unknown ones (no attributes) stay only without filters."""
    known = c.rows >= 0
    passed = known & filter_mask(catalog, np.where(known, c.rows, 0), f)
    return c.with_(keep=c.keep & (passed | ~known) if f.empty else c.keep & passed)


def blend_affinity(c: Candidates, affinity: np.ndarray | None, sources: int, policy: RankingPolicy) -> Candidates:
    """Rerank's score: the min-max search score, blended with the shopper's affinity to each candidate
    (clipped to [0, 1]) when there is one; the personal sources become reasons where the affinity
    reaches the threshold."""
    scaled = minmax(c.scores)
    known = c.rows >= 0
    if affinity is None or not known.any():
        return c.with_(scores=scaled)
    w = policy.search_weight
    marks = np.where(known & (affinity >= policy.affinity_reason), sources, 0).astype(_MASK)
    return c.with_(scores=w * scaled + (1 - w) * np.clip(affinity, 0.0, 1.0), reasons=c.reasons | marks)


def top_n(c: Candidates, n: int) -> Candidates:
    """The n best kept candidates, best first; ties keep their order."""
    if c.ordered and len(c.rows) <= n and c.keep.all():
        return c
    return c.taken(best_first(c)[:n])
