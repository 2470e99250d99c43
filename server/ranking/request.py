"""RequestArrays: everything one request contributes to ranking, assembled once where the request enters.

The ranking boundary is `ranking.recommend(snapshot, policy, RequestArrays) -> Candidates` and the same for
`ranking.rerank`: the snapshot is the artifact's (catalog arrays, index), the policy the experiment arm's,
and this object the request's — the shopper's and the page's rows, weights and masks with the request's
moment (server/ranking/signals.py), how many items and which filters, the cart or product page's basket, the
channel and what trends on it, the merchandising rules in force (server/merchandising/compiler.py) and the exploration
draws. Nothing in ranking reads the request, the live store or the rules file itself, so the pipelines
stay pure functions of arrays (the line a compiled core ports).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from protos.live import Overlay
from server.api.queries import Filter, Query
from server.merchandising.compiler import NO_RULES, ActiveRules, RuleSet, active_rules
from server.ranking import explore
from server.ranking.complements import NO_BASKET, Basket, basket_of
from server.ranking.policy import RankingPolicy
from server.ranking.signals import Signals, gather_signals

if TYPE_CHECKING:
    from server.runtime.snapshot import Snapshot

__all__ = ["RequestArrays", "recommend_arrays", "rerank_arrays"]

# What trends on a channel now, in a snapshot's rows (server/live/trending.py TrendingCache.rows).
Trending = Callable[["Snapshot", int], np.ndarray]


@dataclass(frozen=True, slots=True)
class RequestArrays:
    """One request's part of ranking. `signals`: rows to exclude, item-item seeds and weights, the query vector,
    purchases and their times, the request's "now", the shopper's profile facts; `n` and `filter` (with the
    rules' exclude / include_only mask once ranking restricts it); `basket`: where complements come from;
    `channel` and `trending` (a visitor's top-up); `rules`: the merchandising rules in force; `rng`: the
    exploration draws, None = no exploration; `search_scores`: Rerank's candidate scores (signals.candidate_rows
    are their rows)."""

    signals: Signals
    n: int
    filter: Filter
    basket: Basket = NO_BASKET
    channel: int = 0
    trending: np.ndarray | None = None
    rules: ActiveRules = NO_RULES
    rng: np.random.Generator | None = None
    search_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))


def recommend_arrays(snapshot: Snapshot, policy: RankingPolicy, query: Query,
                     live: tuple[Overlay, Overlay] | None = None, ruleset: RuleSet | None = None,
                     trending: Trending | None = None) -> RequestArrays:
    """A Recommend's arrays: its signals (with `live`, the user's and session's live interactions), the rules of
    `ruleset` in force at the request's moment, its basket, its channel's trending rows for a visitor without a
    profile, and its exploration generator (seeded from the request_id)."""
    signals = gather_signals(snapshot, policy, query, live)
    trends = trending(snapshot, query.channel) if trending is not None and signals.shopper is None else None
    return RequestArrays(signals, query.n, query.filters, basket_of(snapshot.catalog, query), query.channel, trends,
                         active_rules(ruleset, query, signals.shopper, signals.now),
                         explore.generator(policy, query.request_id, not query.no_exploration))


def rerank_arrays(snapshot: Snapshot, policy: RankingPolicy, query: Query,
                  live: tuple[Overlay, Overlay] | None = None, ruleset: RuleSet | None = None) -> RequestArrays:
    """A Rerank's arrays: its signals, candidate scores and the rules in force (Rerank never explores)."""
    signals = gather_signals(snapshot, policy, query, live)
    return RequestArrays(signals, query.n, query.filters, rules=active_rules(ruleset, query, signals.shopper,
                                                                             signals.now),
                         search_scores=query.candidate_scores)
