"""The two ranking pipelines, each a short sequence of stages over `Candidates` (server/ranking/stages.py).

Recommend: the item-item model's scores from the shopper's history and session (or, on product
pages, without a history, or without an item-item model: index neighbours of the query vector),
kept where eligible (not excluded, in stock, passing the filters) -> profile score terms
(server/ranking/scoring.py) -> plus the shopper's purchases whose repurchase cycle is due (buy again) ->
complements of the cart (cart page) or the page's product in the first places (server/ranking/complements.py) ->
topped up from the shopper's demographic cell's or segment's popular items, a visitor's channel's
trending items, else the popularity list (up to 2n with diversity or rule caps on) -> diversity (brand caps,
category penalty; server/ranking/diversity.py) -> merchandising rules (server/merchandising/compiler.py:
their exclude / include_only mask restricts eligibility from the start; boosts, caps, top n and pins at
the end) -> top n -> exploration
slots (server/ranking/explore.py; places a rule pinned keep their items) -> the response's scores (scoring.shown).
Rerank: the request's candidates -> eligibility (filters) -> score terms (min-max search score
blended with the shopper's affinity — item-item, or cosine when no candidate has an item-item
score, as for new items — then the profile terms) -> merchandising rules -> top n of the known ones,
placed around the unknown candidates, which keep their search positions -> the response's scores.

Both take everything the request contributes as one `RequestArrays` (server/ranking/request.py), assembled
where the request enters: `recommend(snapshot, policy, RequestArrays) -> Candidates`. A later step (rules,
diversity, exploration, an experiment's policy) is one more line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from server.merchandising import stage as merchandising
from server.ranking import complements, diversity, explore, learned, reasons, scoring, stages
from server.ranking.complements import Basket
from server.ranking.policy import RankingPolicy
from server.ranking.stages import Candidates

if TYPE_CHECKING:  # the boundary's types; ranking itself imports neither the store nor the request
    from server.api.queries import Filter
    from server.ranking.request import RequestArrays
    from server.ranking.signals import Signals
    from server.runtime.snapshot import Snapshot

__all__ = ["Ranked", "recommend", "rerank"]

# What a pipeline returns: the top candidates, best first, every one kept.
Ranked = Candidates


def _item_item_applies(snapshot: Snapshot, policy: RankingPolicy, signals: Signals) -> bool:
    """A shopper's history or session, an artifact with an item-item model, and not a product page."""
    return (policy.item_item and snapshot.catalog.neighbors.shape[1] > 0 and len(signals.seeds) > 0
            and not signals.sources & reasons.bit(reasons.ANCHOR_SIMILAR))


def recommend(snapshot: Snapshot, policy: RankingPolicy, request: RequestArrays) -> Ranked:
    """Recommend's pipeline (module docstring) over the request's arrays (server/ranking/request.py)."""
    catalog, signals, active, n = snapshot.catalog, request.signals, request.rules, request.n
    f = merchandising.restrict(request.filter, active)
    shopper = signals.shopper
    pool = diversity.pool(n, policy)
    fetch = max(n * policy.profile_overfetch, pool) if shopper is not None and policy.uses_profile else pool
    restocks = stages.restocks_due(catalog, signals.bought, signals.bought_at, signals.now, policy, f)
    if learned.applies(snapshot, policy, signals):
        c = learned.candidates(snapshot, signals, f)
    else:
        c = stages.add_restocks(_hand_blend(snapshot, policy, signals, f, fetch), restocks, policy)
    basket = _usable(request.basket, signals)
    c = complements.add_complements(catalog, c, basket, signals.exclude, f, n, policy)
    fallback = scoring.fallback_rows(catalog, shopper, policy, request.channel, request.trending)
    c = stages.top_up_popular(catalog, c, signals.exclude, f, max(pool, merchandising.pool(active, n, fetch)), fallback)
    c = diversity.diversify(catalog, c, n, policy, signals.exclude, f, fallback, active.brand_limits, restocks[0])
    c = merchandising.apply(c, active, n, signals.exclude, f)
    c = scoring.explain(catalog, stages.top_n(c, n), shopper, signals.now, policy)
    c = complements.name_anchors(catalog, c, basket, policy)
    if request.rng is not None:
        c = explore.explore(catalog, c, shopper, signals.context_rows, signals.exclude, f, n, policy, request.rng,
                            active.caps)
    return scoring.shown(c)


