"""Diversity: the brand cap through the real server on the demo store, the category penalty and cap on arrays."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from clients import ScoredItem, TailorClient
from protos import artifact
from server import ServerConfig, start_server
from server.api.queries import Filter
from server.ranking import diversity, reasons
from server.ranking.policy import RankingPolicy
from server.ranking.stages import Candidates, top_n
from server.runtime.snapshot import Snapshot, memory_snapshot
from tests.conftest import Built

NO_FILTER = Filter(frozenset(), frozenset(), 0.0, 0.0, False)
NONE = np.zeros(0, dtype=np.int64)


def _most_of_one_brand(built: Built, items: list[ScoredItem]) -> int:
    """The most items of one brand in an answer, leaving out only its restocks (reason buy_again): the one
    kind of the shopper's own items the default brand cap lets through."""
    brands = Counter(built.store.brand[i.item_id] for i in items if built.store.brand[i.item_id] not in
                     artifact.NO_BRAND and "buy_again" not in {r.code for r in i.reasons})
    return max(brands.values(), default=0)


def _sessions(built: Built) -> list[list[str]]:
    """Sessions of three items someone bought together: their similar items are often of one brand."""
    return [sorted(bought)[k:k + 3] for bought in list(built.store.purchased.values())[:150] for k in (0, 2)]


def _walls(client: TailorClient, built: Built) -> list[int]:
    """The most items of one brand in each of many answers (besides restocks): 200 known shoppers (everything
    they touched before is held by the cap like any item), anonymous sessions, a visitor."""
    users = sorted(built.store.purchased)[:200]
    known = [client.recommend(10, user_id=u, request_id=f"w{u}").items for u in users]
    answers = [client.recommend(10, session=[(i, "view") for i in s], request_id=f"s{j}").items
               for j, s in enumerate(_sessions(built))]
    return [_most_of_one_brand(built, list(a)) for a in known + answers + [client.recommend(10).items]]


def test_no_brand_fills_more_than_4_of_10_places(client: TailorClient, built: Built) -> None:
    walls = _walls(client, built)
    assert max(walls) <= 4


def _server(root: Path, policy: RankingPolicy) -> Iterator[TailorClient]:
    server = start_server(ServerConfig(artifacts=root, port=0, ranking=policy))
    try:
        with TailorClient(f"127.0.0.1:{server.port}", timeout=5.0) as c:
            yield c
    finally:
        server.stop(grace=None)


@pytest.fixture
def no_restocks(own_root: Path) -> Iterator[TailorClient]:
    yield from _server(own_root, RankingPolicy(buy_again_weight=0.0))


def test_without_due_restocks_no_item_passes_the_brand_cap(no_restocks: TailorClient, built: Built) -> None:
    """With the buy-again stage off nothing is a due restock, so every item counts, even a purchase that came
    back marked buy_again in this revisiting store: no answer of 10 to 200 shoppers has more than 4 of a brand."""
    policy = RankingPolicy(buy_again_weight=0.0)
    limit = math.ceil(policy.max_brand_share * 10)
    for user in sorted(built.store.purchased)[:200]:
        items = no_restocks.recommend(10, user_id=user, request_id=f"w{user}").items
        brands = Counter(built.store.brand[i.item_id] for i in items
                         if built.store.brand[i.item_id] not in artifact.NO_BRAND)
        assert max(brands.values(), default=0) <= limit, (user, brands)


@pytest.fixture
def uncapped(own_root: Path) -> Iterator[TailorClient]:
    yield from _server(own_root, RankingPolicy(max_brand_share=1.0, explore_share=0.0))


def test_without_the_cap_the_demo_store_has_brand_walls(uncapped: TailorClient, built: Built) -> None:
    """What the cap is for: the same traffic without it shows more than 4 of one brand somewhere."""
    assert max(_walls(uncapped, built)) > 4


@pytest.fixture
def snap() -> Snapshot:
    """8 items: rows 0-5 category a, 6-7 category b; brands x (0-3), y (4-5), unbranded (6-7)."""
    vectors = np.eye(8, 4, dtype=np.float32) + 0.01
    return memory_snapshot(vectors, [f"i{r}" for r in range(8)], ["a"] * 6 + ["b"] * 2,
                           ["x"] * 4 + ["y"] * 2 + ["unbranded"] * 2, [1.0] * 8, [True] * 8)


