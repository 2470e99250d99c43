"""Complements: the cart page's and product page's stages on a memory snapshot, then the real server."""

from __future__ import annotations

import numpy as np
import pytest

from clients import TailorClient
from protos import artifact
from protos import decision_pb2 as pb
from server.api.queries import Filter, Query
from server.api.respond import fill_items
from server.ranking import complements, reasons
from server.ranking.pipelines import recommend
from server.ranking.policy import RankingPolicy
from server.ranking.request import RequestArrays
from server.ranking.signals import gather_signals
from server.runtime.snapshot import Snapshot, memory_snapshot
from tests.conftest import Built

NO_FILTER = Filter(frozenset(), frozenset(), 0.0, 0.0, False)
POLICY = RankingPolicy()
IDS = ["cam", "card", "bag", "lens", "tripod", "sold"]


@pytest.fixture
def snap() -> Snapshot:
    """A camera bought with a card (strongly) and a bag; a lens bought with the bag; viewed with the tripod."""
    bought = np.array([[1, 2], [0, -1], [0, 3], [2, -1], [-1, -1], [0, -1]])
    bought_w = np.array([[0.9, 0.4], [0.9, 0], [0.4, 0.6], [0.6, 0], [0, 0], [0.8, 0]])
    viewed = np.array([[4], [-1], [-1], [4], [3], [-1]])
    viewed_w = np.array([[0.5], [0], [0], [0.7], [0.7], [0]])
    vectors = np.eye(6, 3, dtype=np.float32) + 0.1
    return memory_snapshot(vectors, IDS, ["c", "m", "b", "c", "t", "m"], ["x"] * 6, [1, 2, 3, 4, 5, 6],
                           [True, True, True, True, True, False], titles=["Camera X", "", "Bag", "", "", ""],
                           complements={"bought_together": bought, "bought_together_weights": bought_w,
                                        "viewed_together": viewed, "viewed_together_weights": viewed_w})


def _query(session: tuple[tuple[str, int], ...] = (), anchor: str = "", page: int = 0, n: int = 4) -> Query:
    return Query(user_id="", session_ids=tuple(i for i, _ in session),
                 session_types=np.array([t for _, t in session], dtype=np.int8), anchor_item_id=anchor, n=n,
                 filters=NO_FILTER, page=page)


def _answer(snap: Snapshot, query: Query, policy: RankingPolicy = POLICY) -> list[tuple[str, list[str]]]:
    signals = gather_signals(snap, policy, query)
    basket = complements.basket_of(snap.catalog, query)
    ranked = recommend(snap, policy, RequestArrays(signals, query.n, query.filters, basket=basket))
    response = pb.RecommendResponse()
    fill_items(response.items, snap.catalog, ranked, names=snap.names)
    return [(i.item_id, [r.text for r in i.reasons]) for i in response.items]


def test_scores_sum_over_the_basket_and_name_the_strongest_source(snap: Snapshot) -> None:
    scored = complements.complement_scores(snap.catalog, np.array([0, 3]), 0.5)
    assert scored.rows.tolist() == [1, 2, 4]
    assert np.allclose(scored.scores, [0.9, 0.4 + 0.6, 0.5 * 0.5 + 0.5 * 0.7])
    assert scored.bought.tolist() == [True, True, False]
    assert scored.anchors.tolist() == [0, 3, 3]  # the bag goes best with the lens (0.6 > 0.4)


def test_cart_page_answers_the_carts_complements_first(snap: Snapshot) -> None:
    answer = _answer(snap, _query(session=(("cam", pb.INTERACTION_TYPE_CART), ("lens", pb.INTERACTION_TYPE_VIEW)),
                                  page=pb.PAGE_CART))
    ids = [i for i, _ in answer]
    # Only the carted camera is the basket (a viewed item is not); its partners lead, the tripod was
    # viewed with it; the cart, the viewed lens and the out-of-stock item never come back.
    assert ids[:3] == ["card", "bag", "tripod"] and not {"cam", "lens", "sold"} & set(ids)
    assert answer[0][1][0] == "Often bought with Camera X"
    assert answer[2][1][0] == "Often viewed with Camera X"


def test_cart_page_names_the_id_of_an_untitled_item_and_takes_every_session_item_without_carts(
        snap: Snapshot) -> None:
    answer = _answer(snap, _query(session=(("lens", pb.INTERACTION_TYPE_VIEW),), page=pb.PAGE_CART))
    assert answer[0] == ("bag", ["Often bought with lens"])


def test_product_page_gives_complement_share_of_the_slots(snap: Snapshot) -> None:
    answer = _answer(snap, _query(anchor="cam", n=4))  # round(0.3 x 4) = 1 slot
    assert answer[0] == ("card", ["Often bought with Camera X"])
    assert all("Often" not in " ".join(texts) for _, texts in answer[1:])
    both = _answer(snap, _query(anchor="cam", n=4), RankingPolicy(complement_share=0.5))
    assert [t[0] for _, t in both[:2]] == ["Often bought with Camera X"] * 2
    off = _answer(snap, _query(anchor="cam", n=4), RankingPolicy(complement_share=0.0))
    assert all("Often" not in " ".join(texts) for _, texts in off)


def test_without_a_page_or_a_model_nothing_changes(snap: Snapshot) -> None:
    plain = _query(session=(("cam", pb.INTERACTION_TYPE_CART),))
    assert complements.basket_of(snap.catalog, plain).rows.size == 0
    bare = memory_snapshot(snap.catalog.vectors, IDS, ["c"] * 6, ["x"] * 6, [1] * 6, [True] * 6)
    cart = _query(session=(("cam", pb.INTERACTION_TYPE_CART),), page=pb.PAGE_CART)
    assert all("Often" not in " ".join(texts) for _, texts in _answer(bare, cart))
    assert reasons.name(reasons.BOUGHT_TOGETHER) == "bought_together"


# --- the real server on the demo store ----------------------------------------------------------------------------


def _partnered(built: Built) -> str:
    """An in-stock item with an in-stock bought-together partner in the built artifact."""
    version = artifact.resolve_current(built.root)
    partners = np.load(version / artifact.ITEM_ARRAYS["bought_together"].file)
    ids = np.load(version / artifact.ITEM_ARRAYS["ids"].file)
    in_stock = np.load(version / artifact.ITEM_ARRAYS["in_stock"].file)
    ok = in_stock & (in_stock[partners] & (partners >= 0)).any(axis=1)
    return bytes(ids[np.flatnonzero(ok)[0]]).decode()


def test_cart_page_returns_complements_naming_the_cart_item(client: TailorClient, built: Built) -> None:
    item = _partnered(built)
    answer = client.recommend(10, session=[(item, "cart")], page="cart")
    assert len(answer.items) == 10 and item not in {i.item_id for i in answer.items}
    first = answer.items[0].reasons[0]
    assert first.code == "bought_together"
    assert first.text == f"Often bought with {built.store.title[item] or item}"


def test_product_page_contains_a_complement(client: TailorClient, built: Built) -> None:
    item = _partnered(built)
    answer = client.recommend(10, page="product", anchor_item_id=item)
    codes = [{r.code for r in i.reasons} for i in answer.items]
    assert any("bought_together" in c for c in codes) and any("bought_together" not in c for c in codes)
