"""Turn a checked Query into what ranking needs: a query vector, its sources, rows to exclude,
and the shopper's purchases with when each was last bought (for buy-again), at the request's "now".

Consent is honoured here: a user whose record says no consent is treated as anonymous and
their session is not used; only the page context is. A forgotten user is an unknown one (their
profile is not read). A request's own `personalization_consent = false` is honoured earlier, by
the parser (server/api/queries.py), which leaves the shopper out of the Query. The only store read of a request is
the shopper's profile; item ids become rows by one binary search over the mapped id array.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from protos import decision_pb2 as pb
from protos.artifact import Profile
from protos.live import Overlay
from protos.ranker import generators
from protos.ranker.candidates import history_of
from protos.ranker.features import History
from server.api.queries import Query
from server.ranking import learned, reasons, stages
from server.ranking.policy import RankingPolicy
from server.ranking.scoring import Shopper, shopper_of
from server.ranking.stages import member

if TYPE_CHECKING:
    from server.runtime.snapshot import Catalog, Snapshot

__all__ = ["Signals", "gather_signals", "session_vector", "session_seeds", "blend", "request_now", "code_rows"]

_NO_ROWS = np.zeros(0, dtype=np.int64)
_PURCHASE = pb.INTERACTION_TYPE_PURCHASE
_NO_SEEDS = (_NO_ROWS, np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32))


@dataclass(frozen=True, slots=True)
class Signals:
    """`vector` is None when nothing personal or contextual is known (popularity answers)."""

    vector: np.ndarray | None
    sources: int  # reason mask of what the vector is made of
    exclude: np.ndarray  # rows never to recommend: purchased, seen, touched this session, the anchor
    candidate_rows: np.ndarray  # Rerank: row per candidate, -1 when unknown
    # Item-item seeds: the shopper's history and session rows, and how much each counts.
    seeds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    seed_weights: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    # Buy again: the shopper's purchased rows (not touched this session; none on a product page),
    # the last purchase of each (epoch seconds), and the request's "now" (epoch seconds).
    bought: np.ndarray = field(default_factory=lambda: _NO_ROWS)
    bought_at: np.ndarray = field(default_factory=lambda: _NO_ROWS)
    now: float = 0.0
    # Per seed: how much the shopper kept coming back to it (their events on it over their most; 0 for
    # session rows), for stores whose shoppers revisit items.
    seed_revisits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    # The consenting shopper's profile facts for the profile score terms (server/ranking/scoring.py); None else.
    shopper: Shopper | None = None
    # The rows of the request's own context: its (and its live) session's items and the anchor; what
    # exploration (server/ranking/explore.py) counts among the shopper's usual categories with the profile's.
    context_rows: np.ndarray = field(default_factory=lambda: _NO_ROWS)
    # The request carries the shopper's search text (Context.query): only then is a Rerank candidate's
    # search score "relevant to the search" (reason search_relevance).
    searched: bool = False
    # The request names a page's anchor item the catalog does not hold: answered as without one, and the
    # response says so (RecommendResponse.anchor_unknown).
    anchor_unknown: bool = False
    # The learned ranker's inputs (server/ranking/learned.py), only where it serves (learned.serves) and for a
    # consenting shopper with a profile: their History before now, the session's seeds (rows, weights), and the rows it
    # never recommends: the session's and what they bought live (a purchase not yet due again is none of its
    # candidates: protos/ranker/candidates.py) — not the rest of their history, even where shoppers rarely come
    # back to items: whether to show a shopper's own items again is what the model learned from the store's log.
    history: History | None = None
    session: tuple[np.ndarray, np.ndarray] | None = None
    learned_exclude: np.ndarray = field(default_factory=lambda: _NO_ROWS)


def _normalize(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-12 else v


def session_vector(vectors: np.ndarray, rows: np.ndarray, types: np.ndarray, event_weights: np.ndarray,
                   recency: float) -> np.ndarray | None:
    """Unit vector of the session's known items, weighted by event type and recency; None when no item is known."""
    known = rows >= 0
    if not known.any():
        return None
    return _normalize(generators.session_weights(types, event_weights, recency)[known] @ vectors[rows[known]])


def blend(first: np.ndarray, second: np.ndarray, share: float) -> np.ndarray:
    """Unit vector `share` of the way to `first` from `second`."""
    return _normalize(share * first + (1 - share) * second)


