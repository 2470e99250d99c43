"""TailorClient: a typed client for the Decision service, with a deadline on every call."""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar, cast

import grpc

from clients.errors import from_rpc_error
from clients.flags import DEFAULT_TARGET, default_target
from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from protos.enums import CHANNELS, INTERACTION_TYPES, PAGES

__all__ = ["DEFAULT_TARGET", "RETRY_OPTIONS", "Reason", "ScoredItem", "Decision", "Filters", "Preview",
           "TailorClient", "default_target", "read_token_file"]

# Decision calls are reads, safe to retry, and TrackEvents is idempotent on its event ids: a connection
# reset while a worker process restarts (gRPC re-creates its SO_REUSEPORT listeners at start) or drains
# is retried, not surfaced.
RETRY_OPTIONS = (
    ("grpc.enable_retries", 1),
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.service_config", json.dumps({"methodConfig": [{
        "name": [{"service": "tailor.v1.Decision"}],
        "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.05s", "maxBackoff": "0.2s",
                        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]},
    }, {
        # A worker busy with writes answers RESOURCE_EXHAUSTED at once: back off and retry (same event ids).
        "name": [{"service": "tailor.v1.Events"}],
        "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.05s", "maxBackoff": "1s",
                        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]},
    }]})),
)
_E = TypeVar("_E")
# word -> enum value, from the generated code (protos/enums.py); "" is UNSPECIFIED for channel and page.
_TYPES = {word: cast(pb.InteractionType, value) for value, word in enumerate(INTERACTION_TYPES) if value}
_CHANNELS = {"": pb.CHANNEL_UNSPECIFIED,
             **{word: cast(pb.Channel, value) for value, word in enumerate(CHANNELS) if value}}
_PAGES = {"": pb.PAGE_UNSPECIFIED, **{word: cast(pb.Page, value) for value, word in enumerate(PAGES) if value}}


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    rule: str = ""  # code "rule": the merchandising rule's name
    kind: str = ""  # the ReasonCode enum's name, e.g. "REASON_CODE_USER_AFFINITY"


@dataclass(frozen=True)
class ScoredItem:
    """One answered item. Title, category and price are the catalog's, for display, when the call asked
    `with_details` ("" and 0 otherwise, where the artifact has none, and for a Rerank candidate Tailor
    does not know)."""

    item_id: str
    score: float
    reasons: tuple[Reason, ...]
    title: str = ""
    category: str = ""
    price: float = 0.0


@dataclass(frozen=True)
class Decision:
    """An answer: items best first, the artifact version that gave it, and every other field of the response."""

    items: tuple[ScoredItem, ...]
    version: str
    request_id: str
    rules_version: str = ""  # the rules file version in force ("" = none)
    variant: str = ""  # the experiment variant that answered ("" = no experiment)
    anchor_unknown: bool = False  # the request's anchor item is not in the catalog: answered without it


@dataclass(frozen=True)
class Preview:
    """PreviewRules' answer: the same call without and with the rules; `personal` false = not personal."""

    without_rules: tuple[ScoredItem, ...]
    with_rules: tuple[ScoredItem, ...]
    version: str
    rules_version: str
    personal: bool
    request_id: str = ""


@dataclass(frozen=True)
class Filters:
    categories: Sequence[str] = ()
    brands: Sequence[str] = ()
    min_price: float = 0.0
    max_price: float = 0.0
    in_stock_only: bool = False


def _decimal(value: float) -> float:
    """A 32-bit float field's value as its shortest decimal: 12.99, not 12.989999771118164."""
    for digits in range(6, 10):
        text = f"{value:.{digits}g}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == value:
            return float(text)
    return value


def _items(items: Sequence[pb.ScoredItem]) -> tuple[ScoredItem, ...]:
    return tuple(ScoredItem(i.item_id, i.score, tuple(Reason(r.code, r.text, r.rule, pb.ReasonCode.Name(r.kind))
                                                      for r in i.reasons), i.title, i.category, _decimal(i.price))
                 for i in items)


def _decision(response: pb.RecommendResponse | pb.RerankResponse) -> Decision:
    return Decision(_items(response.items), response.version, response.request_id, response.rules_version,
                    response.variant, response.anchor_unknown)


