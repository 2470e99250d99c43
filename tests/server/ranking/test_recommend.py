"""Recommend end to end: real artifacts, real server on a free port, real client."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pytest

from clients import Filters, InvalidArgument, ScoredItem, TailorClient
from tests.conftest import Built
from tests.support import LOYAL_USER, NO_CONSENT_USER, RESTOCK_DUE_USER, RESTOCK_FRESH_USER, restocked_item


def _codes(decision_items: Iterable[ScoredItem]) -> set[str]:
    return {r.code for item in decision_items for r in item.reasons}


def test_single_category_shopper_gets_that_category(client: TailorClient, built: Built) -> None:
    answer = client.recommend(10, user_id=LOYAL_USER)
    categories = [built.store.category[i.item_id] for i in answer.items]
    assert len(answer.items) == 10
    assert categories.count(built.loyal_category) >= 8, categories
    assert "user_affinity" in _codes(answer.items)


def test_purchased_items_return_only_to_be_bought_again_and_out_of_stock_never(client: TailorClient,
                                                                                built: Built) -> None:
    buyers = sorted((u for u, items in built.store.purchased.items() if built.store.consent.get(u)),
                    key=lambda u: -len(built.store.purchased[u]))[:25]
    assert buyers
    for user in buyers:
        items = client.recommend(50, user_id=user).items
        rebought = {i.item_id for i in items if i.item_id in built.store.purchased[user]}
        assert rebought == {i.item_id for i in items if "buy_again" in {r.code for r in i.reasons}}, user
        assert all(built.store.in_stock[i.item_id] for i in items)


def test_anonymous_session_follows_the_session(client: TailorClient, built: Built) -> None:
    session_items = [i for i in built.store.items_in(built.loyal_category) if built.store.in_stock[i]][:3]
    answer = client.recommend(10, session=[(i, "view") for i in session_items])
    categories = Counter(built.store.category[i.item_id] for i in answer.items)
    assert categories[built.loyal_category] >= 6, categories
    assert not {i.item_id for i in answer.items} & set(session_items)
    assert "session_similar" in _codes(answer.items)


def test_product_page_recommends_neighbours_of_the_anchor(client: TailorClient, built: Built) -> None:
    anchor = next(i for i in built.store.items_in(built.loyal_category) if built.store.in_stock[i])
    answer = client.recommend(10, page="product", anchor_item_id=anchor)
    ids = [i.item_id for i in answer.items]
    assert anchor not in ids
    assert sum(built.store.category[i] == built.loyal_category for i in ids) >= 6
    assert "anchor_similar" in _codes(answer.items)


def test_unknown_user_gets_a_non_personal_answer(client: TailorClient, built: Built) -> None:
    answer = client.recommend(10, user_id="u_nobody_knows_me")
    assert len(answer.items) == 10
    assert _codes(answer.items) - {"explore"} == {"popular"}  # an explore slot is not personal either
    assert answer.version == built.manifest.version


def test_no_consent_means_no_personalization(client: TailorClient, built: Built) -> None:
    session = [(i, "view") for i in built.store.items_in(built.loyal_category)[:3]]
    answer = client.recommend(10, user_id=NO_CONSENT_USER, session=session)
    assert _codes(answer.items) - {"explore"} == {"popular"}  # an explore slot is not personal either
    with_consent = client.recommend(10, user_id=LOYAL_USER, session=session)
    assert "popular" not in _codes(with_consent.items)


def test_filters_hold_for_every_item(client: TailorClient, built: Built) -> None:
    other = next(c for c in set(built.store.category.values()) if c != built.loyal_category)
    prices = sorted(built.store.price[i] for i in built.store.items_in(other))
    low, high = prices[len(prices) // 4], prices[3 * len(prices) // 4]
    answer = client.recommend(20, user_id=LOYAL_USER, filters=Filters(categories=[other], min_price=low,
                                                                       max_price=high))
    assert answer.items
    for item in answer.items:
        assert built.store.category[item.item_id] == other
        assert low <= built.store.price[item.item_id] <= high + 1e-3


def test_version_and_request_id_are_echoed(client: TailorClient, built: Built) -> None:
    answer = client.recommend(3, user_id=LOYAL_USER, request_id="req-42")
    assert answer.request_id == "req-42"
    assert answer.version == built.manifest.version
    scores = [i.score for i in answer.items]
    assert scores == sorted(scores, reverse=True)


def test_a_restocked_coffee_comes_back_when_due_and_not_right_after_buying(client: TailorClient,
                                                                           built: Built) -> None:
    coffee = restocked_item(built.store)
    due = client.recommend(10, user_id=RESTOCK_DUE_USER).items
    assert coffee in [i.item_id for i in due]
    [again] = [i for i in due if i.item_id == coffee]
    assert again.reasons[0].code == "buy_again" and again.reasons[0].text == "Time to restock?"
    # The only brand and category this shopper ever bought: the explanation names them.
    texts = {r.code: r.text for r in again.reasons}
    assert texts["brand_affinity"] == f"A brand you buy often: {built.store.brand[coffee]}"
    assert texts["category_affinity"] == "One of your favourite categories: coffee"
    assert coffee not in {i.item_id for i in client.recommend(50, user_id=RESTOCK_FRESH_USER).items}


def test_n_zero_is_invalid_naming_n(client: TailorClient) -> None:
    """Unlike Rerank's, Recommend's n has no "all" to default to: 0 (unset) is an error naming it."""
    with pytest.raises(InvalidArgument) as info:
        client.recommend(0, user_id=LOYAL_USER)
    assert info.value.field == "n"
    assert info.value.details.startswith("n: ")


def test_items_carry_their_catalog_title_category_and_price_when_asked(client: TailorClient, built: Built) -> None:
    answer = client.recommend(10, user_id=LOYAL_USER, with_details=True, request_id="details")
    assert len(answer.items) == 10
    for item in answer.items:
        assert item.title == built.store.title[item.item_id] != ""
        assert item.category == built.store.category[item.item_id]
        assert item.price == built.store.price[item.item_id]  # the CSV's decimal, not float32 noise
    plain = client.recommend(10, user_id=LOYAL_USER, request_id="details")  # the same explore draws
    assert [i.item_id for i in plain.items] == [i.item_id for i in answer.items]
    assert {(i.title, i.category, i.price) for i in plain.items} == {("", "", 0.0)}