def _ranked(scores: list[float]) -> Candidates:
    n = len(scores)
    return Candidates(np.arange(n, dtype=np.int64), np.array(scores, dtype=np.float64),
                      np.full(n, reasons.bit(reasons.POPULAR), dtype=reasons.MASK_DTYPE), np.ones(n, dtype=bool))


def test_the_brand_cap_leaves_unbranded_items_alone(snap: Snapshot) -> None:
    c = _ranked([8, 7, 6, 5, 4, 3, 2, 1])
    capped = diversity.diversify(snap.catalog, c, 5, RankingPolicy(max_brand_share=0.4), NONE, NO_FILTER)  # 2 of 5
    assert top_n(capped, 8).rows.tolist() == [0, 1, 4, 5, 6, 7, 2, 3]
    never = _ranked([8, 7, 6, 5, 4, 3, 2, 1])
    unbranded_only = Candidates(np.array([6, 7]), never.scores[:2], never.reasons[:2], never.keep[:2])
    assert diversity.diversify(snap.catalog, unbranded_only, 2, RankingPolicy(max_brand_share=0.1), NONE,
                               NO_FILTER) is unbranded_only


def test_the_category_cap_and_penalty(snap: Snapshot) -> None:
    c = _ranked([8, 7, 6, 5, 4, 3, 2.5, 1])
    capped = diversity.diversify(snap.catalog, c, 4, RankingPolicy(max_brand_share=1.0, max_category_share=0.5),
                                  NONE, NO_FILTER)
    assert top_n(capped, 4).rows.tolist() == [0, 1, 6, 7]  # 2 of 4 of category a
    # Each item loses 0.2 x the best score (8) per better one of its category: row 6 (2.5, the first of b)
    # passes row 3 (5 - 3 x 1.6 = 0.2) but not row 2 (6 - 2 x 1.6 = 2.8).
    soft = diversity.diversify(snap.catalog, c, 8, RankingPolicy(max_brand_share=1.0, diversity_penalty=0.2),
                               NONE, NO_FILTER)
    assert top_n(soft, 8).rows.tolist()[:4] == [0, 1, 2, 6]
    assert diversity.pool(10, RankingPolicy()) == 20
    assert diversity.pool(10, RankingPolicy(max_brand_share=1.0)) == 10


def test_too_few_others_are_topped_up_from_the_popular_list_above_the_capped_items(snap: Snapshot) -> None:
    """Only brand x (rows 0-3) was retrieved: the popular items (row order here) fill in above x's third and
    fourth, except x's own, which are past the cap too; a filter to brand x leaves nothing else."""
    c = _ranked([4, 3, 2, 1])
    capped = top_n(diversity.diversify(snap.catalog, c, 5, RankingPolicy(max_brand_share=0.4), NONE, NO_FILTER), 5)
    assert capped.rows.tolist() == [0, 1, 4, 5, 6]
    assert capped.reasons.tolist()[2:] == [reasons.bit(reasons.POPULAR)] * 3
    only_x = Filter(frozenset(), frozenset({"x"}), 0.0, 0.0, False)
    soft = top_n(diversity.diversify(snap.catalog, c, 4, RankingPolicy(max_brand_share=0.4), NONE, only_x), 4)
    assert soft.rows.tolist() == [0, 1, 2, 3]


def test_a_brand_a_rule_caps_is_left_to_the_rule(snap: Snapshot) -> None:
    """"No brand more than 4 of 10 unless a rule says otherwise": a brand cap rule's brands skip the default cap
    (the rule itself is applied once, with the other rules, by server/merchandising/stage.py); what the rule will
    demote still counts for the popular top-up."""
    c = _ranked([8, 7, 6, 5, 4, 3, 2, 1])
    ruled = np.array([3] * 4 + [-1] * 4)  # a rule caps brand x (rows 0-3) at 3 of the answer itself
    loose = diversity.diversify(snap.catalog, c, 5, RankingPolicy(max_brand_share=0.4), NONE, NO_FILTER, ruled=ruled)
    assert top_n(loose, 5).rows.tolist() == [0, 1, 2, 3, 4]
    only_x = _ranked([4, 3, 2, 1])  # only brand x retrieved: the rule's 4th of x will give way, so others join
    topped = diversity.diversify(snap.catalog, only_x, 4, RankingPolicy(max_brand_share=1.0), NONE, NO_FILTER,
                                 ruled=ruled)
    assert top_n(topped, 8).rows.tolist() == [0, 1, 2, 3, 4]


