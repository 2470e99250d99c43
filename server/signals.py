"""Turn a checked Query into what ranking needs: a query vector, its sources, rows to exclude.

Consent is honoured here: a user whose record says no consent is treated as anonymous and
their session is not used; only the page context is. The only store read of a request is
the shopper's profile; item ids become rows by one binary search over the mapped id array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server import reasons
from server.policy import RankingPolicy
from server.queries import Query
from server.snapshot import Snapshot

__all__ = ["Signals", "gather_signals", "session_vector", "blend"]


@dataclass(frozen=True, slots=True)
class Signals:
    """`vector` is None when nothing personal or contextual is known (popularity answers)."""

    vector: np.ndarray | None
    sources: int  # reason mask of what the vector is made of
    exclude: np.ndarray  # rows never to recommend: purchased, touched this session, the anchor
    candidate_rows: np.ndarray  # Rerank: row per candidate, -1 when unknown


def _normalize(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-12 else v


def session_vector(vectors: np.ndarray, rows: np.ndarray, types: np.ndarray, event_weights: np.ndarray,
                   recency: float) -> np.ndarray | None:
    """Unit vector of the session's known items, weighted by event type and geometric recency
    (most recent = 1); None when no item is known."""
    known = rows >= 0
    if not known.any():
        return None
    age = np.arange(len(rows))[::-1]
    weights = event_weights[types] * np.power(recency, age)
    return _normalize(weights[known] @ vectors[rows[known]])


def blend(first: np.ndarray, second: np.ndarray, share: float) -> np.ndarray:
    """Unit vector `share` of the way to `first` from `second`."""
    return _normalize(share * first + (1 - share) * second)


_Personal = tuple[np.ndarray | None, int, list[np.ndarray]]


def _personal(snapshot: Snapshot, policy: RankingPolicy, query: Query) -> _Personal:
    """The shopper's vector, its reason mask, and rows seen (purchased ever, touched this session)."""
    profile = snapshot.profiles.read(query.user_id) if query.user_id else None
    if profile is not None and not profile.consent:
        return None, 0, []
    catalog = snapshot.catalog
    session_rows = catalog.rows_of(query.session_ids)
    session = session_vector(catalog.vectors, session_rows, query.session_types, snapshot.event_weights,
                             policy.session_recency)
    user = profile.vector if profile is not None and len(profile.vector) else None
    seen = [session_rows, profile.purchased] if profile is not None else [session_rows]
    if user is not None and session is not None:
        return blend(session, user, policy.session_share), reasons.bit(reasons.SESSION_SIMILAR,
                                                                       reasons.USER_AFFINITY), seen
    if session is not None:
        return session, reasons.bit(reasons.SESSION_SIMILAR), seen
    if user is not None:
        return user, reasons.bit(reasons.USER_AFFINITY), seen
    return None, 0, seen


def gather_signals(snapshot: Snapshot, policy: RankingPolicy, query: Query) -> Signals:
    catalog = snapshot.catalog
    vector, sources, seen = _personal(snapshot, policy, query)
    anchor = int(catalog.rows_of((query.anchor_item_id,))[0]) if query.anchor_item_id else -1
    if anchor >= 0:
        anchor_vec = np.asarray(catalog.vectors[anchor], dtype=np.float32)
        vector = anchor_vec if vector is None else blend(anchor_vec, vector, policy.anchor_share)
        sources |= reasons.bit(reasons.ANCHOR_SIMILAR)
        seen.append(np.array([anchor]))
    exclude = [np.asarray(rows, dtype=np.int64) for rows in seen if len(rows)]
    rows = np.unique(np.concatenate(exclude)) if exclude else np.zeros(0, dtype=np.int64)
    vec = None if vector is None else np.ascontiguousarray(vector, dtype=np.float32)
    return Signals(vec, sources, rows[rows >= 0], catalog.rows_of(query.candidate_ids))
