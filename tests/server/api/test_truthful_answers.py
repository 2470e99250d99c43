"""Answers say only what holds: search relevance only for a search, and an unknown product-page anchor
is said so (RecommendResponse.anchor_unknown), over the real server and the demo store."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from server import RunningServer
from tests.conftest import Built
from tests.support import LOYAL_USER

_UNKNOWN = "i-not-built-yet"


@pytest.fixture(scope="module")
def stub(running: RunningServer) -> Iterator[decision_pb2_grpc.DecisionStub]:
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield decision_pb2_grpc.DecisionStub(channel)


def _candidates(built: Built) -> list[pb.Candidate]:
    items = sorted(built.store.category)[:8]
    return [pb.Candidate(item_id=i, score=float(10 - k)) for k, i in enumerate(items)]


@pytest.mark.parametrize("user_id", ["", LOYAL_USER])
def test_rerank_names_search_relevance_only_for_a_search(stub: decision_pb2_grpc.DecisionStub, built: Built,
                                                         user_id: str) -> None:
    def codes(query: str) -> list[set[str]]:
        answer = stub.Rerank(pb.RerankRequest(user_id=user_id, candidates=_candidates(built),
                                              context=pb.Context(query=query)), timeout=10)
        return [{r.code for r in item.reasons} for item in answer.items]

    searched = codes("running shoes")
    assert len(searched) == 8 and all("search_relevance" in c for c in searched)
    for query in ("", "   "):
        listed = codes(query)
        assert len(listed) == 8 and not [c for c in listed if "search_relevance" in c]


def test_an_unknown_anchor_is_answered_and_said_so(stub: decision_pb2_grpc.DecisionStub, built: Built) -> None:
    def recommend(anchor: str) -> pb.RecommendResponse:
        return stub.Recommend(pb.RecommendRequest(n=6, context=pb.Context(page=pb.PAGE_PRODUCT, anchor_item_id=anchor),
                                                  no_exploration=True), timeout=10)

    unknown = recommend(_UNKNOWN)
    assert unknown.anchor_unknown and len(unknown.items) == 6
    assert {r.code for item in unknown.items for r in item.reasons} == {"popular"}
    known_anchor = next(i for i, stocked in built.store.in_stock.items() if stocked)
    known = recommend(known_anchor)
    assert not known.anchor_unknown
    assert any(r.code == "anchor_similar" for item in known.items for r in item.reasons)
    assert not recommend("").anchor_unknown


def test_rerank_says_so_of_an_unknown_anchor_too(stub: decision_pb2_grpc.DecisionStub, built: Built) -> None:
    def rerank(anchor: str) -> pb.RerankResponse:
        return stub.Rerank(pb.RerankRequest(candidates=_candidates(built), context=pb.Context(anchor_item_id=anchor)),
                           timeout=10)

    unknown = rerank(_UNKNOWN)
    assert unknown.anchor_unknown and len(unknown.items) == 8
    assert not rerank(_candidates(built)[0].item_id).anchor_unknown
