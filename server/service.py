"""DecisionServicer: parse -> pure ranking -> respond. Errors map to statuses here, once."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from server import ranking, requests
from server.config import ServerConfig
from server.errors import TailorError, status_of
from server.metrics import Metrics
from server.signals import gather_signals
from server.snapshot import Snapshot
from server.versions import SnapshotHolder

__all__ = ["DecisionServicer", "REASON_TEXT"]

log = logging.getLogger(__name__)

REASON_TEXT = {
    "user_affinity": "Matches this shopper's tastes",
    "session_similar": "Similar to what this visitor looked at",
    "anchor_similar": "Similar to the product on this page",
    "popular": "Popular right now",
    "search_relevance": "Relevant to the search",
    "unknown_item": "Not in Tailor's catalog; kept at its search position",
}
_REASONS = {code: pb.Reason(code=code, text=text) for code, text in REASON_TEXT.items()}

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Handler = Callable[["DecisionServicer", Req, grpc.ServicerContext], Resp]


def _entry(method: Handler[Req, Resp]) -> Handler[Req, Resp]:
    """Where requests enter: deadline check, metrics, and our errors mapped to statuses."""
    rpc = method.__name__

    @functools.wraps(method)
    def wrapper(self: DecisionServicer, request: Req, context: grpc.ServicerContext) -> Resp:
        start = time.perf_counter()
        code = grpc.StatusCode.OK
        context.set_trailing_metadata(self._worker)
        try:
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0:
                code = grpc.StatusCode.DEADLINE_EXCEEDED
                context.abort(code, "deadline passed before the call was computed")
            return method(self, request, context)
        except TailorError as exc:
            code = status_of(exc)
            context.abort(code, str(exc))
        except (ValueError, RuntimeError, OSError, KeyError, IndexError) as exc:
            code = grpc.StatusCode.INTERNAL
            log.exception("internal_error rpc=%s", rpc)
            context.abort(code, f"internal error: {type(exc).__name__}")
        finally:
            self._record(rpc, code, time.perf_counter() - start)
        raise AssertionError("unreachable: context.abort raises")

    return wrapper


@functools.cache
def _reason_list(codes: tuple[str, ...]) -> list[pb.Reason]:
    """The Reason messages for a tuple of codes, built once (a handful of distinct tuples exist)."""
    return [_REASONS[c] for c in codes]


def _fill(items: object, snapshot: Snapshot, ranked: ranking.Ranked, ids: tuple[str, ...] = ()) -> None:
    add = items.add  # type: ignore[attr-defined]
    triples = zip(ranked.rows.tolist(), ranked.scores.tolist(), ranked.reasons, strict=True)
    for i, (row, score, codes) in enumerate(triples):
        item_id = ids[int(ranked.candidate_index[i])] if ranked.candidate_index is not None else snapshot.item_id(row)
        add(item_id=item_id, score=score, reasons=_reason_list(codes))


class DecisionServicer(decision_pb2_grpc.DecisionServicer):
    def __init__(self, config: ServerConfig, holder: SnapshotHolder, metrics: Metrics) -> None:
        self._config = config
        self._holder = holder
        self._metrics = metrics
        # Which worker answered, for operators and tests; the servicer is built inside the worker.
        self._worker = (("x-tailor-worker", str(os.getpid())),)
        self._children: dict[tuple[str, grpc.StatusCode], tuple[Any, Any]] = {}

    def _record(self, rpc: str, code: grpc.StatusCode, seconds: float) -> None:
        """Observe one call; metric children are looked up once per (rpc, code), not per call."""
        children = self._children.get((rpc, code))
        if children is None:
            children = (self._metrics.latency.labels(rpc), self._metrics.calls.labels(rpc, code.name))
            self._children[(rpc, code)] = children
        children[0].observe(seconds)
        children[1].inc()

    @_entry
    def Recommend(self, request: pb.RecommendRequest, context: grpc.ServicerContext) -> pb.RecommendResponse:
        query = requests.parse_recommend(request, self._config.limits)
        with self._holder.use() as snapshot:
            ranked = ranking.recommend(snapshot, gather_signals(snapshot, query), query.n, query.filters)
            response = pb.RecommendResponse(version=snapshot.version, request_id=request.request_id)
            _fill(response.items, snapshot, ranked)
        return response

    @_entry
    def Rerank(self, request: pb.RerankRequest, context: grpc.ServicerContext) -> pb.RerankResponse:
        query = requests.parse_rerank(request, self._config.limits)
        with self._holder.use() as snapshot:
            ranked = ranking.rerank(snapshot, gather_signals(snapshot, query), query.candidate_scores, query.n,
                                    query.filters, self._config.rerank_search_weight)
            response = pb.RerankResponse(version=snapshot.version, request_id=request.request_id)
            _fill(response.items, snapshot, ranked, query.candidate_ids)
        return response
