"""Profile score terms: what the builder knows of the shopper, added to each candidate's score.

A candidate's final score is its retrieval score (item-item, index or search blend) scaled to a best
of 1, plus one weighted term per profile signal, each in [0, 1]:

  category_affinity  the shopper's share of interest in the item's category over their top category's
  brand_affinity     the same for the item's brand
  price_fit          1 - |shopper's price position - item's price position| (both percentiles within
                     the category; 0 when the shopper's is unknown)
  segment_popular    the item's popularity among the shopper's RFM segment (artifact, 0..1)
  freshness          2^(-days since the item's first event / freshness_half_life_days)

Weights are `RankingPolicy.*_weight`; each was tuned with `tailor evaluate` (docs/evaluation.md) and a
signal that does not help stays at 0. Separately, `explain` names on each returned item the profile
reasons that hold for it (brand_affinity "A brand you buy often: Acme", ...), weighted or not: an
explanation, not a score. Every term is a handful of array operations over the candidate rows: the
shopper's top codes are at most BuildConfig.profile_top, compared by broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from protos import artifact
from server.ranking import reasons, stages
from server.ranking.policy import RankingPolicy
from server.ranking.stages import Candidates

if TYPE_CHECKING:
    from server.runtime.snapshot import Catalog

__all__ = ["Shopper", "shopper_of", "profile_terms", "explain", "fallback_rows", "shown"]

_DAY_S = 86_400.0
_MASK = reasons.MASK_DTYPE


@dataclass(frozen=True, slots=True)
class Shopper:
    """The profile facts ranking uses; top-code weights are scaled so the strongest is 1."""

    categories: np.ndarray
    category_weights: np.ndarray
    brands: np.ndarray
    brand_weights: np.ndarray
    price_position: float  # -1 = unknown
    segment: int
    cell: int  # demographic cell (item_signals.cell_code), 0 = none given
    history: int  # distinct items in the profile's history
    # What merchandising rules may condition on (server/merchandising/compiler.py): codes into
    # artifact.LIFECYCLES, TAGS bits,
    # manifest countries / age bands (-1 = not given).
    lifecycle: int = -1
    tags: int = 0
    country: int = -1
    age_band: int = -1


def _scaled(weights: np.ndarray) -> np.ndarray:
    """Shares over the strongest one (records keep them strongest first)."""
    return weights / weights[0] if len(weights) and weights[0] > 0 else weights


def shopper_of(profile: artifact.Profile, n_age_bands: int) -> Shopper:
    country, age_band, price_position, segment, lifecycle, tags = profile.facts[0][
        ["country", "age_band", "price_position", "segment", "lifecycle", "tags"]].item()
    cell = (country + 1) * (n_age_bands + 1) + age_band + 1
    return Shopper(profile.categories, _scaled(profile.category_weights), profile.brands,
                   _scaled(profile.brand_weights), price_position, segment, cell, len(profile.recent), lifecycle, tags,
                   country, age_band)


def _lookup(codes: np.ndarray, top: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per candidate code: its weight among the shopper's top codes, 0 when not among them."""
    if len(top) == 0:
        return np.zeros(len(codes))
    return ((codes[:, None] == top[None, :]) * weights[None, :]).sum(axis=1)


def _terms(catalog: Catalog, rows: np.ndarray, shopper: Shopper, now: float,
           policy: RankingPolicy) -> list[tuple[int, float, np.ndarray]]:
    """(reason, weight, term values) of each profile term with a positive weight."""
    wanted = [(reason, weight) for reason, weight in (
        (reasons.CATEGORY_AFFINITY, policy.category_weight), (reasons.BRAND_AFFINITY, policy.brand_weight),
        (reasons.PRICE_FIT, policy.price_fit_weight), (reasons.SEGMENT_POPULAR, policy.segment_weight),
        (reasons.FRESH, policy.freshness_weight)) if weight > 0]
    terms: list[tuple[int, float, np.ndarray]] = []
    for reason, weight in wanted:
        if reason == reasons.CATEGORY_AFFINITY:
            values = _lookup(catalog.category[rows], shopper.categories, shopper.category_weights)
        elif reason == reasons.BRAND_AFFINITY:
            values = _lookup(catalog.brand[rows], shopper.brands, shopper.brand_weights)
        elif reason == reasons.PRICE_FIT:
            if shopper.price_position < 0:
                continue
            values = 1.0 - np.abs(catalog.price_position[rows] - shopper.price_position)
        elif reason == reasons.SEGMENT_POPULAR:
            values = catalog.segment_popularity[shopper.segment, rows].astype(np.float64)
        else:
            age_days = np.maximum(now - catalog.first_seen[rows], 0) / _DAY_S
            values = np.exp2(-age_days / policy.freshness_half_life_days)
        terms.append((reason, weight, values))
    return terms


def profile_terms(catalog: Catalog, c: Candidates, shopper: Shopper | None, now: float, policy: RankingPolicy,
                  scale: float = 1.0) -> Candidates:
    """Scale the candidates' scores to a best of 1 and add the weighted profile terms (module docstring),
    each weight times `scale` (Rerank: policy.rerank_profile_scale)."""
    if shopper is None or not policy.uses_profile or not len(c.rows):
        return c
    known = c.rows >= 0
    rows = np.where(known, c.rows, 0)
    top = float(np.abs(c.scores[c.keep]).max(initial=0.0))
    scores = c.scores / top if top > 0 else c.scores.astype(np.float64)
    for _, weight, values in _terms(catalog, rows, shopper, now, policy):
        scores = scores + scale * weight * np.where(known, values, 0.0)
    return c.with_(scores=scores)


