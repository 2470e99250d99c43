"""Candidate generators over plain arrays (protos/ranker/generators.py), against hand-computed values."""

from __future__ import annotations

import numpy as np

from protos.ranker import features, generators

# Four items, two neighbours each (binary fractions, so sums are exact).
NEIGHBORS = np.array([[1, 2], [0, 3], [3, 0], [2, 1]], dtype=np.int32)
NEIGHBOR_WEIGHTS = np.array([[0.5, 0.25], [1.0, 0.5], [0.75, 0.125], [0.2, 0.4]], dtype=np.float32)
# After item 0 comes 3 (1.0); after item 2 come 1 (0.5) and 0 (0.25); -1 pads.
SUCCESSORS = np.array([[3, -1], [-1, -1], [1, 0], [-1, -1]], dtype=np.int32)
SUCCESSOR_WEIGHTS = np.array([[1.0, 0.0], [0.0, 0.0], [0.5, 0.25], [0.0, 0.0]], dtype=np.float32)
SEEDS = np.array([0, 2])  # oldest first: item 2 is the newest
DAY = 86_400.0


def test_item_item_scores_sum_the_seeds_weighted_neighbours() -> None:
    scores = generators.item_item_scores(NEIGHBORS, NEIGHBOR_WEIGHTS, SEEDS, np.array([2.0, 1.0], np.float32), 4)
    # seed 0 (x2): item 1 += 1.0, item 2 += 0.5; seed 2 (x1): item 3 += 0.75, item 0 += 0.125
    assert scores.tolist() == [0.125, 1.0, 0.5, 0.75]
    flat = generators.flat_item_item_scores(NEIGHBORS, NEIGHBOR_WEIGHTS, SEEDS, 4)
    assert flat.tolist() == [0.125, 0.5, 0.25, 0.75]


def test_successors_of_the_newest_seeds_weigh_by_recency() -> None:
    both = generators.successor_scores(SUCCESSORS, SUCCESSOR_WEIGHTS, SEEDS, 4, items=2, recency=0.5)
    # item 0 is one step older (x0.5): item 3 += 0.5; item 2: item 1 += 0.5, item 0 += 0.25; padding adds 0
    assert both.tolist() == [0.25, 0.5, 0.0, 0.5]
    newest = generators.successor_scores(SUCCESSORS, SUCCESSOR_WEIGHTS, SEEDS, 4, items=1, recency=0.5)
    assert newest.tolist() == [0.25, 0.5, 0.0, 0.0]


def test_successors_join_the_item_item_scores_at_a_share_of_its_best() -> None:
    scores = generators.item_item_scores(NEIGHBORS, NEIGHBOR_WEIGHTS, SEEDS, np.array([2.0, 1.0], np.float32), 4,
                                         successors=SUCCESSORS, successor_weights=SUCCESSOR_WEIGHTS,
                                         successor_weight=0.5, successor_items=2, successor_recency=0.5)
    # successors [0.25, 0.5, 0, 0.5] scaled to a best of 1, times 0.5 x the best plain score (1.0)
    assert scores.tolist() == [0.375, 1.5, 0.5, 1.25]
    off = generators.item_item_scores(NEIGHBORS, NEIGHBOR_WEIGHTS, SEEDS, np.array([2.0, 1.0], np.float32), 4,
                                      successors=SUCCESSORS, successor_weights=SUCCESSOR_WEIGHTS,
                                      successor_weight=0.0, successor_items=2, successor_recency=0.5)
    assert off.tolist() == [0.125, 1.0, 0.5, 0.75]


def test_seeds_are_the_history_by_floor_and_recency_then_the_session() -> None:
    rows, weights, revisits = generators.seeds(np.array([5, 7], np.int32), np.array([2, 4], np.int32),
                                               np.array([9]), np.array([3.0], np.float32), floor=0.5, recency=0.5)
    assert rows.tolist() == [5, 7, 9] and rows.dtype == np.int64
    assert weights.tolist() == [0.75, 1.0, 3.0]  # 0.5 + 0.5 x 0.5^age; the session row keeps its weight
    assert revisits.tolist() == [0.5, 1.0, 0.0]  # touches over the most (4); session rows 0
    rows, weights, revisits = generators.seeds(None, None, np.array([9]), np.array([3.0], np.float32), 0.5, 0.5)
    assert rows.tolist() == [9] and weights.tolist() == [3.0] and revisits.tolist() == [0.0]


