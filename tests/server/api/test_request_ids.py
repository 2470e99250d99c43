"""Every RPC echoes its request's request_id (protos/decision.proto's conventions), over the real wire."""

from __future__ import annotations

import grpc
import pytest

from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from server import RunningServer
from tests.support import LOYAL_USER

_ID = "req-7f3a"


def test_every_call_echoes_its_request_id(own_server: RunningServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{own_server.port}") as channel:
        decision, events = decision_pb2_grpc.DecisionStub(channel), decision_pb2_grpc.EventsStub(channel)
        recommend = pb.RecommendRequest(user_id=LOYAL_USER, n=3, request_id=_ID)
        items = [i.item_id for i in decision.Recommend(recommend, timeout=10).items]
        rerank = pb.RerankRequest(user_id=LOYAL_USER, request_id=_ID,
                                  candidates=[pb.Candidate(item_id=i, score=1.0) for i in items])
        answers = [
            decision.Recommend(recommend, timeout=10),
            decision.Rerank(rerank, timeout=10),
            decision.PreviewRules(pb.PreviewRulesRequest(recommend=recommend), timeout=10),
            decision.PreviewRules(pb.PreviewRulesRequest(rerank=rerank), timeout=10),
            decision.GetProfile(pb.GetProfileRequest(user_id=LOYAL_USER, request_id=_ID), timeout=10),
            events.TrackEvents(pb.TrackEventsRequest(request_id=_ID, events=[pb.Event(
                event_id="e-echo-1", user_id=LOYAL_USER, item_id=items[0], type=pb.INTERACTION_TYPE_VIEW,
                timestamp_ms=1_700_000_000_000)]), timeout=10),
            events.ForgetUser(pb.ForgetUserRequest(user_id="u-nobody", request_id=_ID), timeout=10),
        ]
    assert [a.request_id for a in answers] == [_ID] * len(answers)


@pytest.mark.parametrize("call", ["GetProfile", "TrackEvents", "ForgetUser"])
def test_a_long_request_id_is_refused_naming_the_field(own_server: RunningServer, call: str) -> None:
    long = "x" * 129
    requests = {"GetProfile": pb.GetProfileRequest(user_id=LOYAL_USER, request_id=long),
                "TrackEvents": pb.TrackEventsRequest(request_id=long),
                "ForgetUser": pb.ForgetUserRequest(user_id=LOYAL_USER, request_id=long)}
    with grpc.insecure_channel(f"127.0.0.1:{own_server.port}") as channel:
        stub = (decision_pb2_grpc.DecisionStub(channel) if call == "GetProfile"
                else decision_pb2_grpc.EventsStub(channel))
        with pytest.raises(grpc.RpcError) as caught:
            getattr(stub, call)(requests[call], timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("request_id")


def test_a_timed_session_is_taken_in_time_order(own_server: RunningServer) -> None:
    """Interaction.timestamp_ms orders the session when every interaction has one: a session sent newest first
    with its times answers as the same session sent oldest first without them."""
    with grpc.insecure_channel(f"127.0.0.1:{own_server.port}") as channel:
        stub = decision_pb2_grpc.DecisionStub(channel)
        popular = [i.item_id for i in stub.Recommend(pb.RecommendRequest(n=6), timeout=10).items]

        def answer(session: list[pb.Interaction]) -> list[str]:
            request = pb.RecommendRequest(n=10, session=session, no_exploration=True)
            return [i.item_id for i in stub.Recommend(request, timeout=10).items]

        view, cart = pb.INTERACTION_TYPE_VIEW, pb.INTERACTION_TYPE_CART
        oldest_first = [pb.Interaction(item_id=popular[0], type=view), pb.Interaction(item_id=popular[3], type=cart)]
        timed = [pb.Interaction(item_id=popular[3], type=cart, timestamp_ms=2_000),
                 pb.Interaction(item_id=popular[0], type=view, timestamp_ms=1_000)]
        untimed_reversed = [pb.Interaction(item_id=popular[3], type=cart),
                            pb.Interaction(item_id=popular[0], type=view)]
        assert answer(timed) == answer(oldest_first)
        assert answer(untimed_reversed) != answer(oldest_first)  # the order matters, so the check above can fail