@dataclass(frozen=True, slots=True)
class _Personal:
    vector: np.ndarray | None = None
    sources: int = 0
    seen: tuple[np.ndarray, ...] = ()  # rows never to recommend
    seeds: tuple[np.ndarray, np.ndarray, np.ndarray] = field(default_factory=lambda: _NO_SEEDS)  # see _seeds
    bought: tuple[np.ndarray, np.ndarray] = (_NO_ROWS, _NO_ROWS)  # purchased rows, last purchase (epoch s)
    shopper: Shopper | None = None
    session_rows: np.ndarray = field(default_factory=lambda: _NO_ROWS)  # the (live and request) session's
    history: History | None = None  # the learned ranker's (Signals.history, .session, .learned_exclude)
    session: tuple[np.ndarray, np.ndarray] | None = None
    learned_exclude: np.ndarray = field(default_factory=lambda: _NO_ROWS)


def session_seeds(rows: np.ndarray, types: np.ndarray, event_weights: np.ndarray,
                  recency: float) -> tuple[np.ndarray, np.ndarray]:
    """The session's known rows and their weights: event-type weight relative to a view's, times recency."""
    known = rows >= 0
    weights = generators.session_weights(types, event_weights, recency) / max(float(event_weights[1]), 1e-12)
    return rows[known], weights[known].astype(np.float32)


# Per catalog (a weak reference tells versions apart), the catalog row of each live item code (-1: not in it),
# extended as the live store learns codes: an overlay's items become rows by one gather, not by their ids.
_CODE_ROWS: dict[int, tuple[weakref.ref[Catalog], np.ndarray]] = {}


def code_rows(catalog: Catalog, names: Sequence[str]) -> np.ndarray:
    """Catalog row per live item code (`names`: code -> id, as the live store has learned them so far)."""
    cached = _CODE_ROWS.get(id(catalog))
    rows = cached[1] if cached is not None and cached[0]() is catalog else _NO_ROWS
    if len(rows) < len(names):
        learned = len(names)  # the store may learn more meanwhile: they wait for the next request
        rows = np.concatenate([rows, catalog.rows_of(tuple(names[len(rows):learned]))])
        if len(_CODE_ROWS) >= 8:  # old versions' entries
            _CODE_ROWS.clear()
        _CODE_ROWS[id(catalog)] = (weakref.ref(catalog), rows)
    return rows


def _session(catalog: Catalog, query: Query, live: tuple[Overlay, Overlay] | None,
             limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The session's rows and types: the live interactions of the user and of the session (newest `limit` of
    each, oldest first) before the request's own session; and the rows the user bought live."""
    rows = catalog.rows_of(query.session_ids)
    if live is None or not (len(live[0]) or len(live[1])):
        return rows, query.session_types, _NO_ROWS
    user, session = live
    newest = slice(-limit, None) if limit else slice(0, 0)
    codes = code_rows(catalog, user.names if len(user) else session.names)
    rows = np.concatenate([codes[user.entries["item"][newest]], codes[session.entries["item"][newest]], rows])
    types = np.concatenate([user.types[newest], session.types[newest], query.session_types]).astype(np.int8)
    bought = codes[user.entries["item"][user.entries["type"] == _PURCHASE]]
    return rows, types, bought


def _personal(snapshot: Snapshot, policy: RankingPolicy, query: Query, now: float,
              live: tuple[Overlay, Overlay] | None = None, needs_vector: bool = True) -> _Personal:
    """The shopper's vector (only when `needs_vector` or the item-item model cannot answer), its reason mask,
    rows seen (bought ever, the history, touched this session, bought live) and item-item seeds; nothing
    when the shopper withheld consent."""
    # A forgotten user (ForgetUser) is an unknown one: their profile is not read, whatever the version holds.
    forgotten = live is not None and live[0].forgotten
    profile = snapshot.profiles.read(query.user_id) if query.user_id and not forgotten else None
    if profile is not None and not profile.consent:
        return _Personal()
    catalog = snapshot.catalog
    session_rows, session_types, bought_live = _session(catalog, query, live, policy.live_items)
    seen = [session_rows, bought_live] if len(bought_live) else [session_rows]
    bought = (_NO_ROWS, _NO_ROWS)
    if profile is not None:
        fresh = ~member(profile.purchased, session_rows)
        bought = (profile.purchased[fresh].astype(np.int64), profile.purchased_at[fresh])
        if not policy.keeps_history(snapshot.revisit_share):
            seen += [profile.purchased, profile.recent]
        else:  # a revisiting store: what the shopper bought may come back once it is due (see stages.due)
            due = stages.due(catalog, profile.purchased, profile.purchased_at, now, policy, without_cycle=True)
            seen.append(profile.purchased[~due])
    seeds = _seeds(snapshot, policy, session_rows, session_types, profile) if catalog.neighbors.shape[1] else _NO_SEEDS
    user = profile.vector if profile is not None and len(profile.vector) else None
    sources = (reasons.bit(reasons.SESSION_SIMILAR) if bool((session_rows >= 0).any()) else 0) | (
        reasons.bit(reasons.USER_AFFINITY) if user is not None else 0)
    vector: np.ndarray | None = None
    if needs_vector or not (policy.item_item and len(seeds[0])):  # else the item-item model answers without one
        session = session_vector(catalog.vectors, session_rows, session_types, snapshot.event_weights,
                                 policy.session_recency)
        if user is not None and session is not None:
            vector = blend(session, user, policy.session_share)
        else:
            vector = session if session is not None else user
    shopper = shopper_of(profile, len(snapshot.names.age_bands)) if profile is not None else None
    if profile is None or not learned.serves(snapshot, policy):
        return _Personal(vector, sources, tuple(seen), seeds, bought, shopper, session_rows)
    history = history_of(profile.recent, profile.recent_touches, profile.recent_at, profile.purchased,
                         profile.purchased_at, profile.purchase_counts, int(now * 1000))
    return _Personal(vector, sources, tuple(seen), seeds, bought, shopper, session_rows, history,
                     session_seeds(session_rows, session_types, snapshot.event_weights, policy.session_recency),
                     _rows([session_rows, bought_live]))


