"""Rerank end to end: the shopper's affinity moves candidates; unknowns keep a sensible order."""

from __future__ import annotations

import pytest

from clients import Filters, InvalidArgument, TailorClient
from tests.conftest import Built
from tests.support import LOYAL_USER


def _mixed_candidates(built: Built, favourite_last: bool = True) -> list[tuple[str, float]]:
    others = [i for i, c in built.store.category.items() if c != built.loyal_category][:9]
    favourite = next(i for i in built.store.items_in(built.loyal_category) if built.store.in_stock[i])
    ids = others + [favourite] if favourite_last else [favourite] + others
    return [(item, float(10 - rank)) for rank, item in enumerate(ids)]


def test_rerank_moves_a_preferred_candidate_up(client: TailorClient, built: Built) -> None:
    candidates = _mixed_candidates(built)
    favourite = candidates[-1][0]
    answer = client.rerank(candidates, user_id=LOYAL_USER)
    order = [i.item_id for i in answer.items]
    assert order.index(favourite) <= 4, order
    assert sorted(order) == sorted(i for i, _ in candidates)


def test_unknown_shopper_keeps_the_search_order(client: TailorClient, built: Built) -> None:
    candidates = _mixed_candidates(built)
    answer = client.rerank(candidates, user_id="u_stranger")
    assert [i.item_id for i in answer.items] == [i for i, _ in candidates]
    # No search text (the client sends none): nothing personal, nor a search, to name (test_truthful_answers.py).
    assert all(not i.reasons for i in answer.items)


def test_unknown_items_are_kept_and_flagged(client: TailorClient, built: Built) -> None:
    candidates = _mixed_candidates(built)[:4] + [("not-in-catalog", 5.5)]
    answer = client.rerank(candidates, user_id=LOYAL_USER)
    unknown = next(i for i in answer.items if i.item_id == "not-in-catalog")
    assert "unknown_item" in {r.code for r in unknown.reasons}
    assert len(answer.items) == 5


def test_n_truncates_and_filters_drop(client: TailorClient, built: Built) -> None:
    candidates = _mixed_candidates(built)
    assert len(client.rerank(candidates, 3, user_id=LOYAL_USER).items) == 3
    answer = client.rerank(candidates, user_id=LOYAL_USER, filters=Filters(categories=[built.loyal_category]))
    assert [i.item_id for i in answer.items] == [candidates[-1][0]]


def test_n_unset_returns_every_candidate_reordered(client: TailorClient, built: Built) -> None:
    candidates = _mixed_candidates(built)
    answer = client.rerank(candidates, 0, user_id=LOYAL_USER)  # 0: proto3's default, the field left unset
    order = [i.item_id for i in answer.items]
    assert sorted(order) == sorted(i for i, _ in candidates)
    assert order != [i for i, _ in candidates], "the loyal shopper's favourite should have moved up"


def test_n_three_returns_the_best_three(client: TailorClient, built: Built) -> None:
    candidates = _mixed_candidates(built)
    everything = [i.item_id for i in client.rerank(candidates, user_id=LOYAL_USER).items]
    answer = client.rerank(candidates, 3, user_id=LOYAL_USER)
    assert [i.item_id for i in answer.items] == everything[:3]


def test_negative_n_is_invalid(client: TailorClient, built: Built) -> None:
    with pytest.raises(InvalidArgument) as info:
        client.rerank(_mixed_candidates(built), -1, user_id=LOYAL_USER)
    assert info.value.field == "n"


def test_with_details_known_candidates_carry_the_catalog_s_and_unknown_ones_none(client: TailorClient,
                                                                                  built: Built) -> None:
    candidates = _mixed_candidates(built)[:4] + [("not-in-catalog", 5.5)]
    answer = client.rerank(candidates, user_id=LOYAL_USER, with_details=True)
    details = {i.item_id: (i.title, i.category, i.price) for i in answer.items}
    assert details.pop("not-in-catalog") == ("", "", 0.0)
    store = built.store
    assert details == {i: (store.title[i], store.category[i], store.price[i]) for i, _ in candidates[:4]}
    plain = client.rerank(candidates, user_id=LOYAL_USER)
    assert {(i.title, i.category, i.price) for i in plain.items} == {("", "", 0.0)}
