"""The two ranking pipelines, each a short sequence of stages over `Candidates` (server/stages.py).

Recommend: index neighbours of the query vector that pass eligibility (excluded, out of stock,
filters) -> topped up from the popularity list -> top n.
Rerank: the request's candidates -> eligibility (filters) -> score terms (min-max search score
blended with the shopper's affinity) -> top n; unknown candidates keep their search order.

A later step (rules, diversity, exploration, an experiment's policy) is one more line here.
"""

from __future__ import annotations

import numpy as np

from server import stages
from server.policy import RankingPolicy
from server.queries import Filter
from server.signals import Signals
from server.snapshot import Snapshot
from server.stages import Candidates

__all__ = ["Ranked", "recommend", "rerank"]

# What a pipeline returns: the top candidates, best first, every one kept.
Ranked = Candidates


def recommend(snapshot: Snapshot, policy: RankingPolicy, signals: Signals, n: int, f: Filter) -> Ranked:
    catalog = snapshot.catalog
    c = stages.nearest(snapshot.index, catalog, policy, signals.vector, signals.sources, signals.exclude, f, n)
    c = stages.top_up_popular(catalog, c, signals.exclude, f, n)
    return stages.top_n(c, n)


def rerank(snapshot: Snapshot, policy: RankingPolicy, signals: Signals, search_scores: np.ndarray, n: int,
           f: Filter) -> Ranked:
    catalog = snapshot.catalog
    c = stages.from_request(signals.candidate_rows, search_scores)
    c = stages.keep_filtered(catalog, c, f)
    c = stages.blend_affinity(catalog, c, signals.vector, signals.sources, policy)
    return stages.top_n(c, n)
