"""Turn a validated Query into what ranking needs: a query vector, its sources, exclusions.

All artifact lookups of one request go through one LMDB read transaction.
Consent is honoured here: a user whose record says no consent is treated
as anonymous and their session is not used; only the page context is.
"""

from __future__ import annotations

from dataclasses import dataclass

import lmdb
import numpy as np

from protos.artifact import unpack_profile, unpack_row
from server.requests import Query
from server.snapshot import Snapshot

__all__ = ["Signals", "gather_signals", "lookup_rows"]

_TYPE_WEIGHT = {"view": 1.0, "cart": 2.0, "purchase": 3.0}
_RECENCY = 0.85
_SESSION_SHARE = 0.6  # of a known user's query when a session is present
_ANCHOR_SHARE = 0.75  # of the query on a product page


@dataclass(frozen=True, slots=True)
class Signals:
    """`vector` is None when nothing personal or contextual is known (popularity answers)."""

    vector: np.ndarray | None
    sources: tuple[str, ...]
    exclude: np.ndarray  # int rows never to recommend: purchased, the anchor itself
    candidate_rows: np.ndarray  # Rerank: row per candidate, -1 when unknown
    personalized: bool


def lookup_rows(snapshot: Snapshot, txn: lmdb.Transaction, item_ids: tuple[str, ...]) -> np.ndarray:
    rows = np.full(len(item_ids), -1, dtype=np.int64)
    for i, item_id in enumerate(item_ids):
        value = txn.get(item_id.encode("utf-8"), db=snapshot.item_db)
        if value is not None:
            rows[i] = unpack_row(value)
    return rows


def _normalize(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-12 else v


def _session_vector(snapshot: Snapshot, rows: np.ndarray, kinds: list[str]) -> np.ndarray | None:
    known = rows >= 0
    if not known.any():
        return None
    age = np.arange(len(rows))[::-1]
    weights = np.array([_TYPE_WEIGHT[k] for k in kinds]) * np.power(_RECENCY, age)
    return _normalize(weights[known] @ snapshot.vectors[rows[known]])


def _personal(snapshot: Snapshot, txn: lmdb.Transaction, query: Query) -> tuple[np.ndarray | None, tuple[str, ...], list[np.ndarray], bool]:
    """The shopper's vector and purchased rows, or nothing when unknown or without consent."""
    record = txn.get(query.user_id.encode("utf-8"), db=snapshot.profile_db) if query.user_id else None
    profile = unpack_profile(record) if record is not None else None
    if profile is not None and not profile.consent:
        return None, (), [], False
    session_rows = lookup_rows(snapshot, txn, tuple(e.item_id for e in query.session))
    bought = [session_rows[[e.kind == "purchase" for e in query.session]]] if query.session else []
    session = _session_vector(snapshot, session_rows, [e.kind for e in query.session])
    user = profile.vector if profile is not None and len(profile.vector) else None
    if profile is not None:
        bought.append(profile.purchased)
    if user is not None and session is not None:
        return _normalize(_SESSION_SHARE * session + (1 - _SESSION_SHARE) * user), ("session_similar", "user_affinity"), bought, True
    if session is not None:
        return session, ("session_similar",), bought, True
    return user, (("user_affinity",) if user is not None else ()), bought, user is not None


def gather_signals(snapshot: Snapshot, query: Query) -> Signals:
    with snapshot.env.begin(buffers=False) as txn:
        vector, sources, bought, personalized = _personal(snapshot, txn, query)
        anchor = lookup_rows(snapshot, txn, (query.anchor_item_id,))[0] if query.anchor_item_id else -1
        candidates = lookup_rows(snapshot, txn, query.candidate_ids)
    exclude = [b for b in bought if len(b)]
    if anchor >= 0:
        anchor_vec = np.asarray(snapshot.vectors[anchor], dtype=np.float32)
        vector = anchor_vec if vector is None else _normalize(_ANCHOR_SHARE * anchor_vec + (1 - _ANCHOR_SHARE) * vector)
        sources = ("anchor_similar",) + sources
        exclude.append(np.array([anchor]))
    rows = np.unique(np.concatenate(exclude)) if exclude else np.zeros(0, dtype=np.int64)
    vec = None if vector is None else np.ascontiguousarray(vector, dtype=np.float32)
    return Signals(vec, sources, rows[rows >= 0], candidates, personalized)