def _hand_blend(snapshot: Snapshot, policy: RankingPolicy, signals: Signals, f: Filter, fetch: int) -> Candidates:
    """The hand blend's candidates: item-item (or index neighbours) with the profile terms, and a revisiting
    store's purchases that came back marked buy again."""
    catalog, shopper = snapshot.catalog, signals.shopper
    revisit = policy.revisit_weight if policy.keeps_history(snapshot.revisit_share) else 0.0
    if _item_item_applies(snapshot, policy, signals):
        c = stages.item_item(catalog, signals.seeds, signals.seed_weights, signals.sources, signals.exclude, f, fetch,
                             policy, signals.seed_revisits, revisit)
    else:
        c = stages.nearest(snapshot.index, catalog, policy, signals.vector, signals.sources, signals.exclude, f, fetch)
    c = scoring.profile_terms(catalog, c, shopper, signals.now, policy)
    return stages.mark(c, signals.bought, reasons.BUY_AGAIN)  # a revisiting store's purchases that came back


def _usable(basket: Basket, signals: Signals) -> Basket:
    """The basket rows the signals may use: a cart's items are excluded from the answer exactly when the
    shopper's session may be used (not for a user who withheld consent); the anchor always is."""
    usable = stages.member(basket.rows, signals.exclude)
    return basket if usable.all() else Basket(basket.rows[usable], basket.cart)


def rerank(snapshot: Snapshot, policy: RankingPolicy, request: RequestArrays) -> Ranked:
    """Rerank's pipeline (module docstring) over the request's arrays: its candidates are
    request.signals.candidate_rows with request.search_scores."""
    catalog, signals, active, n = snapshot.catalog, request.signals, request.rules, request.n
    f = merchandising.restrict(request.filter, active)
    c = stages.from_request(signals.candidate_rows, request.search_scores, signals.searched)
    c = stages.keep_filtered(catalog, c, f)
    if learned.applies(snapshot, policy, signals):
        c = stages.blend_affinity(c, learned.affinity(snapshot, signals, c.rows), signals.sources, policy)
    else:
        c = stages.blend_affinity(c, _affinity(snapshot, policy, signals, c.rows), signals.sources, policy)
        c = scoring.profile_terms(catalog, c, signals.shopper, signals.now, policy, policy.rerank_profile_scale)
    unknown = stages.unknown_entries(c)  # kept at their search positions; the known ones are ranked around them
    ranked = merchandising.apply(c.with_(keep=c.keep & (c.rows >= 0)), active, n, signals.exclude, f, add_pins=False)
    ranked = scoring.explain(catalog, stages.top_n(ranked, n), signals.shopper, signals.now, policy)
    pinned = stages.member(ranked.rows, active.pins[0]) if active.pins is not None else None
    return scoring.shown(stages.place_unknown(ranked, c, unknown, n, pinned))


def _affinity(snapshot: Snapshot, policy: RankingPolicy, signals: Signals, rows: np.ndarray) -> np.ndarray | None:
    """The shopper's affinity to each candidate: item-item where it applies and tells the candidates apart,
    else cosine to the query vector (new items nobody touched have no item-item scores, but a content
    vector in the same space)."""
    if policy.rerank_item_item and _item_item_applies(snapshot, policy, signals):
        scores = stages.item_item_affinity(snapshot.catalog, signals.seeds, signals.seed_weights, rows, policy)
        if scores.any() or signals.vector is None:
            return scores
    if signals.vector is None:
        return None
    return stages.affinity(snapshot.catalog.vectors, rows, signals.vector)