# Per item: repurchase rate and cycle (days); the shopper bought each 5, 20, 1, 30, 10 days before NOW.
RATE = np.array([0.5, 0.1, 0.5, 0.5, 0.8], dtype=np.float32)
CYCLE = np.array([10, 10, 0, 10, 5], dtype=np.float32)
NOW = 1_000 * DAY
BOUGHT = np.arange(5)
BOUGHT_AT = (NOW - np.array([5, 20, 1, 30, 10]) * DAY).astype(np.int64)  # cycles since: 0.5, 2, -, 3, 2


def test_due_needs_the_rate_and_the_share_of_the_cycle() -> None:
    assert generators.due(RATE, CYCLE, BOUGHT_AT, NOW, 0.3, 0.5).tolist() == [True, False, False, True, True]
    # without_cycle: item 2 (rate 0.5, no cycle learned) counts as due
    assert generators.due(RATE, CYCLE, BOUGHT_AT, NOW, 0.3, 0.5, without_cycle=True).tolist() == [
        True, False, True, True, True]


def test_restocks_due_score_rate_times_timeliness_within_the_cycles_allowed() -> None:
    rows, scores = generators.restocks_due(RATE, CYCLE, BOUGHT, BOUGHT_AT, NOW, 0.3, 0.5, 2.5)
    # item 0: 0.5 x 0.5 cycles; item 4: 0.8 x 1/2 (overdue); item 3 is 3 cycles late (> 2.5)
    assert rows.tolist() == [0, 4]
    assert np.allclose(scores, [0.25, 0.4])
    allowed = np.array([True, True, True, True, False])
    rows, scores = generators.restocks_due(RATE, CYCLE, BOUGHT, BOUGHT_AT, NOW, 0.3, 0.5, 2.5, allowed)
    assert rows.tolist() == [0] and np.allclose(scores, [0.25])


def test_generated_keeps_positive_scores_best_first() -> None:
    rows, scores = generators.generated(np.array([0.0, 0.5, -1.0, 0.5, 2.0]))
    assert rows.tolist() == [4, 1, 3] and scores.tolist() == [2.0, 0.5, 0.5]  # a tie keeps the lower row first
    rows, _ = generators.generated(np.array([0.0, 0.5, -1.0, 0.5, 2.0]), limit=2)
    assert rows.tolist() == [4, 1]


def test_aligned_gives_score_and_rank_per_candidate_nan_where_not_found() -> None:
    score, rank = generators.aligned(np.array([3, 9, 4, 1, 3]), np.array([4, 1, 3]), np.array([2.0, 0.5, 0.25]))
    assert score.dtype == np.float32 and rank.dtype == np.float32
    assert np.array_equal(score, [0.25, np.nan, 2.0, 0.5, 0.25], equal_nan=True)
    assert np.array_equal(rank, [2, np.nan, 0, 1, 2], equal_nan=True)
    score, rank = generators.aligned(np.array([3, 9]), np.zeros(0, np.int64), np.zeros(0))
    assert np.isnan(score).all() and np.isnan(rank).all()


def test_aligned_columns_fill_the_feature_table() -> None:
    candidates = np.array([1, 3, 0])
    ii = generators.generated(generators.item_item_scores(NEIGHBORS, NEIGHBOR_WEIGHTS, np.array([0]),
                                                          np.ones(1, np.float32), 4))  # item 1: 0.5, item 2: 0.25
    ii_score, ii_rank = generators.aligned(candidates, *ii)
    history = features.History(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64))
    items = features.ItemFacts(np.zeros(4, np.int64), np.ones(4), np.zeros(4), np.zeros(4))
    matrix = features.feature_matrix(candidates, {"ii_score": ii_score, "ii_rank": ii_rank}, history, items, 1)
    column = features.FEATURES.index
    assert np.array_equal(matrix[:, column("ii_score")], [0.5, np.nan, np.nan], equal_nan=True)
    assert np.array_equal(matrix[:, column("ii_rank")], [0, np.nan, np.nan], equal_nan=True)
