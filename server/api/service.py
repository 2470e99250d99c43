"""DecisionServicer: parse -> the request's arrays (server/ranking/request.py) -> ranking pipeline -> respond.
The error boundary is `_entry`.

Every call leaves `_entry` with exactly one status, and that status is what the metrics count:
- OK;
- INVALID_ARGUMENT, with a google.rpc.BadRequest naming the field;
- DEADLINE_EXCEEDED, for a call whose deadline passed while it queued (not computed) or while it
  was computed (the answer came too late);
- our own errors, mapped by `status_of`;
- INTERNAL with a generic message (the exception logged) for anything else.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from protos.live import Overlay
from server.api import queries
from server.api.auth import check_bearer
from server.api.profile_view import profile_message
from server.api.queries import check_request_id
from server.api.respond import fill_items
from server.api.status import status_of
from server.api.tracking import check_events
from server.errors import Busy, InvalidRequest, NotFound, TailorError
from server.experiments.arms import Arms
from server.live.store import LiveStore
from server.live.trending import TrendingCache
from server.live.writer import WriterClient
from server.merchandising.compiler import RuleSet, compile_rules
from server.merchandising.reload import RuleKeeper, check_rules_text
from server.ranking import pipelines as ranking
from server.ranking import reasons
from server.ranking.policy import RankingPolicy
from server.ranking.request import RequestArrays, recommend_arrays, rerank_arrays
from server.runtime.config import ServerConfig
from server.runtime.metrics import Metrics
from server.runtime.snapshot import Snapshot
from server.runtime.versions import SnapshotHolder

__all__ = ["DecisionServicer", "EventsServicer"]

log = logging.getLogger(__name__)

_PERSONAL = reasons.bit(reasons.USER_AFFINITY, reasons.SESSION_SIMILAR)
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Metadata = tuple[tuple[str, str | bytes], ...]


@dataclass(frozen=True)
class _Failure(grpc.Status):
    """A call's final status; its trailing metadata keeps the worker's pid beside the status details."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def _status(worker: Metadata, code: grpc.StatusCode, message: str, *details: Message) -> grpc.Status:
    packed = []
    for detail in details:
        wrapper = any_pb2.Any()
        wrapper.Pack(detail)
        packed.append(wrapper)
    status = rpc_status.to_status(status_pb2.Status(code=code.value[0], message=message, details=packed))
    return _Failure(code, message, worker + tuple(status.trailing_metadata))


def _bad_request(worker: Metadata, error: InvalidRequest) -> grpc.Status:
    violation = error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.description)
    bad = error_details_pb2.BadRequest(field_violations=[violation])
    return _status(worker, grpc.StatusCode.INVALID_ARGUMENT, str(error), bad)


Handler = Callable[[Any, Req, grpc.ServicerContext], Resp]


def _entry(method: Handler[Req, Resp]) -> Handler[Req, Resp]:
    """Where requests enter: deadline check, metrics, and every failure turned into one status."""
    rpc = method.__name__

    @functools.wraps(method)
    def wrapper(self: _Calls, request: Req, context: grpc.ServicerContext) -> Resp:
        start = time.perf_counter()
        code = grpc.StatusCode.OK
        context.set_trailing_metadata(self._worker)
        try:
            remaining = context.time_remaining()
            if remaining is None or remaining > 0:
                response = method(self, request, context)
                remaining = context.time_remaining()
                if remaining is not None and remaining <= 0:
                    # Computed too late: the caller already has DEADLINE_EXCEEDED, and so do the metrics.
                    code = grpc.StatusCode.DEADLINE_EXCEEDED
                return response
            code = grpc.StatusCode.DEADLINE_EXCEEDED
            failure = _status(self._worker, code, "deadline passed before the call was computed")
        except InvalidRequest as exc:
            code = grpc.StatusCode.INVALID_ARGUMENT
            failure = _bad_request(self._worker, exc)
        except TailorError as exc:
            code = status_of(exc)
            # NOT_FOUND (GetProfile of an unknown user) is an ordinary answer, not a fault of ours.
            log.log(logging.INFO if code == grpc.StatusCode.NOT_FOUND else logging.ERROR,
                    "call_failed rpc=%s code=%s error=%s", rpc, code.name, exc)
            failure = _status(self._worker, code, f"{type(exc).__name__}: {exc}")
        except Exception:  # noqa: BLE001 - the boundary: a bug must still answer INTERNAL and be counted
            code = grpc.StatusCode.INTERNAL
            log.exception("internal_error rpc=%s", rpc)
            failure = _status(self._worker, code, "internal error")
        finally:
            self._record(rpc, code, time.perf_counter() - start)
        context.abort_with_status(failure)
        raise AssertionError("unreachable: abort_with_status raises")

    return wrapper


