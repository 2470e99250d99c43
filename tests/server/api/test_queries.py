"""Request validation as a pure function: every bound, and what passes."""

from __future__ import annotations

import pytest

from protos import decision_pb2 as pb
from server.api.queries import parse_recommend, parse_rerank
from server.errors import InvalidRequest
from server.runtime.config import Limits

LIMITS = Limits()


def test_a_full_request_parses() -> None:
    query = parse_recommend(pb.RecommendRequest(
        user_id="u1", n=10, request_id="r",
        session=[pb.Interaction(item_id="i1", type=pb.INTERACTION_TYPE_CART, timestamp_ms=5)],
        context=pb.Context(channel=pb.CHANNEL_APP, page=pb.PAGE_PRODUCT, anchor_item_id="i9", query="red shoes"),
        filters=pb.Filters(categories=["shoes"], min_price=1, max_price=9, in_stock_only=True),
    ), LIMITS)
    assert query.session_ids == ("i1",)
    assert query.session_types.tolist() == [pb.INTERACTION_TYPE_CART]
    assert query.anchor_item_id == "i9"
    assert query.filters.categories == frozenset({"shoes"})
    assert not query.filters.empty


def test_limits_are_the_documented_ones() -> None:
    assert parse_recommend(pb.RecommendRequest(n=500), LIMITS).n == 500
    with pytest.raises(InvalidRequest) as info:
        parse_recommend(pb.RecommendRequest(n=501), LIMITS)
    assert info.value.field == "n"
    ok = parse_rerank(pb.RerankRequest(n=1000, candidates=[pb.Candidate(item_id=f"i{k}") for k in range(1000)]),
                      LIMITS)
    assert len(ok.candidate_ids) == 1000


def test_rerank_n_zero_asks_for_every_candidate_and_negative_is_rejected() -> None:
    candidates = [pb.Candidate(item_id=f"i{k}") for k in range(7)]
    assert parse_rerank(pb.RerankRequest(candidates=candidates), LIMITS).n == 7
    assert parse_rerank(pb.RerankRequest(n=3, candidates=candidates), LIMITS).n == 3
    with pytest.raises(InvalidRequest, match=r"^n: must be between 0 and 1000, got -1$") as info:
        parse_rerank(pb.RerankRequest(n=-1, candidates=candidates), LIMITS)
    assert info.value.field == "n"
    with pytest.raises(InvalidRequest, match="^n: must be between 1 and 500, got 0$"):
        parse_recommend(pb.RecommendRequest(), LIMITS)


def test_details_are_asked_for_not_given_by_default() -> None:
    candidates = [pb.Candidate(item_id="i1")]
    assert not parse_recommend(pb.RecommendRequest(n=1), LIMITS).with_details
    assert parse_recommend(pb.RecommendRequest(n=1, with_details=True), LIMITS).with_details
    assert not parse_rerank(pb.RerankRequest(candidates=candidates), LIMITS).with_details
    assert parse_rerank(pb.RerankRequest(candidates=candidates, with_details=True), LIMITS).with_details


def test_non_ascii_id_is_rejected() -> None:
    with pytest.raises(InvalidRequest, match="user_id"):
        parse_recommend(pb.RecommendRequest(n=1, user_id="ü"), LIMITS)


def test_query_text_is_bounded() -> None:
    with pytest.raises(InvalidRequest, match="context.query"):
        parse_recommend(pb.RecommendRequest(n=1, context=pb.Context(query="x" * 1025)), LIMITS)


def test_filter_values_are_bounded() -> None:
    with pytest.raises(InvalidRequest, match="filters.brands"):
        parse_recommend(pb.RecommendRequest(n=1, filters=pb.Filters(brands=["b"] * 101)), LIMITS)

