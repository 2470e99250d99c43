"""RankingPolicy: every weight and threshold of online ranking, in one frozen object.

It comes from the `[ranking]` table of the server config and is passed to the ranking
functions; nothing in ranking reads a module-level knob. The offline half (event-type
weights, popularity half-life, recent items) is the builder's and travels in the manifest
(`Snapshot.event_weights`), so a request's session is weighed like the training data.
An experiment arm is just another policy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["RankingPolicy"]


@dataclass(frozen=True)
class RankingPolicy:
    # A session interaction one step older counts this much less (geometric decay, most recent = 1).
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
    # (docs/evaluation.md): all equal 0.4855 random / 0.2258 time split; 0.3 and 0.93: 0.4729 / 0.2625.
    history_recency: float = 0.93
    history_floor: float = 0.3
    # Never recommend what the shopper already interacted with (their profile's history), as well
    # as what they bought and what is in the request's session.
    exclude_seen: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "float" and not 0.0 <= value <= 1.0:
                raise ValueError(f"ranking.{f.name}: must be in [0, 1], got {value}")
        if self.search_overfetch < 1:
            raise ValueError(f"ranking.search_overfetch: must be >= 1, got {self.search_overfetch}")
        if self.max_search_k < 1:
            raise ValueError(f"ranking.max_search_k: must be >= 1, got {self.max_search_k}")