def _lookup(table: Mapping[str, _E], value: str, name: str) -> _E:
    if value not in table:
        raise ValueError(f"{name}: unknown value {value!r}; expected one of {', '.join(k for k in table if k)}")
    return table[value]


def _context(page: str, anchor_item_id: str, time_ms: int = 0, session_id: str = "", channel: str = "",
             query: str = "") -> pb.Context:
    return pb.Context(page=_lookup(_PAGES, page, "page"), anchor_item_id=anchor_item_id, time_ms=time_ms,
                      session_id=session_id, channel=_lookup(_CHANNELS, channel, "channel"), query=query)


def _session(session: Sequence[tuple[str, str]]) -> list[pb.Interaction]:
    return [pb.Interaction(item_id=item, type=_lookup(_TYPES, kind, "session type")) for item, kind in session]


def _filters(f: Filters | None) -> pb.Filters:
    f = f or Filters()
    return pb.Filters(categories=list(f.categories), brands=list(f.brands), min_price=f.min_price,
                      max_price=f.max_price, in_stock_only=f.in_stock_only)


def read_token_file(path: str | os.PathLike[str] | None = None) -> str | None:
    """The write token in `path` (else in the file $TAILOR_WRITE_TOKEN_FILE names), stripped; None when
    neither is given. Raises OSError or ValueError (an empty file)."""
    path = path or os.environ.get("TAILOR_WRITE_TOKEN_FILE") or None
    if path is None:
        return None
    with open(path, encoding="ascii") as f:
        token = f.read().strip()
    if not token:
        raise ValueError(f"{path}: the write token file is empty")
    return token


