"""DecisionServicer: parse -> pure ranking -> respond. Errors map to statuses here, once."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import grpc

from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from server import ranking, requests
from server.config import ServerConfig
from server.errors import NoArtifact, TailorError, status_of
from server.signals import gather_signals
from server.snapshot import Snapshot

__all__ = ["SnapshotHolder", "DecisionServicer"]

log = logging.getLogger(__name__)

_REASON_TEXT = {
    "user_affinity": "Matches this shopper's tastes",
    "session_similar": "Similar to what this visitor looked at",
    "anchor_similar": "Similar to the product on this page",
    "popular": "Popular right now",
    "search_relevance": "Relevant to the search",
    "unknown_item": "Not in Tailor's catalog; kept at its search position",
}
_REASONS = {code: pb.Reason(code=code, text=text) for code, text in _REASON_TEXT.items()}


class SnapshotHolder:
    """The snapshot requests are answered from; swapped whole, never mutated."""

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self._snapshot = snapshot
        self._lock = threading.Lock()

    def get(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            raise NoArtifact("no artifact version loaded")
        return snapshot

    def swap(self, snapshot: Snapshot) -> Snapshot | None:
        with self._lock:
            old, self._snapshot = self._snapshot, snapshot
        return old


Req = TypeVar("Req")
Resp = TypeVar("Resp")


def _grpc_errors(method: Callable[..., Resp]) -> Callable[..., Resp]:
    """Where requests enter: our errors become statuses; anything else is INTERNAL, logged."""

    @functools.wraps(method)
    def wrapper(self: DecisionServicer, request: Req, context: grpc.ServicerContext) -> Resp:
        try:
            return method(self, request, context)
        except TailorError as exc:
            context.abort(status_of(exc), str(exc))
        except (ValueError, RuntimeError, OSError) as exc:
            log.exception("internal_error rpc=%s", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")
        raise AssertionError("unreachable: context.abort raises")

    return wrapper


def _fill(items: object, snapshot: Snapshot, ranked: ranking.Ranked, ids: tuple[str, ...] = ()) -> None:
    add = items.add  # type: ignore[attr-defined]
    triples = zip(ranked.rows.tolist(), ranked.scores.tolist(), ranked.reasons, strict=True)
    for i, (row, score, codes) in enumerate(triples):
        item_id = ids[int(ranked.candidate_index[i])] if ranked.candidate_index is not None else snapshot.item_id(row)
        add(item_id=item_id, score=score, reasons=[_REASONS[c] for c in codes])


class DecisionServicer(decision_pb2_grpc.DecisionServicer):
    def __init__(self, config: ServerConfig, holder: SnapshotHolder) -> None:
        self._config = config
        self._holder = holder

    @_grpc_errors
    def Recommend(self, request: pb.RecommendRequest, context: grpc.ServicerContext) -> pb.RecommendResponse:
        query = requests.parse_recommend(request, self._config.limits)
        snapshot = self._holder.get()
        ranked = ranking.recommend(snapshot, gather_signals(snapshot, query), query.n, query.filters)
        response = pb.RecommendResponse(version=snapshot.version, request_id=request.request_id)
        _fill(response.items, snapshot, ranked)
        return response

    @_grpc_errors
    def Rerank(self, request: pb.RerankRequest, context: grpc.ServicerContext) -> pb.RerankResponse:
        query = requests.parse_rerank(request, self._config.limits)
        snapshot = self._holder.get()
        ranked = ranking.rerank(snapshot, gather_signals(snapshot, query), query.candidate_scores, query.n,
                                query.filters,
                                self._config.rerank_search_weight)
        response = pb.RerankResponse(version=snapshot.version, request_id=request.request_id)
        _fill(response.items, snapshot, ranked, query.candidate_ids)
        return response
