"""Rerank keeps a candidate Tailor does not know at its search position (ReasonCode UNKNOWN_ITEM), through
the real server: the known candidates are re-ranked around it."""

from __future__ import annotations

from clients import TailorClient
from tests.conftest import Built
from tests.support import LOYAL_USER


def _known(built: Built) -> list[str]:
    """Three in-stock items: two outside the loyal shopper's category, then one of it (the one they prefer)."""
    store = built.store
    others = [i for i, c in sorted(store.category.items()) if c != built.loyal_category and store.in_stock[i]]
    favourite = next(i for i in sorted(built.store.items_in(built.loyal_category)) if built.store.in_stock[i])
    return [others[0], others[1], favourite]


def test_an_unknown_candidate_keeps_its_search_position(client: TailorClient, built: Built) -> None:
    a, b, c = _known(built)
    for at in range(4):
        ids = [a, b, c]
        ids.insert(at, "not-in-catalog")
        answer = client.rerank([(i, 10.0 - k) for k, i in enumerate(ids)], user_id=LOYAL_USER)
        order = [i.item_id for i in answer.items]
        assert order.index("not-in-catalog") == at, (at, order)
        assert sorted(order) == sorted(ids)
        assert order.index(c) < order.index(a) or order.index(c) < order.index(b), order  # the known ones moved
        unknown = answer.items[at]
        assert "unknown_item" in {r.code for r in unknown.reasons}
        scores = [i.score for i in answer.items]
        assert scores == sorted(scores, reverse=True), scores


def test_unknown_candidates_hold_their_places_when_n_truncates(client: TailorClient, built: Built) -> None:
    a, b, c = _known(built)
    ids = [a, "unknown-1", b, "unknown-2", c]
    candidates = [(i, 10.0 - k) for k, i in enumerate(ids)]
    three = [i.item_id for i in client.rerank(candidates, 3, user_id=LOYAL_USER).items]
    assert len(three) == 3 and three[1] == "unknown-1" and "unknown-2" not in three, three
    every = [i.item_id for i in client.rerank(candidates, 0, user_id="u_stranger").items]
    assert every == ids  # nobody to personalize for: the search order itself
