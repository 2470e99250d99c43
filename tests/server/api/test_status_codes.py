"""The error boundary over the real wire: each status code a caller can get, and what the metrics count."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import cast

import grpc
import pytest
from prometheus_client import REGISTRY

from clients import DeadlineExceeded, Internal, InvalidArgument, TailorClient, Unavailable
from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from protos.artifact import Profile
from server import RunningServer, ServerConfig, start_server
from server.api.service import DecisionServicer
from server.live.store import LiveStore
from server.ranking.policy import RankingPolicy
from server.runtime.config import ServerConfig as Config
from server.runtime.metrics import Metrics
from server.runtime.snapshot import ProfileStore
from server.runtime.versions import SnapshotHolder
from tests.conftest import Built
from tests.support import LOYAL_USER
from tests.waiting import wait_until


def _count(rpc: str, code: str) -> float:
    return REGISTRY.get_sample_value("tailor_rpc_calls_total", {"rpc": rpc, "code": code}) or 0.0


class _BuggyServicer(DecisionServicer):
    """A Decision service with a bug past the parser: what the catch-all must turn into INTERNAL."""

    def __init__(self, config: Config, holder: SnapshotHolder, metrics: Metrics, live: LiveStore | None) -> None:
        broken = cast(RankingPolicy, object())  # a policy without its fields: AttributeError mid-call
        super().__init__(replace(config, ranking=broken), holder, metrics, live)


def test_ok_and_invalid_argument_are_counted_with_the_field(client: TailorClient) -> None:
    ok, bad = _count("Recommend", "OK"), _count("Recommend", "INVALID_ARGUMENT")
    client.recommend(3)
    with pytest.raises(InvalidArgument) as info:
        client.recommend(0)
    assert info.value.field == "n"
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (_count("Recommend", "OK") - ok, _count("Recommend", "INVALID_ARGUMENT") - bad) == (1, 1)


def test_a_store_that_fails_to_read_is_internal_and_counted_so(own_server: RunningServer, built: Built) -> None:
    """A real LMDB error on the request path (the environment closed under the server)."""
    own_server.holder.current.profiles.close()
    ok, internal = _count("Recommend", "OK"), _count("Recommend", "INTERNAL")
    with TailorClient(f"127.0.0.1:{own_server.port}", timeout=5) as client:
        with pytest.raises(Internal) as info:
            client.recommend(5, user_id=LOYAL_USER)
        assert "ArtifactError" in info.value.details and LOYAL_USER not in info.value.details
        assert len(client.recommend(5).items) == 5  # anonymous calls read no profile: still answered
    assert _count("Recommend", "INTERNAL") - internal == 1
    assert _count("Recommend", "OK") - ok == 1


def test_an_unexpected_exception_is_internal_with_a_generic_message(own_root: Path) -> None:
    server = start_server(ServerConfig(artifacts=own_root, port=0), make_servicer=_BuggyServicer)
    try:
        before = _count("Rerank", "INTERNAL")
        with TailorClient(f"127.0.0.1:{server.port}", timeout=5) as client, pytest.raises(Internal) as info:
            client.rerank([("i0001", 1.0)])
        assert info.value.details == "internal error"
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel, pytest.raises(grpc.RpcError) as raw:
            decision_pb2_grpc.DecisionStub(channel).Recommend(pb.RecommendRequest(n=1), timeout=5)
        assert raw.value.code() == grpc.StatusCode.INTERNAL
        assert ("x-tailor-worker", str(os.getpid())) in raw.value.trailing_metadata()
        assert _count("Rerank", "INTERNAL") - before == 1
    finally:
        server.stop(grace=None)


def test_no_server_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: nothing answers there
        with TailorClient(f"127.0.0.1:{port}", timeout=2) as client, pytest.raises(Unavailable):
            client.recommend(1)


def test_every_reason_carries_its_enum_and_stable_code(running: RunningServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = decision_pb2_grpc.DecisionStub(channel)
        answers = [stub.Recommend(pb.RecommendRequest(n=5, user_id=LOYAL_USER), timeout=5),
                   stub.Recommend(pb.RecommendRequest(n=5), timeout=5),
                   stub.Rerank(pb.RerankRequest(n=2, candidates=[pb.Candidate(item_id="not-an-item")]), timeout=5)]
    kinds = set()
    for answer in answers:
        for reason in (r for item in answer.items for r in item.reasons):
            assert reason.kind != pb.REASON_CODE_UNSPECIFIED and reason.text
            assert pb.ReasonCode.Name(reason.kind) == "REASON_CODE_" + reason.code.upper()
            kinds.add(reason.kind)
    assert {pb.REASON_CODE_USER_AFFINITY, pb.REASON_CODE_POPULAR, pb.REASON_CODE_UNKNOWN_ITEM} <= kinds


class _GatedProfiles:
    """The snapshot's real profile store, with every read held at a gate (the call is mid-computation)."""

    def __init__(self, store: ProfileStore) -> None:
        self._store = store
        self.entered = threading.Event()
        self.gate = threading.Event()

    def read(self, user_id: str) -> Profile | None:
        self.entered.set()
        self.gate.wait(30)
        return self._store.read(user_id)

    def consents(self, user_ids: Iterable[str]) -> dict[str, bool | None]:
        return self._store.consents(user_ids)

    def user_ids(self, limit: int) -> list[str]:
        return self._store.user_ids(limit)

    def close(self) -> None:
        self._store.close()


def test_a_call_computed_past_its_deadline_is_counted_deadline_exceeded(own_server: RunningServer) -> None:
    holder = own_server.holder
    gated = _GatedProfiles(holder.current.profiles)
    holder.swap(replace(holder.current, profiles=gated))
    ok, late = _count("Recommend", "OK"), _count("Recommend", "DEADLINE_EXCEEDED")
    with TailorClient(f"127.0.0.1:{own_server.port}", timeout=0.5) as client:
        with pytest.raises(DeadlineExceeded):
            client.recommend(3, user_id=LOYAL_USER)
        assert gated.entered.is_set()  # the call was being computed when its caller gave up
        gated.gate.set()
        wait_until(lambda: _count("Recommend", "DEADLINE_EXCEEDED") - late == 1, 30,
                   "the late call is counted DEADLINE_EXCEEDED")
    assert _count("Recommend", "OK") == ok
