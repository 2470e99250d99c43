"""Response scores through the real server: never negative and never above the item before, whatever placed
an item — popular top-ups, explore slots, items a cap demoted, pins, Rerank's unknown candidates."""

from __future__ import annotations

from collections.abc import Sequence

from clients import ScoredItem, TailorClient
from tests.conftest import Built
from tests.support import LOYAL_USER


def _check(items: Sequence[ScoredItem]) -> list[float]:
    scores = [i.score for i in items]
    assert scores, "an answer"
    assert min(scores) >= 0, scores
    assert all(a >= b for a, b in zip(scores, scores[1:], strict=False)), scores
    return scores


def test_popular_and_explore_rows_score_non_negative_in_order(client: TailorClient, built: Built) -> None:
    visitor = client.recommend(10, request_id="scores-visitor").items
    assert {r.code for i in visitor for r in i.reasons} >= {"popular"}
    assert _check(visitor)[0] > 0  # an all-popular answer still says best first
    for user in sorted(built.store.purchased)[:40] + [LOYAL_USER, "u_nobody"]:
        items = client.recommend(30, user_id=user, request_id=f"scores-{user}").items
        _check(items)
    session = [(i, "view") for i in sorted(built.store.items_in(built.loyal_category))[:3]]
    _check(client.recommend(10, session=session, request_id="scores-session").items)
    explored = [i for u in sorted(built.store.purchased)[:40]
                for i in client.recommend(10, user_id=u, request_id=f"scores-{u}").items
                if "explore" in {r.code for r in i.reasons}]
    assert explored and all(i.score >= 0 for i in explored)


def test_pins_and_rerank_unknowns_score_in_order(client: TailorClient, built: Built) -> None:
    coffee = next(i for i in sorted(built.store.items_in("coffee")) if built.store.in_stock[i])
    rule = f'[[rule]]\nname = "coffee-first"\npin = "{coffee}"\nslot = 3\n'
    preview = client.preview_rules(rule, 10, request_id="scores-pin")
    assert preview.with_rules[2].item_id == coffee
    _check(preview.with_rules)
    _check(preview.without_rules)
    known = sorted(built.store.category)[:4]
    candidates = [(known[0], -3.0), ("unknown-x", 7.0), (known[1], -5.0), (known[2], -9.0), (known[3], -2.0)]
    for user in ("u_stranger", LOYAL_USER):
        answer = client.rerank(candidates, user_id=user).items
        assert answer[1].item_id == "unknown-x"
        _check(answer)
