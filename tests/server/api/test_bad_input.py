"""Bad requests get INVALID_ARGUMENT naming the field, over the real wire."""

from __future__ import annotations

from typing import cast

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from server import RunningServer


@pytest.fixture(scope="module")
def stub(running: RunningServer) -> decision_pb2_grpc.DecisionStub:
    return decision_pb2_grpc.DecisionStub(grpc.insecure_channel(f"127.0.0.1:{running.port}"))


def _cands(*ids: str) -> list[pb.Candidate]:
    return [pb.Candidate(item_id=i, score=1.0) for i in ids]


Request = pb.RecommendRequest | pb.RerankRequest
VIEW, NO_TYPE = pb.INTERACTION_TYPE_VIEW, pb.INTERACTION_TYPE_UNSPECIFIED

RECOMMEND: list[tuple[Request, str]] = [
    (pb.RecommendRequest(n=0), "n"),
    (pb.RecommendRequest(n=-3), "n"),
    (pb.RecommendRequest(n=501), "n"),
    (pb.RecommendRequest(n=5, user_id="has space"), "user_id"),
    (pb.RecommendRequest(n=5, user_id="x" * 129), "user_id"),
    (pb.RecommendRequest(n=5, session=[pb.Interaction(item_id="", type=VIEW)]), "session[0].item_id"),
    (pb.RecommendRequest(n=5, session=[pb.Interaction(item_id="i1", type=NO_TYPE)]), "session[0].type"),
    (pb.RecommendRequest(n=5, session=[pb.Interaction(item_id="i1", type=VIEW)] * 101), "session"),
    # Enum values outside the .proto's range, as an old or foreign client may send them.
    (pb.RecommendRequest(n=5, context=pb.Context(channel=cast(pb.Channel, 42))), "context.channel"),
    (pb.RecommendRequest(n=5, context=pb.Context(page=cast(pb.Page, 9))), "context.page"),
    (pb.RecommendRequest(n=5, context=pb.Context(anchor_item_id="a\tb")), "context.anchor_item_id"),
    (pb.RecommendRequest(n=5, context=pb.Context(time_ms=-1)), "context.time_ms"),
    (pb.RecommendRequest(n=5, filters=pb.Filters(min_price=-1)), "filters.min_price"),
    (pb.RecommendRequest(n=5, filters=pb.Filters(min_price=10, max_price=5)), "filters.min_price"),
    (pb.RecommendRequest(n=5, request_id="r" * 200), "request_id"),
]

RERANK: list[tuple[Request, str]] = [
    (pb.RerankRequest(n=5), "candidates"),
    (pb.RerankRequest(n=-1, candidates=_cands("a")), "n"),
    (pb.RerankRequest(n=1001, candidates=_cands("a")), "n"),
    (pb.RerankRequest(n=5, candidates=_cands(*[f"i{k}" for k in range(1001)])), "candidates"),
    (pb.RerankRequest(n=5, candidates=_cands("a", "b", "a")), "candidates[2].item_id"),
    (pb.RerankRequest(n=5, candidates=_cands("a", "")), "candidates[1].item_id"),
    (pb.RerankRequest(n=5, candidates=[pb.Candidate(item_id="a", score=float("nan"))]), "candidates[0].score"),
]


@pytest.mark.parametrize(("request_", "field"), RECOMMEND + RERANK)
def test_bad_request_is_rejected_naming_the_field(
    stub: decision_pb2_grpc.DecisionStub, request_: Request, field: str
) -> None:
    method = stub.Rerank if isinstance(request_, pb.RerankRequest) else stub.Recommend
    with pytest.raises(grpc.RpcError) as info:
        method(request_, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = info.value.details() or ""
    assert details.startswith(f"{field}:"), details
    assert isinstance(info.value, grpc.Call)
    status = rpc_status.from_call(info.value)
    assert status is not None and len(status.details) == 1
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert [v.field for v in bad.field_violations] == [field]


def test_server_still_answers_after_bad_input(stub: decision_pb2_grpc.DecisionStub) -> None:
    assert len(stub.Recommend(pb.RecommendRequest(n=3), timeout=5).items) == 3
