"""RankingPolicy: every weight and threshold of online ranking, in one frozen object.

It comes from the `[ranking]` table of the server config and is passed to the ranking
functions; nothing in ranking reads a module-level knob. The offline half (event-type
weights, popularity half-life, recent items) is the builder's and travels in the manifest
(`Snapshot.event_weights`), so a request's session is weighed like the training data.
An experiment arm is just another policy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["CLOCKS", "RANKERS", "RankingPolicy"]

# Where a request's "now" comes from (`RankingPolicy.clock`).
CLOCKS = ("artifact", "wall")
# Which ranker orders a known shopper's Recommend and Rerank (`RankingPolicy.ranker`).
RANKERS = ("auto", "learned", "hand")
# Float knobs that are weights or multiples, not shares: >= 0 rather than in [0, 1].
_UNBOUNDED = ("buy_again_weight", "buy_again_max_cycles", "revisit_weight", "category_weight", "brand_weight",
              "price_fit_weight", "segment_weight", "freshness_weight", "freshness_half_life_days",
              "rerank_profile_scale", "explore_evidence",
              "successor_weight")


@dataclass(frozen=True)
class RankingPolicy:
    # A session interaction one step older counts this much less (geometric decay, most recent = 1).
    # Anonymous sessions, `tailor evaluate --split session` nDCG@10 (docs/evaluation.md): demo 0.4565, MovieLens
    # 0.1056; 0.95: 0.4582 / 0.0923; 1.0: 0.4583 / 0.0677 (long sessions need the decay).
    session_recency: float = 0.85
    # Share of the session in a known shopper's query vector when the request has a session.
    session_share: float = 0.6
    # Share of the anchor item in the query vector on a product page.
    anchor_share: float = 0.75
    # Rerank: weight of the search engine's own (min-max scaled) score; the rest is the
    # shopper's affinity (cosine, clipped to [0, 1]).
    search_weight: float = 0.5
    # Rerank: affinity (cosine) from which the personal source is named as a reason.
    affinity_reason: float = 0.3
    # Recommend: index neighbours fetched per requested item before filtering (k = overfetch * n
    # + excluded + 32), grown 4x while too few pass, up to max_search_k.
    search_overfetch: int = 4
    max_search_k: int = 8192
    # Recommend for a shopper with a history (or a session) from the artifact's item-item model
    # when it has one (MovieLens 100K, random split: nDCG@10 0.48 against ALS's 0.37); off: the
    # ALS index, as for product pages and catalogs too large for the item-item model.
    item_item: bool = True
    # Rerank's affinity from the item-item model too (else: cosine to the query vector).
    rerank_item_item: bool = True
    # Item-item seeds: a history item counts history_floor + (1 - history_floor) * history_recency^age,
    # age = how many items the shopper touched after it (1 and 1: all equal). MovieLens 100K nDCG@10
    # (docs/evaluation.md): all equal 0.4855 random / 0.2258 time split; 0.3 and 0.93: 0.4729 / 0.2625;
    # with successors (below) 0.5 and 0.97.
    history_recency: float = 0.97
    history_floor: float = 0.5
    # Successors (index_builder/models/sequences.py, stages.successors): the item-item scores gain successor_weight
    # x their best x the successors of the shopper's newest successor_items items (scaled to a best of 1),
    # each item one step older weighing successor_recency times less. 0 = off. MovieLens 100K nDCG@10
    # (docs/evaluation.md "Successors").
    successor_weight: float = 0.25
    successor_items: int = 20
    successor_recency: float = 0.9
    # Recommend leaves out what the shopper already interacted with (their profile's history), besides
    # what they bought and what is in the session, where the store's learned revisit share (how often
    # its shoppers come back to items they touched; manifest) is below this: MovieLens 0 (nobody rates a
    # film twice: excluding lifts nDCG@10 0.06 -> 0.47), the demo shop ~0.5 (keeping the history lifts
    # its last-basket nDCG@10 0.29 -> 0.35). 1 = always leave it out, 0 = never.
    exclude_seen_below: float = 0.2
    # Where the history is kept (a revisiting store), each history item also scores this much times how
    # much the shopper kept coming back to it (their events on it over their most-touched item's), and
    # what they bought stays eligible unless it is rarely rebought (< buy_again_min_rate). Demo shop,
    # last-basket nDCG@10: 0 -> 0.351, 0.3 -> 0.410, 1 -> 0.414 (own most-bought 0.407).
    revisit_weight: float = 1.0
    # Buy again: a purchased item comes back into Recommend (reason buy_again) when its repurchase
    # cycle (the artifact's per-item median days between purchases) is due: at least due_share of
    # a cycle and at most max_cycles cycles since the shopper's last purchase of it, for items that
    # at least min_rate of their buyers bought again. Its score is weight x repurchase rate x
    # timeliness (1 exactly one cycle after the last purchase, less before and after) x the best
    # personal candidate's score: a weight of 1 puts a certain, exactly-due rebuy level with it.
    # Weight 0 = off. Not on product pages (anchor) or for items in the request's session.
    # Demo store, last-basket split, nDCG@10: weight 2, due 0.8, max 3, min rate 0.2 -> 0.170;
    # weight 10, due 0.5, max 10, min rate 0.1 -> 0.238 (a due rebuy is the likeliest next item).
    buy_again_weight: float = 10.0
    buy_again_min_rate: float = 0.1
    buy_again_due_share: float = 0.5
    buy_again_max_cycles: float = 10.0
    # "now" for due cycles: "artifact" = the artifact's reference time (the last event the builder
    # saw, manifest params.reference_time_ms): deterministic, right for evaluation on old logs, late
    # by at most the time since the build; "wall" = this machine's clock (for rarely rebuilt stores).
    clock: str = "artifact"
    # The ranker of a known shopper's answers (docs/ranker.md): "auto" = the version's learned ranker where its
    # build's validation says it beat the simple orders (manifest ranker.serves), else the hand blend below;
    # "learned" = the learned ranker wherever the version has one; "hand" = the hand blend. An experiment
    # variant can set it (ranking.ranker = "hand" against "learned").
    ranker: str = "auto"
    # Live interactions (TrackEvents) of the user and of the request's context.session_id that join the
    # request's session, the newest of each.
    live_items: int = 20
    # Profile terms (server/ranking/scoring.py): added to the retrieval score scaled to a best of 1, each term in
    # [0, 1] times its weight; 0 = off. Tuned with `tailor evaluate` (docs/evaluation.md).
    category_weight: float = 0.05
    brand_weight: float = 0.0
    price_fit_weight: float = 0.0
    segment_weight: float = 0.0
    freshness_weight: float = 0.0
    freshness_half_life_days: float = 30.0
    # Rerank weighs the profile terms this many times more: a search engine's candidates arrive in a
    # noisier order than the item-item model's, and the shopper's tastes sort them better.
    rerank_profile_scale: float = 4.0
    # Each returned item names the profile reasons that hold for it (brand_affinity, category_affinity,
    # price_fit, segment_popular, fresh), weighted or not: where the term reaches profile_reason (price
    # fit: price_fit_reason, i.e. within 1 - that of the shopper's price percentile). false: none.
    explain_profile: bool = True
    profile_reason: float = 0.5
    price_fit_reason: float = 0.9
    # With profile terms on, Recommend scores this many times n retrieved candidates before the top n.
    profile_overfetch: int = 4
    # A known shopper with fewer than this many items in their history is topped up from their demographic
    # cell's or segment's popular items (reason segment_popular) rather than the global popular list; 0 = never.
    fallback_history: int = 0
    # Complements (server/ranking/complements.py): on a cart page the cart's "bought together" partners (plus
    # cart_viewed_weight times its "viewed together" ones) take the first round(cart_complement_share x n)
    # places; on a product page the anchor's bought-together partners take round(complement_share x n)
    # (at least 1 when > 0), the similar items the rest. 0 = off.
    cart_complement_share: float = 1.0
    complement_share: float = 0.3
    cart_viewed_weight: float = 0.3
    # Exploration (server/ranking/explore.py): this share of every Recommend's slots (rounded stochastically: the
    # expected share is exact) shows a strong item from a category outside the shopper's usual ones, the
    # categories drawn by Thompson sampling from the builder's per-category Beta priors, tempered to at most
    # explore_evidence pseudo-trials (0: every category equally likely). 0 = off; a request's no_exploration
    # too. Rerank never explores. Deterministic per request_id. A slot's item is drawn uniformly among its
    # category's explore_items most popular eligible items (1: always the bestseller).
    explore_share: float = 0.1
    explore_evidence: float = 100.0
    explore_items: int = 5
    # Diversity (server/ranking/diversity.py), Recommend only: at most ceil(max_brand_share x n) items of one brand
    # in the top n (items without a brand and the shopper's due restocks never capped; a brand cap rule
    # replaces it for its brands), of one category ceil(max_category_share x n)
    # (1 = off), and each item loses diversity_penalty x the best score per better item of its category.
    max_brand_share: float = 0.4
    max_category_share: float = 1.0
    diversity_penalty: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "float" and f.name in _UNBOUNDED:
                if not value >= 0.0:
                    raise ValueError(f"ranking.{f.name}: must be >= 0, got {value}")
            elif f.type == "float" and not 0.0 <= value <= 1.0:
                raise ValueError(f"ranking.{f.name}: must be in [0, 1], got {value}")
        if self.clock not in CLOCKS:
            raise ValueError(f"ranking.clock: must be one of {', '.join(CLOCKS)}, got {self.clock!r}")
        if self.ranker not in RANKERS:
            raise ValueError(f"ranking.ranker: must be one of {', '.join(RANKERS)}, got {self.ranker!r}")
        if self.search_overfetch < 1:
            raise ValueError(f"ranking.search_overfetch: must be >= 1, got {self.search_overfetch}")
        if self.max_search_k < 1:
            raise ValueError(f"ranking.max_search_k: must be >= 1, got {self.max_search_k}")
        if self.fallback_history < 0:
            raise ValueError(f"ranking.fallback_history: must be >= 0, got {self.fallback_history}")
        if self.successor_items < 1:
            raise ValueError(f"ranking.successor_items: must be >= 1, got {self.successor_items}")
        if self.live_items < 0:
            raise ValueError(f"ranking.live_items: must be >= 0, got {self.live_items}")
        if self.profile_overfetch < 1:
            raise ValueError(f"ranking.profile_overfetch: must be >= 1, got {self.profile_overfetch}")
        if self.explore_items < 1:
            raise ValueError(f"ranking.explore_items: must be >= 1, got {self.explore_items}")
        for name in ("max_brand_share", "max_category_share"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ranking.{name}: must be > 0 (1 = no cap), got {getattr(self, name)}")
        if self.freshness_half_life_days <= 0:
            raise ValueError(f"ranking.freshness_half_life_days: must be > 0, got {self.freshness_half_life_days}")

    @property
    def uses_profile(self) -> bool:
        """Whether any profile term (server/ranking/scoring.py) has a positive weight."""
        return max(self.category_weight, self.brand_weight, self.price_fit_weight, self.segment_weight,
                   self.freshness_weight) > 0

    def keeps_history(self, revisit_share: float) -> bool:
        """Whether a store with this learned revisit share keeps the shopper's history eligible
        (and scores revisits) rather than leaving it out of Recommend."""
        return revisit_share >= self.exclude_seen_below
