"""The learned ranker's question on plain arrays: a shopper's History from their profile arrays, and the pool of
candidates with the generators that found each."""

from __future__ import annotations

import numpy as np

from protos.ranker.candidates import (
    SOURCE_ITEM_ITEM,
    SOURCE_OWN,
    SOURCE_POPULAR,
    Generators,
    ItemModel,
    features_of,
    history_of,
    pool,
)
from protos.ranker.features import FEATURES, ItemFacts

DAY_S = 86_400
NOW_MS = 100 * DAY_S * 1000


def _model(n: int = 8, successors: bool = False) -> ItemModel:
    # Item-item: each item's neighbours are the next two rows (weights 1 and 0.5).
    neighbors = np.stack([(np.arange(n) + 1) % n, (np.arange(n) + 2) % n], axis=1).astype(np.int32)
    weights = np.tile(np.array([1.0, 0.5], dtype=np.float32), (n, 1))
    succ = neighbors if successors else np.zeros((n, 0), np.int32)
    succ_w = weights if successors else np.zeros((n, 0), np.float32)
    facts = ItemFacts(np.arange(n) % 3, np.arange(n) * 2, np.zeros(n), np.zeros(n))
    return ItemModel(neighbors, weights, succ, succ_w, np.array([7, 6, 5], dtype=np.int32), facts)


def test_history_joins_recent_and_purchased_items_before_now() -> None:
    h = history_of(recent=np.array([3, 1]), touches=np.array([2, 5]), recent_at=np.array([10 * DAY_S, 20 * DAY_S]),
                   purchased=np.array([1, 6, 4]), purchased_at=np.array([20 * DAY_S, 5 * DAY_S, 200 * DAY_S]),
                   purchase_counts=np.array([3, 2, 1]), now_ms=NOW_MS)
    # Item 4 was bought after now: left out; item 6 is only a purchase: its purchases count as its events.
    assert h.rows.tolist() == [3, 1, 6]
    assert h.events.tolist() == [2, 5, 2] and h.purchases.tolist() == [0, 3, 2]
    assert h.last_ms.tolist() == [10 * DAY_S * 1000, 20 * DAY_S * 1000, 5 * DAY_S * 1000]


def test_the_pool_unions_the_generators_and_marks_who_found_each() -> None:
    h = history_of(np.array([0]), np.array([3]), np.array([DAY_S]), np.zeros(0), np.zeros(0), np.zeros(0), NOW_MS)
    found = pool(_model(), h, NOW_MS, g=Generators(item_item=5, successors=5, own=5, popular=2))
    sources = dict(zip(found.rows.tolist(), found.sources.tolist(), strict=True))
    assert sources[1] == SOURCE_ITEM_ITEM and sources[2] == SOURCE_ITEM_ITEM  # item 0's neighbours
    assert sources[0] == SOURCE_OWN  # the seed itself: no item-item score from its own neighbours
    assert sources[7] == SOURCE_POPULAR and sources[6] == SOURCE_POPULAR
    assert len(found.rows) == len(set(found.rows.tolist())) == 5
    own = found.features[:, FEATURES.index("own_count")]
    assert own[found.rows.tolist().index(0)] == 3 and own[found.rows.tolist().index(1)] == 0
    rank = found.features[:, FEATURES.index("ii_rank")]
    assert rank[found.rows.tolist().index(1)] == 0 and rank[found.rows.tolist().index(2)] == 1
    assert np.isnan(found.features[:, FEATURES.index("succ_score")]).all()  # the version has no successors


def test_features_of_given_rows_are_the_pools_rows() -> None:
    model = _model(successors=True)
    h = history_of(np.array([0, 4]), np.array([3, 1]), np.array([DAY_S, 2 * DAY_S]), np.zeros(0), np.zeros(0),
                   np.zeros(0), NOW_MS)
    found = pool(model, h, NOW_MS)
    again = features_of(model, h, found.rows[::-1], NOW_MS)
    np.testing.assert_array_equal(again, found.features[::-1])


def test_a_shopper_without_seeds_or_a_version_without_models_gets_own_and_popular_only() -> None:
    model = _model()
    empty = ItemModel(np.zeros((8, 0), np.int32), np.zeros((8, 0), np.float32), model.successors,
                      model.successor_weights, model.popular_rows, model.facts)
    h = history_of(np.array([2]), np.array([1]), np.array([DAY_S]), np.zeros(0), np.zeros(0), np.zeros(0), NOW_MS)
    found = pool(empty, h, NOW_MS)
    assert sorted(found.rows.tolist()) == [2, 5, 6, 7]
    assert np.isnan(found.features[:, FEATURES.index("ii_score")]).all()


def test_a_purchase_is_a_candidate_again_only_once_it_may_be_bought_again() -> None:
    base = _model()
    # Item 3: a durable (nobody rebuys it); item 4: restocked every 10 days; item 5: rebought, no cycle learned.
    facts = ItemFacts(base.facts.category, base.facts.users, np.array([0, 0, 0, 0.0, 0.5, 0.5, 0, 0]),
                      np.array([0, 0, 0, 0, 10.0, 0, 0, 0]))
    model = ItemModel(base.neighbors, base.neighbor_weights, base.successors, base.successor_weights,
                      base.popular_rows, facts)

    def candidates(days_ago: int) -> set[int]:
        bought_s = NOW_MS // 1000 - days_ago * DAY_S
        h = history_of(np.array([3, 4, 5]), np.array([1, 1, 1]), np.full(3, bought_s), np.array([3, 4, 5]),
                       np.full(3, bought_s), np.array([1, 1, 1]), NOW_MS)
        return set(pool(model, h, NOW_MS).rows.tolist())

    assert {3, 4} & candidates(2) == set() and 5 in candidates(2)
    assert 4 in candidates(8) and 3 not in candidates(300)
