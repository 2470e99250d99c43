"""Profile score terms, explanations and the segment fallback (server/ranking/scoring.py) as pure functions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from protos import artifact
from server.ranking import reasons, scoring
from server.ranking.policy import RankingPolicy
from server.ranking.stages import Candidates
from server.runtime.snapshot import Snapshot, memory_snapshot

# Items 0-3: category a (brands x, x, y, y); 4-5: category b. Price positions 0.1 .. 0.9 within category.
_CATEGORY = ["a", "a", "a", "a", "b", "b"]
_BRAND = ["x", "x", "y", "y", "z", "z"]


@pytest.fixture
def snap() -> Snapshot:
    s = memory_snapshot(np.eye(6, 4, dtype=np.float32), [f"i{k}" for k in range(6)], _CATEGORY, _BRAND,
                        [1, 2, 3, 4, 5, 6], [True] * 6, reference_time=1_000_000_000.0)
    catalog = dataclasses.replace(
        s.catalog, price_position=np.array([0.1, 0.4, 0.6, 0.9, 0.2, 0.8], np.float32),
        first_seen=np.array([1_000_000_000 - 86_400 * d for d in (400, 400, 1, 400, 400, 400)], np.int64),
        segment_popularity=np.tile(np.array([0.0, 0.2, 0.0, 0.0, 1.0, 0.0], np.float32), (len(artifact.SEGMENTS), 1)),
        cell_popular_rows=np.array([[-1, -1], [-1, -1], [5, 4]], np.int32),
        segment_popular_rows=np.tile(np.array([4, 1], np.int32), (len(artifact.SEGMENTS), 1)))
    return dataclasses.replace(s, catalog=catalog)


def _shopper(**overrides: object) -> scoring.Shopper:
    # Loves category a (code 0) and brand y (code 1), buys at the cheap end of a category.
    values: dict[str, object] = dict(categories=np.array([0], np.int32), category_weights=np.array([1.0], np.float32),
                                     brands=np.array([1], np.int32), brand_weights=np.array([1.0], np.float32),
                                     price_position=0.1, segment=1, cell=0, history=10)
    values.update(overrides)
    return scoring.Shopper(**values)  # type: ignore[arg-type]


def _only(**weights: float) -> RankingPolicy:
    """A policy with just these profile weights (the defaults weigh the category)."""
    return RankingPolicy(**{"category_weight": 0.0, **weights})  # type: ignore[arg-type]


def _candidates(rows: list[int], scores: list[float]) -> Candidates:
    n = len(rows)
    return Candidates(np.array(rows), np.array(scores), np.zeros(n, reasons.MASK_DTYPE), np.ones(n, bool))


def _bits(mask: int) -> set[str]:
    return {reasons.name(code) for code in reasons.codes_of(mask)}


def test_weights_at_zero_leave_the_scores_alone(snap: Snapshot) -> None:
    c = _candidates([0, 4], [2.0, 1.0])
    assert scoring.profile_terms(snap.catalog, c, _shopper(), snap.reference_time, _only()) is c


def test_each_weighted_term_moves_the_items_it_favours(snap: Snapshot) -> None:
    c = _candidates([3, 4, 0, 2], [1.0, 1.0, 1.0, 1.0])
    now = snap.reference_time
    for policy, favoured in ((_only(category_weight=1.0), {3, 0, 2}),
                             (_only(brand_weight=1.0), {3, 2}),
                             (_only(segment_weight=1.0), {4}),
                             (_only(freshness_weight=1.0), {2})):
        scores = scoring.profile_terms(snap.catalog, c, _shopper(), now, policy).scores
        top = {r for r, s in zip(c.rows.tolist(), scores.tolist(), strict=True) if s == scores.max()}
        assert top == favoured, policy
    price = scoring.profile_terms(snap.catalog, c, _shopper(), now, _only(price_fit_weight=1.0)).scores
    assert price.tolist() == pytest.approx([1 + 0.2, 1 + 0.9, 1 + 1.0, 1 + 0.5])  # 1 - |0.1 - position|


def test_scores_are_scaled_to_a_best_of_one_before_the_terms(snap: Snapshot) -> None:
    c = _candidates([4, 0], [50.0, 10.0])
    scores = scoring.profile_terms(snap.catalog, c, _shopper(), snap.reference_time, _only(category_weight=0.5))
    assert scores.scores.tolist() == pytest.approx([1.0, 0.2 + 0.5])


def test_explanations_name_what_holds_whatever_the_weights(snap: Snapshot) -> None:
    c = _candidates([2, 4], [1.0, 0.5])
    explained = scoring.explain(snap.catalog, c, _shopper(), snap.reference_time, RankingPolicy())
    assert _bits(int(explained.reasons[0])) == {"category_affinity", "brand_affinity", "fresh"}
    assert _bits(int(explained.reasons[1])) == {"segment_popular", "price_fit"}  # 0.2 against 0.1: within 0.1
    # price fit within 1 - price_fit_reason of the shopper's position (0.1): item 0 at 0.1, item 1 at 0.4 not
    cheap = scoring.explain(snap.catalog, _candidates([0, 1], [1, 1]), _shopper(), snap.reference_time,
                            RankingPolicy())
    assert "price_fit" in _bits(int(cheap.reasons[0])) and "price_fit" not in _bits(int(cheap.reasons[1]))
    off = scoring.explain(snap.catalog, c, _shopper(), snap.reference_time, RankingPolicy(explain_profile=False))
    assert off.reasons.tolist() == [0, 0]
    assert scoring.explain(snap.catalog, c, None, snap.reference_time, RankingPolicy()) is c


def test_fallback_prefers_the_cell_then_the_segment_for_short_histories(snap: Snapshot) -> None:
    policy = RankingPolicy(fallback_history=5)
    rows, reason = scoring.fallback_rows(snap.catalog, _shopper(cell=2, history=1), policy)
    assert rows.tolist() == [5, 4] and reason == reasons.SEGMENT_POPULAR
    rows, reason = scoring.fallback_rows(snap.catalog, _shopper(cell=1, history=1), policy)
    assert rows.tolist() == [4, 1] and reason == reasons.SEGMENT_POPULAR  # cell 1 has no list: the segment's
    rows, reason = scoring.fallback_rows(snap.catalog, _shopper(cell=2, history=5), policy)
    assert reason == reasons.POPULAR  # history long enough: the global list
    rows, reason = scoring.fallback_rows(snap.catalog, _shopper(cell=2, history=1), RankingPolicy())
    assert reason == reasons.POPULAR  # off by default


def test_shown_scores_keep_positive_ones_and_spread_the_rest_below_ties_kept() -> None:
    def ranked(scores: list[float]) -> Candidates:
        n = len(scores)
        return Candidates(np.arange(n), np.array(scores), np.zeros(n, dtype=reasons.MASK_DTYPE), np.ones(n, bool))

    shown = scoring.shown

    assert shown(ranked([3.0, 2.0, 2.0, 0.5])).scores.tolist() == [3.0, 2.0, 2.0, 0.5]  # nothing to change
    mixed = shown(ranked([2.0, 1.0, -0.5, -0.5, -1.5])).scores.tolist()
    assert mixed[:2] == [2.0, 1.0] and mixed[2] == mixed[3] > mixed[4] > 0 and mixed[2] < 1.0
    popular = shown(ranked([0.0, -0.1, -0.2])).scores.tolist()
    assert popular == sorted(popular, reverse=True) and min(popular) > 0 and max(popular) < 1.0
    assert shown(ranked([1.0, 5.0])).scores.tolist() == [1.0, 1.0]  # never above the item before
