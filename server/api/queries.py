"""Validate wire requests into plain, typed queries for the ranking code.

Every check raises InvalidRequest naming the field as the caller wrote it
(e.g. `session[3].item_id`), so a bad request is never silently answered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from protos import decision_pb2 as pb
from protos.ids import ID as _ID
from protos.ids import ID_RULE as _ID_RULE
from protos.ids import IDS as _IDS
from server.errors import InvalidRequest
from server.runtime.config import Limits

__all__ = ["Filter", "Query", "parse_recommend", "parse_rerank", "parse_profile_request", "parse_forget_request",
           "check_request_id"]

_TYPES = frozenset((pb.INTERACTION_TYPE_VIEW, pb.INTERACTION_TYPE_CART, pb.INTERACTION_TYPE_PURCHASE))


@dataclass(frozen=True, slots=True)
class Filter:
    categories: frozenset[str]
    brands: frozenset[str]
    min_price: float
    max_price: float
    in_stock_only: bool
    # Catalog-wide: True where merchandising rules (exclude / include_only) let an item be recommended;
    # None = every item (server/merchandising/compiler.py sets it). Not part of `empty`: it never drops
    # unknown candidates.
    allowed: np.ndarray | None = field(default=None, compare=False)

    @property
    def empty(self) -> bool:
        return not (self.categories or self.brands or self.min_price or self.max_price or self.in_stock_only)


@dataclass(frozen=True, slots=True)
class Query:
    """A checked request. The session is parallel arrays, oldest first: item ids and
    InteractionType values (VIEW=1, CART=2, PURCHASE=3)."""

    user_id: str
    session_ids: tuple[str, ...]
    session_types: np.ndarray
    anchor_item_id: str
    n: int
    filters: Filter
    candidate_ids: tuple[str, ...] = ()
    candidate_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    time_ms: int = 0  # the moment the decision is for; 0 = now
    session_id: str = ""  # the live session whose interactions join `session_ids` (server/live/store.py)
    with_details: bool = False  # answer each item's title, category and price too
    page: int = 0  # Context.page: a Page value (PAGE_UNSPECIFIED = 0)
    channel: int = 0  # Context.channel: a Channel value, the index into artifact.CHANNELS (0 = unspecified)
    # The request's personalization_consent: None = unset (the stored consent decides). False leaves the
    # shopper out of the Query (no user_id, session or session_id): nothing downstream can use them.
    consent: bool | None = None
    request_id: str = ""  # seeds the request's exploration draws (server/ranking/explore.py)
    no_exploration: bool = False  # RecommendRequest.no_exploration
    query_text: str = ""  # Context.query: the shopper's search text (merchandising rules' query conditions)
    # Who an experiment assigns (server/experiments/arms.py): the user_id, else the context.session_id, as the caller
    # sent them. Kept when consent leaves the shopper out, so a shopper's variant is the same whatever they
    # consent to; it is hashed into a variant and used for nothing else.
    experiment_unit: str = ""

    def without_shopper(self, *, anchor: bool = True) -> Query:
        """This query with nothing about the shopper: no user, session or live session; `anchor` False also
        drops the page's anchor item."""
        return replace(self, user_id="", session_ids=(), session_types=np.zeros(0, dtype=np.int8), session_id="",
                       anchor_item_id=self.anchor_item_id if anchor else "")


def _check_id(value: str, field: str, *, optional: bool = False) -> str:
    if optional and not value:
        return value
    if not _ID.fullmatch(value.encode("utf-8")):
        raise InvalidRequest(field, _ID_RULE)
    return value


def _check_enum(value: int, enum: EnumTypeWrapper, field: str) -> None:
    if value not in enum.values():
        raise InvalidRequest(field, f"unknown value {value}")


def _check_n(n: int, limit: int, low: int = 1) -> int:
    if not low <= n <= limit:
        raise InvalidRequest("n", f"must be between {low} and {limit}, got {n}")
    return n


def _session(interactions: list[pb.Interaction], limits: Limits) -> tuple[tuple[str, ...], np.ndarray]:
    if len(interactions) > limits.max_session:
        raise InvalidRequest("session", f"at most {limits.max_session} interactions, got {len(interactions)}")
    for i, it in enumerate(interactions):
        _check_id(it.item_id, f"session[{i}].item_id")
        if it.type not in _TYPES:
            raise InvalidRequest(f"session[{i}].type", f"must be VIEW, CART or PURCHASE, got {it.type}")
        if it.timestamp_ms < 0:
            raise InvalidRequest(f"session[{i}].timestamp_ms", "must not be negative")
    ids = tuple(it.item_id for it in interactions)
    types = np.array([it.type for it in interactions], dtype=np.int8)
    stamps = np.array([it.timestamp_ms for it in interactions], dtype=np.int64)
    if len(stamps) > 1 and stamps.all():  # every interaction timed: their order, oldest first (ties: list order)
        order = np.argsort(stamps, kind="stable")
        return tuple(ids[i] for i in order), types[order]
    return ids, types