def _bit(hit: np.ndarray, reason: int) -> np.ndarray:
    return hit.astype(_MASK) << _MASK(reason)


def explain(catalog: Catalog, c: Candidates, shopper: Shopper | None, now: float, policy: RankingPolicy) -> Candidates:
    """Name the profile reasons that hold for each (final) candidate, whether or not their terms weigh in
    the score: its category or brand among the shopper's strongest (scaled share >= policy.profile_reason),
    its price percentile within 1 - policy.price_fit_reason of theirs, its popularity in their segment at
    least policy.profile_reason, or its freshness term at least that (first seen within
    -log2(profile_reason) half-lives). The same thresholds as the terms, as comparisons: a dozen array
    operations over the n returned rows."""
    if shopper is None or not policy.explain_profile or not len(c.rows):
        return c
    known = c.rows >= 0
    rows = c.rows if known.all() else np.where(known, c.rows, 0)
    floor = policy.profile_reason
    strong_categories = shopper.categories[:np.count_nonzero(shopper.category_weights >= floor)]
    strong_brands = shopper.brands[:np.count_nonzero(shopper.brand_weights >= floor)]
    marks = _bit(stages.member(catalog.category[rows], strong_categories), reasons.CATEGORY_AFFINITY)
    marks |= _bit(stages.member(catalog.brand[rows], strong_brands), reasons.BRAND_AFFINITY)
    if shopper.price_position >= 0:
        close = np.abs(catalog.price_position[rows] - shopper.price_position) <= 1.0 - policy.price_fit_reason
        marks |= _bit(close, reasons.PRICE_FIT)
    marks |= _bit(catalog.segment_popularity[shopper.segment, rows] >= floor, reasons.SEGMENT_POPULAR)
    if floor > 0:
        newest = now - policy.freshness_half_life_days * _DAY_S * -np.log2(min(floor, 1.0))
        marks |= _bit(catalog.first_seen[rows] >= newest, reasons.FRESH)
    return c.with_(reasons=c.reasons | np.where(known, marks, 0).astype(_MASK))


def fallback_rows(catalog: Catalog, shopper: Shopper | None, policy: RankingPolicy,
                  channel: int = 0, live: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Where the top-up comes from, and the reason to give: for a known shopper with a history shorter than
    policy.fallback_history, their demographic cell's popular list when it has one, else their segment's
    most popular items; for a visitor without a profile on a channel (Context.channel) with a trending list,
    that list; else the global popular list itself (`catalog.popular_rows`). For a visitor without a
    profile, `live` (what is trending in the live store now, server/live/trending.py) comes first."""
    if shopper is None and live is not None and len(live):
        built, _ = fallback_rows(catalog, None, policy, channel)
        return np.concatenate([live, built[~stages.member(built, live)]]), reasons.POPULAR
    listed = _listed(catalog.channel_popular_rows, channel) if shopper is None and channel > 0 else None
    if listed is not None:
        return listed, reasons.POPULAR
    if shopper is not None and shopper.history < policy.fallback_history:
        listed = _listed(catalog.cell_popular_rows, shopper.cell) if shopper.cell > 0 else None
        if listed is None:
            listed = _listed(catalog.segment_popular_rows, shopper.segment)
        if listed is not None:
            return listed, reasons.SEGMENT_POPULAR
    return catalog.popular_rows, reasons.POPULAR


def _listed(table: np.ndarray, group: int) -> np.ndarray | None:
    """The rows of one group's list in a [groups, k] table padded with -1; None when it has none."""
    if not 0 <= group < table.shape[0] or not table.shape[1] or table[group, 0] < 0:
        return None
    rows = table[group]
    return rows[rows >= 0].astype(np.int64)


def shown(c: Candidates) -> Candidates:
    """The answer's scores as the response gives them (ScoredItem.score): never negative and never above the
    score of the item before. The ranking's own scores where they are positive (the retrieval score with its
    profile terms, a restock's, a search blend); the places ranked below every scored candidate — popular
    top-ups, items a cap demoted, and what stands with them — carry scores below the last positive one
    (1 when there is none), spread evenly by their distinct values in order, so ties stay ties."""
    scores = np.minimum.accumulate(c.scores.astype(np.float64)) if len(c.scores) else c.scores
    if not len(scores) or scores[-1] >= 0:
        return c if np.array_equal(scores, c.scores) else c.with_(scores=scores, ordered=c.ordered)
    k = int(np.count_nonzero(scores > 0))  # the positive ones come first
    top = float(scores[k - 1]) if k else 1.0
    tail = scores[k:]
    step = np.concatenate([[0], np.cumsum(tail[1:] < tail[:-1])])
    groups = int(step[-1]) + 1
    scores = scores.copy()
    scores[k:] = top * (groups - step) / (groups + 1)
    return c.with_(scores=scores, ordered=c.ordered)
