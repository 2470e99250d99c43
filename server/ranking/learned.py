"""The learned ranker's stages (docs/ranker.md): the candidates of protos/ranker's generators for a known shopper,
ordered by the version's LightGBM model over their feature rows — one predict call per request.

Recommend: `candidates` replaces the hand blend's retrieval, profile terms and restocks; complements, the top-up,
diversity, rules, exploration and the response's scores follow as for the hand blend (server/ranking/
pipelines.py). Rerank: `affinity` is the model's score of the request's known candidates, blended with the search
score as the hand blend's affinity is.

Scores are exp(raw - best): positive, best 1, in the model's order, so the later stages (boosts, the top-up
scored below every candidate) work on them as on the hand blend's.

Reasons come from the generator that found the item: the item-item model and successors give the shopper's
sources (their tastes, this session), their own purchases "time to restock?" (a purchase is a candidate only once
it may be bought again, as for the hand blend: server/ranking/signals.py), their own other items "matches
this shopper's tastes", the popular list alone "popular right now".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from protos.ranker.candidates import (
    SOURCE_ITEM_ITEM,
    SOURCE_OWN,
    SOURCE_POPULAR,
    SOURCE_SUCCESSORS,
    features_of,
    pool,
)
from server.api.queries import Filter
from server.ranking import reasons, stages
from server.ranking.policy import RankingPolicy
from server.ranking.stages import Candidates

if TYPE_CHECKING:
    from server.ranking.signals import Signals
    from server.runtime.snapshot import Snapshot

__all__ = ["serves", "applies", "candidates", "affinity"]

_MASK = reasons.MASK_DTYPE


def serves(snapshot: Snapshot, policy: RankingPolicy) -> bool:
    """The version has a learned ranker the policy serves (ranking.ranker: learned, or auto where its build's
    validation says it won)."""
    model = snapshot.ranker
    return model is not None and (policy.ranker == "learned" or policy.ranker == "auto" and model.serves)


def applies(snapshot: Snapshot, policy: RankingPolicy, signals: Signals) -> bool:
    """`serves`, and a consenting shopper with a history asks, not on a product page."""
    return (serves(snapshot, policy) and signals.history is not None and len(signals.history.rows) > 0
            and not signals.sources & reasons.bit(reasons.ANCHOR_SIMILAR))


def _positive(raw: np.ndarray) -> np.ndarray:
    return np.exp(raw - raw.max()).astype(np.float32) if len(raw) else raw.astype(np.float32)


def candidates(snapshot: Snapshot, signals: Signals, f: Filter) -> Candidates:
    """Recommend's candidates: the pool's eligible rows (not excluded: Signals.learned_exclude; in stock, passing
    the filters), best first by the model."""
    model, history = snapshot.ranker, signals.history
    assert model is not None and history is not None  # noqa: S101 — callers check `applies`
    found = pool(model.items, history, int(signals.now * 1000), signals.session)
    keep = stages.eligible(snapshot.catalog, found.rows, signals.learned_exclude, f)
    rows, features, sources = found.rows[keep], found.features[keep], found.sources[keep]
    scores = _positive(model.score(features))
    order = np.argsort(-scores, kind="stable")
    personal = signals.sources or reasons.bit(reasons.USER_AFFINITY)
    own = (sources & SOURCE_OWN) > 0
    restock = own & stages.member(rows, signals.bought)
    mask = np.where((sources & (SOURCE_ITEM_ITEM | SOURCE_SUCCESSORS)) > 0, personal, 0)
    mask |= np.where(restock, reasons.bit(reasons.BUY_AGAIN), np.where(own, reasons.bit(reasons.USER_AFFINITY), 0))
    mask = np.where(mask == 0, np.where((sources & SOURCE_POPULAR) > 0, reasons.bit(reasons.POPULAR), personal),
                    mask)
    return Candidates(rows[order], scores[order], mask[order].astype(_MASK), np.ones(len(rows), dtype=bool),
                      ordered=True)


def affinity(snapshot: Snapshot, signals: Signals, rows: np.ndarray) -> np.ndarray:
    """Rerank's affinity: the model's score of each known candidate row, min-max scaled to [0, 1]; unknown
    candidates (-1) get the known ones' mean."""
    model, history = snapshot.ranker, signals.history
    assert model is not None and history is not None  # noqa: S101 — callers check `applies`
    out = np.zeros(len(rows))
    known = rows >= 0
    if known.any():
        out[known] = stages.minmax(model.score(features_of(model.items, history, rows[known],
                                                           int(signals.now * 1000), signals.session)))
        out[~known] = out[known].mean()
    return out
