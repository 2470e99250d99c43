"""The metric functions on hand-computed values."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from loadtests.quality.evaluate import accuracy as metrics


def test_precision_recall_hit_on_one_list() -> None:
    recs, truth = ["a", "x", "b", "y"], {"a", "b", "c"}
    assert metrics.precision(recs, truth, 4) == pytest.approx(2 / 4)
    assert metrics.recall(recs, truth, 4) == pytest.approx(2 / 3)
    assert metrics.hit(recs, truth, 4) == 1.0
    assert metrics.hit(recs[1:2], truth, 4) == 0.0


def test_average_precision_divides_by_all_relevant_like_the_reference() -> None:
    # hits at ranks 1 and 3: (1/1 + 2/3) / |truth|
    assert metrics.average_precision(["a", "x", "b", "y"], {"a", "b", "c"}, 4) == pytest.approx((1 + 2 / 3) / 3)
    # more relevant than k: still divided by |truth| (5), not by min(k, |truth|)
    assert metrics.average_precision(["a", "b"], {"a", "b", "c", "d", "e"}, 2) == pytest.approx(2 / 5)


def test_ndcg_ideal_over_min_k_and_truth() -> None:
    # one relevant item, found at rank 2: (1/log2(3)) / (1/log2(2))
    assert metrics.ndcg(["x", "a", "y"], {"a"}, 3) == pytest.approx(1 / math.log2(3))
    # fewer relevant than k, all at the top: perfect
    assert metrics.ndcg(["a", "b", "x", "y"], {"a", "b"}, 4) == pytest.approx(1.0)
    # more relevant than k: the ideal has k hits
    dcg = 1 + 1 / math.log2(4)
    assert metrics.ndcg(["a", "x", "b"], {"a", "b", "c", "d"}, 3) == pytest.approx(dcg / (1 + 1 / math.log2(3) + 0.5))


def test_only_the_top_k_count() -> None:
    assert metrics.precision(["x", "y", "a"], {"a"}, 2) == 0.0
    assert metrics.ndcg(["x", "y", "a"], {"a"}, 2) == 0.0


def test_empty_recommendations_score_zero() -> None:
    for metric in (metrics.precision, metrics.recall, metrics.average_precision, metrics.ndcg, metrics.hit):
        assert metric([], {"a"}, 10) == 0.0
    assert metrics.novelty([[]], {"a": 3}, 10, 10) == 0.0
    assert metrics.coverage([[]], 5, 10) == 0.0


def test_short_list_still_divides_precision_by_k() -> None:
    assert metrics.precision(["a"], {"a"}, 10) == pytest.approx(0.1)


def test_coverage_and_novelty() -> None:
    recs = [["a", "b"], ["a", "c"]]
    assert metrics.coverage(recs, 10, 2) == pytest.approx(3 / 10)
    # shares a 8/16, b 2/16, c never seen (counts as 1/16): mean of 1, 3, 1, 4 bits
    assert metrics.novelty(recs, {"a": 8, "b": 2}, 16, 2) == pytest.approx((1 + 3 + 1 + 4) / 4)


def test_ties_in_popularity_give_equal_novelty() -> None:
    assert metrics.novelty([["a"]], {"a": 4, "b": 4}, 16, 1) == metrics.novelty([["b"]], {"a": 4, "b": 4}, 16, 1)


def test_score_all_means_over_users() -> None:
    scores = metrics.score_all([["a"], ["x"]], [{"a"}, {"b"}], 1, catalog_size=4, popularity={"a": 1, "x": 1},
                               n_users=2)
    assert (scores.precision, scores.hit_rate, scores.ndcg, scores.map) == (0.5, 0.5, 0.5, 0.5)
    assert scores.coverage == pytest.approx(0.5)
    assert scores.novelty == pytest.approx(1.0)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: metrics.precision(["a"], set(), 1), "truth"),
    (lambda: metrics.ndcg(["a"], {"a"}, 0), "k"),
    (lambda: metrics.coverage([["a"]], 0, 1), "catalog_size"),
    (lambda: metrics.novelty([["a"]], {}, 0, 1), "n_users"),
    (lambda: metrics.score_all([["a"]], [], 1, catalog_size=1, popularity={}, n_users=1), "recs"),
    (lambda: metrics.score_all([], [], 1, catalog_size=1, popularity={}, n_users=1), "truth"),
])
def test_bad_arguments_are_named(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_intra_list_diversity_counts_categories_and_the_largest_brand_in_the_top_k() -> None:
    category = {"a": "shoes", "b": "shoes", "c": "bags", "d": "hats"}
    brand = {"a": "Acme", "b": "Acme", "c": "Acme", "d": "unbranded"}
    recs = [["a", "b", "c", "d"], ["d", "x"]]
    assert metrics.distinct_categories(recs, category, 3) == pytest.approx((2 + 2) / 2)  # "x" unknown: its own
    assert metrics.brand_share(recs, brand, 4) == pytest.approx((3 / 4 + 0) / 2)  # unbranded never counts
    scores = metrics.score_all(recs, [{"a"}, {"d"}], 4, catalog_size=4, popularity={}, n_users=2,
                               category=category, brand=brand)
    assert scores.categories == pytest.approx((3 + 2) / 2) and scores.brand_share == pytest.approx(0.375)
    assert metrics.score_all(recs, [{"a"}, {"d"}], 4, catalog_size=4, popularity={}, n_users=2).categories == 0.0