def _seeds(snapshot: Snapshot, policy: RankingPolicy, session_rows: np.ndarray, session_types: np.ndarray,
           profile: Profile | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item-item seeds (history then session rows), their weights, and how much the shopper came back
    to each; computed only when the artifact has an item-item model."""
    rows, weights = session_seeds(session_rows, session_types, snapshot.event_weights, policy.session_recency)
    if profile is None:
        return generators.seeds(None, None, rows, weights, policy.history_floor, policy.history_recency)
    return generators.seeds(profile.recent, profile.recent_touches, rows, weights, policy.history_floor,
                            policy.history_recency)


def request_now(snapshot: Snapshot, policy: RankingPolicy, query: Query) -> float:
    """The request's "now" in epoch seconds: the request's own time when it gives one, else the
    artifact's reference time or the wall clock (policy.clock)."""
    if query.time_ms > 0:
        return query.time_ms / 1000.0
    return snapshot.reference_time if policy.clock == "artifact" else time.time()


def gather_signals(snapshot: Snapshot, policy: RankingPolicy, query: Query,
                   live: tuple[Overlay, Overlay] | None = None) -> Signals:
    """`live`: the user's and the session's live interactions (server/live/store.py), which join the request's
    session; what the user bought live is never recommended."""
    catalog = snapshot.catalog
    now = request_now(snapshot, policy, query)
    # A Recommend without an anchor that the item-item model answers needs no query vector (~15 µs saved).
    personal = _personal(snapshot, policy, query, now, live, bool(query.candidate_ids or query.anchor_item_id))
    vector, sources, seen = personal.vector, personal.sources, list(personal.seen)
    anchor = int(catalog.rows_of((query.anchor_item_id,))[0]) if query.anchor_item_id else -1
    if anchor >= 0:
        anchor_vec = np.asarray(catalog.vectors[anchor], dtype=np.float32)
        vector = anchor_vec if vector is None else blend(anchor_vec, vector, policy.anchor_share)
        sources |= reasons.bit(reasons.ANCHOR_SIMILAR)
        seen.append(np.array([anchor]))
    rows = _rows(seen)
    vec = None if vector is None else np.ascontiguousarray(vector, dtype=np.float32)
    bought, bought_at = personal.bought if anchor < 0 else (_NO_ROWS, _NO_ROWS)
    seeds, seed_weights, seed_revisits = personal.seeds
    return Signals(vec, sources, rows, catalog.rows_of(query.candidate_ids), seeds=seeds,
                   seed_weights=seed_weights, bought=bought, bought_at=bought_at, now=now,
                   seed_revisits=seed_revisits, shopper=personal.shopper,
                   context_rows=np.append(personal.session_rows, anchor) if anchor >= 0 else personal.session_rows,
                   searched=bool(query.query_text.strip()), anchor_unknown=bool(query.anchor_item_id) and anchor < 0,
                   history=personal.history, session=personal.session, learned_exclude=personal.learned_exclude)


def _rows(seen: Sequence[np.ndarray]) -> np.ndarray:
    """The distinct catalog rows (>= 0) of several row arrays."""
    parts = [np.asarray(rows, dtype=np.int64) for rows in seen if len(rows)]
    rows = np.unique(np.concatenate(parts)) if parts else _NO_ROWS
    return rows[rows >= 0]