def _context(context: pb.Context, limits: Limits) -> str:
    _check_enum(context.channel, pb.Channel, "context.channel")
    _check_enum(context.page, pb.Page, "context.page")
    if len(context.query.encode("utf-8")) > limits.max_query_bytes:
        raise InvalidRequest("context.query", f"at most {limits.max_query_bytes} bytes")
    if context.time_ms < 0:
        raise InvalidRequest("context.time_ms", f"must be >= 0 (0 = now), got {context.time_ms}")
    return _check_id(context.anchor_item_id, "context.anchor_item_id", optional=True)


def _filters(f: pb.Filters, limits: Limits) -> Filter:
    for name in ("categories", "brands"):
        values = getattr(f, name)
        if len(values) > limits.max_filter_values:
            raise InvalidRequest(f"filters.{name}", f"at most {limits.max_filter_values} values")
    for name in ("min_price", "max_price"):
        value = getattr(f, name)
        if not math.isfinite(value) or value < 0:
            raise InvalidRequest(f"filters.{name}", f"must be a finite number >= 0, got {value}")
    if f.max_price and f.min_price > f.max_price:
        raise InvalidRequest("filters.min_price", "must not exceed filters.max_price")
    return Filter(frozenset(f.categories), frozenset(f.brands), f.min_price, f.max_price, f.in_stock_only)


def _common(request: pb.RecommendRequest | pb.RerankRequest, limits: Limits) -> dict[str, object]:
    check_request_id(request.request_id)
    session_ids, session_types = _session(list(request.session), limits)
    common: dict[str, object] = {
        "user_id": _check_id(request.user_id, "user_id", optional=True),
        "session_ids": session_ids,
        "session_types": session_types,
        "anchor_item_id": _context(request.context, limits),
        "filters": _filters(request.filters, limits),
        "time_ms": request.context.time_ms,
        "with_details": request.with_details,
        "session_id": _check_id(request.context.session_id, "context.session_id", optional=True),
        "page": request.context.page,
        "channel": request.context.channel,
        "request_id": request.request_id,
        "query_text": request.context.query,
    }
    common["experiment_unit"] = common["user_id"] or common["session_id"]
    if request.HasField("personalization_consent"):
        common["consent"] = request.personalization_consent
    return common


def _consented(query: Query) -> Query:
    """`personalization_consent = false` leaves the shopper out (their fields were checked all the same: a bad
    request stays bad)."""
    return query.without_shopper() if query.consent is False else query


def parse_recommend(request: pb.RecommendRequest, limits: Limits) -> Query:
    return _consented(Query(n=_check_n(request.n, limits.max_recommend), no_exploration=request.no_exploration,
                            **_common(request, limits)))  # type: ignore[arg-type]


def _candidates(candidates: list[pb.Candidate], limits: Limits) -> tuple[tuple[str, ...], np.ndarray]:
    """Ids and scores, checked in bulk; the slow per-item walk runs only to name a bad one."""
    count = len(candidates)
    if not 1 <= count <= limits.max_candidates:
        raise InvalidRequest("candidates", f"must hold 1 to {limits.max_candidates} items, got {count}")
    # One pass over the repeated field: each element access builds a message wrapper.
    id_list, score_list = zip(*[(c.item_id, c.score) for c in candidates], strict=True)
    ids: tuple[str, ...] = id_list
    scores = np.array(score_list, dtype=np.float64)
    if not _IDS.fullmatch("\n".join(ids).encode("utf-8")):
        for i, item_id in enumerate(ids):
            _check_id(item_id, f"candidates[{i}].item_id")
    if len(set(ids)) != count:
        first: dict[str, int] = {}
        for i, item_id in enumerate(ids):
            if item_id in first:
                raise InvalidRequest(f"candidates[{i}].item_id", f"duplicate of candidates[{first[item_id]}]")
            first[item_id] = i
    finite = np.isfinite(scores)
    if not finite.all():
        raise InvalidRequest(f"candidates[{int(np.argmin(finite))}].score", "must be a finite number")
    return ids, scores


def parse_rerank(request: pb.RerankRequest, limits: Limits) -> Query:
    """n = 0, proto3's default, asks for every candidate: a search service reorders its whole page."""
    n = _check_n(request.n, limits.max_rerank_n, low=0)
    ids, scores = _candidates(list(request.candidates), limits)
    return _consented(Query(n=n or len(ids), candidate_ids=ids, candidate_scores=scores,
                            **_common(request, limits)))  # type: ignore[arg-type]


def check_request_id(request_id: str) -> str:
    """A request's request_id, echoed in its response: at most 128 bytes."""
    if len(request_id.encode("utf-8")) > 128:
        raise InvalidRequest("request_id", "at most 128 bytes")
    return request_id


def parse_profile_request(request: pb.GetProfileRequest) -> str:
    """The checked user id of a GetProfile request."""
    check_request_id(request.request_id)
    if not request.user_id:
        raise InvalidRequest("user_id", "required")
    return _check_id(request.user_id, "user_id")


def parse_forget_request(request: pb.ForgetUserRequest) -> str:
    """The checked user id of a ForgetUser request."""
    check_request_id(request.request_id)
    if not request.user_id:
        raise InvalidRequest("user_id", "required")
    return _check_id(request.user_id, "user_id")