class TailorClient:
    """Calls Recommend, Rerank, GetProfile, TrackEvents and ForgetUser; raises clients.errors.TailorClientError
    subclasses on failure. `write_token` is sent (`authorization: Bearer ...`) on the write calls only."""

    def __init__(self, target: str | None = None, *, timeout: float = 1.0, write_token: str | None = None) -> None:
        self._channel = grpc.insecure_channel(target or default_target(), options=RETRY_OPTIONS)
        self._stub = decision_pb2_grpc.DecisionStub(self._channel)
        self._events = decision_pb2_grpc.EventsStub(self._channel)
        self._timeout = timeout
        self._write_metadata = (("authorization", f"Bearer {write_token}"),) if write_token else ()

    def recommend(self, n: int, *, user_id: str = "", session: Sequence[tuple[str, str]] = (),
                  page: str = "", anchor_item_id: str = "", filters: Filters | None = None,
                  request_id: str = "", timeout: float | None = None, time_ms: int = 0,
                  with_details: bool = False, session_id: str = "", channel: str = "", query: str = "",
                  personalization_consent: bool | None = None, no_exploration: bool = False) -> Decision:
        """N products for a user, an anonymous `session` [(item_id, "view"|"cart"|"purchase")], or a page;
        `time_ms` the moment the decision is for (0 = now); `with_details` fills each item's title,
        category and price; `session_id` adds that session's live events (TrackEvents); `channel` is
        web, app, email or store; `personalization_consent=False` asks for an answer that uses nothing
        about the shopper (None: the stored consent decides); `no_exploration` turns the explore slots off
        (the same `request_id` draws the same ones)."""
        request = pb.RecommendRequest(
            n=n, user_id=user_id, session=_session(session),
            context=_context(page, anchor_item_id, time_ms, session_id, channel, query),
            filters=_filters(filters), request_id=request_id, with_details=with_details,
            personalization_consent=personalization_consent, no_exploration=no_exploration)
        return self._call(self._stub.Recommend, request, timeout)

    def rerank(self, candidates: Sequence[tuple[str, float]], n: int = 0, *, user_id: str = "",
               session: Sequence[tuple[str, str]] = (), page: str = "", anchor_item_id: str = "",
               filters: Filters | None = None, request_id: str = "", timeout: float | None = None,
               with_details: bool = False, session_id: str = "", channel: str = "", query: str = "",
               time_ms: int = 0, personalization_consent: bool | None = None) -> Decision:
        """Reorder (item_id, search score) candidates for this shopper; n = 0 (the default) returns all of them;
        `with_details` fills each item's title, category and price; the other arguments as recommend's."""
        request = pb.RerankRequest(
            n=n,
            candidates=[pb.Candidate(item_id=i, score=s) for i, s in candidates],
            user_id=user_id, session=_session(session),
            context=_context(page, anchor_item_id, time_ms, session_id, channel, query),
            filters=_filters(filters), request_id=request_id, with_details=with_details,
            personalization_consent=personalization_consent)
        return self._call(self._stub.Rerank, request, timeout)

    def preview_rules(self, rules_toml: str, n: int = 10, *, user_id: str = "",
                      session: Sequence[tuple[str, str]] = (), page: str = "", anchor_item_id: str = "",
                      channel: str = "", query: str = "", time_ms: int = 0, filters: Filters | None = None,
                      candidates: Sequence[tuple[str, float]] = (), timeout: float | None = None,
                      no_exploration: bool = False, request_id: str = "") -> Preview:
        """A Recommend call (or, with `candidates`, a Rerank of them) answered without and with the draft
        `rules_toml` (empty: the rules in force); the server compiles the draft for this call only.
        A draft with problems raises InvalidArgument listing every one. Both answers draw the same
        exploration slots; `no_exploration` leaves them out."""
        context = _context(page, anchor_item_id, time_ms, "", channel, query)
        common = {"user_id": user_id, "session": _session(session), "context": context, "filters": _filters(filters),
                  "with_details": True, "request_id": request_id}
        call: dict[str, pb.RecommendRequest | pb.RerankRequest]
        if candidates:
            wanted = [pb.Candidate(item_id=i, score=s) for i, s in candidates]
            call = {"rerank": pb.RerankRequest(n=n, candidates=wanted, **common)}  # type: ignore[arg-type]
        else:
            call = {"recommend": pb.RecommendRequest(n=n, no_exploration=no_exploration,
                                                     **common)}  # type: ignore[arg-type]
        try:
            response: pb.PreviewRulesResponse = self._stub.PreviewRules(
                pb.PreviewRulesRequest(rules_toml=rules_toml, **call),  # type: ignore[arg-type]
                timeout=self._timeout if timeout is None else timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return Preview(_items(response.without_rules), _items(response.with_rules), response.version,
                       response.rules_version, response.personal, response.request_id)

    def get_profile(self, user_id: str, *, timeout: float | None = None, request_id: str = "") -> pb.Profile:
        """What Tailor knows of one shopper (the Profile message, protos/decision.proto); raises NotFound
        for an unknown user or one without consent."""
        try:
            response: pb.Profile = self._stub.GetProfile(pb.GetProfileRequest(user_id=user_id, request_id=request_id),
                                                         timeout=self._timeout if timeout is None else timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return response

    def _call(self, method: grpc.UnaryUnaryMultiCallable, request: object, timeout: float | None) -> Decision:
        try:
            return _decision(method(request, timeout=self._timeout if timeout is None else timeout))
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def track(self, events: Sequence[pb.Event], *, timeout: float | None = None,
              request_id: str = "") -> pb.TrackEventsResponse:
        """Send one batch of events (at most 1,000) to the Events service; the answer counts the accepted,
        duplicate and not-stored ones and lists the rejected ones by index. Retry only with the same
        event ids: a retried event is a duplicate, never counted twice."""
        try:
            response: pb.TrackEventsResponse = self._events.TrackEvents(
                pb.TrackEventsRequest(events=list(events), request_id=request_id),
                timeout=self._timeout if timeout is None else timeout,
                metadata=self._write_metadata)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return response

    def forget_user(self, user_id: str, *, timeout: float | None = None,
                    request_id: str = "") -> pb.ForgetUserResponse:
        """Forget one shopper at once (their profile is no longer used or shown, their live events are
        deleted; the next build leaves them out). Idempotent, so retried like track (UNAVAILABLE,
        RESOURCE_EXHAUSTED); the answer counts the live events deleted and says whether they were
        already forgotten."""
        try:
            response: pb.ForgetUserResponse = self._events.ForgetUser(
                pb.ForgetUserRequest(user_id=user_id, request_id=request_id),
                timeout=self._timeout if timeout is None else timeout,
                metadata=self._write_metadata)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return response

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> TailorClient:
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.close()