class _Calls:
    """What every servicer method's `_entry` needs: the worker's id for the trailer and the metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        # Which worker answered, for operators and tests; the servicer is built inside the worker.
        self._worker: Metadata = (("x-tailor-worker", str(os.getpid())),)
        self._children: dict[tuple[str, grpc.StatusCode], tuple[Any, Any]] = {}

    def _record(self, rpc: str, code: grpc.StatusCode, seconds: float) -> None:
        """Observe one call; metric children are looked up once per (rpc, code), not per call."""
        children = self._children.get((rpc, code))
        if children is None:
            children = (self._metrics.latency.labels(rpc), self._metrics.calls.labels(rpc, code.name))
            self._children[(rpc, code)] = children
        children[0].observe(seconds)
        children[1].inc()


class DecisionServicer(_Calls, decision_pb2_grpc.DecisionServicer):
    def __init__(self, config: ServerConfig, holder: SnapshotHolder, metrics: Metrics,
                 live: LiveStore | None = None) -> None:
        super().__init__(metrics)
        self._config = config
        self._holder = holder
        self._live = live
        self._trending = TrendingCache(live) if live is not None else None
        # The experiment's variants; impressions are remembered only where the live store is kept.
        self._arms = Arms(config.experiment, config.ranking, metrics, config.artifacts if live is not None else None)
        self.rules = RuleKeeper(config.rules, holder, metrics, config.poll_seconds)

    def close(self) -> None:
        """Write the impressions still buffered (server/experiments/impressions.py); at shutdown."""
        self._arms.close()

    def _overlay(self, query: queries.Query, snapshot: Snapshot) -> tuple[Overlay, Overlay] | None:
        """The live interactions of the request's user and session that `snapshot` does not hold yet:
        one read of the live store."""
        if self._live is None or not (query.user_id or query.session_id):
            return None
        return self._live.overlay(query.user_id, query.session_id, snapshot.live_seq)

    def _recommend(self, snapshot: Snapshot, policy: RankingPolicy, query: queries.Query,
                   ruleset: RuleSet | None) -> tuple[ranking.Ranked, RequestArrays]:
        arrays = recommend_arrays(snapshot, policy, query, self._overlay(query, snapshot), ruleset,
                                  self._trending.rows if self._trending is not None else None)
        return ranking.recommend(snapshot, policy, arrays), arrays

    def _rerank(self, snapshot: Snapshot, policy: RankingPolicy, query: queries.Query,
                ruleset: RuleSet | None) -> tuple[ranking.Ranked, RequestArrays]:
        arrays = rerank_arrays(snapshot, policy, query, self._overlay(query, snapshot), ruleset)
        return ranking.rerank(snapshot, policy, arrays), arrays

    @_entry
    def Recommend(self, request: pb.RecommendRequest, context: grpc.ServicerContext) -> pb.RecommendResponse:
        query = queries.parse_recommend(request, self._config.limits)
        policy, query, variant = self._arms.pick("Recommend", query, request.request_id)
        with self._holder.use() as snapshot:
            ranked, arrays = self._recommend(snapshot, policy, query, self.rules.ruleset(snapshot))
            response = pb.RecommendResponse(version=snapshot.version, request_id=request.request_id, variant=variant,
                                            rules_version=arrays.rules.version,
                                            anchor_unknown=arrays.signals.anchor_unknown)
            ids = fill_items(response.items, snapshot.catalog, ranked, names=snapshot.names,
                             details=query.with_details, rules=arrays.rules.labels)
        self._arms.remember(request.request_id, variant, ids, query.experiment_unit)
        return response

    @_entry
    def Rerank(self, request: pb.RerankRequest, context: grpc.ServicerContext) -> pb.RerankResponse:
        query = queries.parse_rerank(request, self._config.limits)
        policy, query, variant = self._arms.pick("Rerank", query, request.request_id)
        with self._holder.use() as snapshot:
            ranked, arrays = self._rerank(snapshot, policy, query, self.rules.ruleset(snapshot))
            response = pb.RerankResponse(version=snapshot.version, request_id=request.request_id, variant=variant,
                                         rules_version=arrays.rules.version,
                                         anchor_unknown=arrays.signals.anchor_unknown)
            ids = fill_items(response.items, snapshot.catalog, ranked, query.candidate_ids, snapshot.names,
                             details=query.with_details, rules=arrays.rules.labels)
        self._arms.remember(request.request_id, variant, ids, query.experiment_unit)
        return response

    @_entry
    def PreviewRules(self, request: pb.PreviewRulesRequest,
                     context: grpc.ServicerContext) -> pb.PreviewRulesResponse:
        """The call answered without rules and with the draft (or the rules in force); nothing changes here."""
        call = request.WhichOneof("call")
        if call is None:
            raise InvalidRequest("call", "set recommend or rerank: the call to preview")
        try:
            query = (queries.parse_recommend(request.recommend, self._config.limits) if call == "recommend" else
                     queries.parse_rerank(request.rerank, self._config.limits))
        except InvalidRequest as exc:
            raise InvalidRequest(f"{call}.{exc.field}", exc.description) from None
        run = self._recommend if call == "recommend" else self._rerank
        ids, ids_request = query.candidate_ids, query.request_id
        # The shopper's variant, as their live answers have it; both answers draw the same exploration.
        policy, query, _ = self._arms.pick("PreviewRules", replace(query, request_id=query.request_id or "preview"),
                                           query.request_id)
        with self._holder.use() as snapshot:
            ruleset = self._draft(request.rules_toml, snapshot) if request.rules_toml else self.rules.ruleset(snapshot)
            without, _ = run(snapshot, policy, query, None)
            ranked, arrays = run(snapshot, policy, query, ruleset)  # its own arrays: the same exploration draws
            signals, active = arrays.signals, arrays.rules
            personal = signals.shopper is not None or bool(signals.sources & _PERSONAL)
            response = pb.PreviewRulesResponse(version=snapshot.version, personal=personal, request_id=ids_request,
                                               rules_version=ruleset.version if ruleset is not None else "")
            fill_items(response.without_rules, snapshot.catalog, without, ids, snapshot.names, details=True)
            fill_items(response.with_rules, snapshot.catalog, ranked, ids, snapshot.names, details=True,
                       rules=active.labels)
        return response

    @staticmethod
    def _draft(text: str, snapshot: Snapshot) -> RuleSet:
        """A draft rules file compiled for one call; INVALID_ARGUMENT naming every problem."""
        rule_file, problems = check_rules_text(text, snapshot)
        if rule_file is None:
            raise InvalidRequest("rules_toml", f"{len(problems)} problem(s):\n" + "\n".join(map(str, problems)))
        return compile_rules(rule_file, snapshot)

    @_entry
    def GetProfile(self, request: pb.GetProfileRequest, context: grpc.ServicerContext) -> pb.Profile:
        user_id = queries.parse_profile_request(request)
        with self._holder.use() as snapshot:
            live = self._live.overlay(user_id, "", snapshot.live_seq)[0] if self._live is not None else None
            profile = snapshot.profiles.read(user_id) if live is None or not live.forgotten else None
            if profile is None or not profile.consent:
                # Same answer for all three: whether someone withheld consent or was forgotten is not disclosed.
                raise NotFound("user_id: no profile for this user")
            message = profile_message(user_id, snapshot.version, profile, snapshot.names, live)
            message.request_id = request.request_id
            return message


class EventsServicer(_Calls, decision_pb2_grpc.EventsServicer):
    """TrackEvents: check each event, store the valid ones durably (server/live/store.py; through the server's
    writer process when it has one, server/live/writer.py), answer the counts.
    ForgetUser: delete a user's live data and record the deletion (docs/privacy.md). With a write token
    both check it first, before reading the request."""

    def __init__(self, holder: SnapshotHolder, metrics: Metrics, live: LiveStore, max_writes: int,
                 write_token: bytes | None = None, writer: WriterClient | None = None) -> None:
        super().__init__(metrics)
        self._holder = holder
        self._live = live
        self._store = writer.store if writer is not None else live.store
        self._token = write_token
        # At most this many TrackEvents at once per worker: the rest of its threads stay free for reads.
        self._writes = threading.BoundedSemaphore(max_writes)

    def _authorize(self, context: grpc.ServicerContext) -> None:
        if self._token is not None:
            check_bearer(context.invocation_metadata(), self._token)

    @_entry
    def TrackEvents(self, request: pb.TrackEventsRequest, context: grpc.ServicerContext) -> pb.TrackEventsResponse:
        self._authorize(context)
        check_request_id(request.request_id)
        events, rejected = check_events(request)
        if not self._writes.acquire(blocking=False):
            raise Busy("events: this worker is storing as many batches as it takes at once; retry shortly")
        try:
            with self._holder.use() as snapshot:
                stored = self._store(events, snapshot.may_keep)
        finally:
            self._writes.release()
        return pb.TrackEventsResponse(
            accepted=stored.accepted, duplicates=stored.duplicates, not_stored=stored.not_stored,
            rejected=[pb.TrackEventsResponse.Rejected(index=r.index, field=r.field, reason=r.reason)
                      for r in rejected], request_id=request.request_id)

    @_entry
    def ForgetUser(self, request: pb.ForgetUserRequest, context: grpc.ServicerContext) -> pb.ForgetUserResponse:
        self._authorize(context)
        forgot = self._live.forget(queries.parse_forget_request(request))
        return pb.ForgetUserResponse(live_events_deleted=forgot.live_events_deleted,
                                     already_forgotten=forgot.already_forgotten, request_id=request.request_id)