def test_only_due_restocks_pass_the_default_brand_cap(snap: Snapshot) -> None:
    """A due restock (reason buy_again and one of the rows stages.restocks_due judged due) passes the default
    brand cap and does not count toward it; a purchase marked buy_again that is not due, and anything else the
    shopper touched before, is held like any item."""
    c = _ranked([8, 7, 6, 5, 4, 3, 2, 1])
    marked = c.with_(reasons=np.where(np.arange(8) == 2, reasons.bit(reasons.BUY_AGAIN),
                                      c.reasons).astype(reasons.MASK_DTYPE))
    policy = RankingPolicy(max_brand_share=0.4)  # 2 of 5
    due = diversity.diversify(snap.catalog, marked, 5, policy, NONE, NO_FILTER, restocks=np.array([2]))
    assert top_n(due, 5).rows.tolist() == [0, 1, 2, 4, 5]  # the restock passes, uncounted; x's 4th is its 3rd
    held = diversity.diversify(snap.catalog, marked, 5, policy, NONE, NO_FILTER, restocks=np.array([5]))
    assert top_n(held, 5).rows.tolist() == [0, 1, 4, 5, 6]  # marked but not due: held
    assert top_n(diversity.diversify(snap.catalog, c, 5, policy, NONE, NO_FILTER, restocks=np.array([2])),
                 5).rows.tolist() == [0, 1, 4, 5, 6]  # due but not the restock entry (no reason buy_again)


def test_a_cap_rule_loosens_the_default_brand_cap_through_the_server(client: TailorClient, built: Built) -> None:
    """The same sessions that show walls without the cap: a rule allowing 6 of a brand lets one through,
    and never more than 6."""
    sessions = _sessions(built)
    rule = '[[rule]]\nname = "brand-week"\ncap = 6\nper = "brand"\n'
    walls = []
    for s in sessions:
        preview = client.preview_rules(rule, 10, session=[(i, "view") for i in s], no_exploration=True)
        assert _most_of_one_brand(built, list(preview.without_rules)) <= 4
        walls.append(_most_of_one_brand(built, list(preview.with_rules)))
    assert 4 < max(walls) <= 6


def test_an_added_item_meets_the_smaller_of_the_policys_and_the_rules_brand_limit(snap: Snapshot) -> None:
    """diversity.over_caps, what an explore slot checks: brand x (rows 0-3) with one item in an answer of 5
    is full under a rule capping x at 1, not under the policy's 2 of 5 alone; a rule capping category a
    (rows 0-5) at 2 is full once the answer holds two of a; unbranded items and unknown rows never are."""
    answer = np.array([0, 6])
    policy = RankingPolicy(max_brand_share=0.4)
    candidates = np.array([1, 4, 7, -1])
    assert diversity.over_caps(snap.catalog, candidates, answer, 5, policy).tolist() == [False] * 4
    brand_rule = (np.array([0] * 4 + [-1] * 4, dtype=np.int32), np.array([1] * 4 + [0] * 4, dtype=np.int32))
    assert diversity.over_caps(snap.catalog, candidates, answer, 5, policy, (brand_rule,)).tolist() == \
        [True, False, False, False]
    category_rule = (np.array([0] * 6 + [-1] * 2, dtype=np.int32), np.full(8, 2, dtype=np.int32))
    assert diversity.over_caps(snap.catalog, candidates, np.array([0, 5]), 5, policy, (category_rule,)).tolist() == \
        [True, True, False, False]
    assert diversity.over_caps(snap.catalog, candidates, np.array([0, 1]), 5, policy).tolist() == \
        [True, False, False, False]  # the policy's own 2 of 5
