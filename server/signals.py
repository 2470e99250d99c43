"""Turn a validated Query into what ranking needs: a query vector, its sources, exclusions.

All artifact lookups of one request go through one LMDB read transaction.
Consent is honoured here: a user whose record says no consent is treated
as anonymous and their session is not used; only the page context is.
"""

from __future__ import annotations

from dataclasses import dataclass

import lmdb
import numpy as np

from protos.artifact import ROW_DTYPE, pack_row, unpack_profile
from server.requests import Query
from server.snapshot import Snapshot

__all__ = ["Signals", "gather_signals", "lookup_rows"]

_UNKNOWN_ROW = pack_row(-1)
_TYPE_WEIGHT = {"view": 1.0, "cart": 2.0, "purchase": 3.0}
_RECENCY = 0.85
_SESSION_SHARE = 0.6  # of a known user's query when a session is present
_ANCHOR_SHARE = 0.75  # of the query on a product page


@dataclass(frozen=True, slots=True)
class Signals:
    """`vector` is None when nothing personal or contextual is known (popularity answers)."""

    vector: np.ndarray | None
    sources: tuple[str, ...]
    exclude: np.ndarray  # rows never to recommend: purchased, touched this session, the anchor
    candidate_rows: np.ndarray  # Rerank: row per candidate, -1 when unknown


def lookup_rows(snapshot: Snapshot, txn: lmdb.Transaction, item_ids: tuple[str, ...]) -> np.ndarray:
    """Catalog row per id, -1 where unknown."""
    get, db = txn.get, snapshot.item_db
    values = b"".join([get(item_id.encode("utf-8"), _UNKNOWN_ROW, db=db) for item_id in item_ids])
    return np.frombuffer(values, dtype=ROW_DTYPE).astype(np.int64)


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


@dataclass(frozen=True, slots=True)
class _Personal:
    vector: np.ndarray | None = None
    sources: tuple[str, ...] = ()
    seen: tuple[np.ndarray, ...] = ()  # rows to exclude: purchased ever, touched this session


def _personal(snapshot: Snapshot, txn: lmdb.Transaction, query: Query) -> _Personal:
    """The shopper's query vector and seen rows; nothing when unknown or without consent."""
    record = txn.get(query.user_id.encode("utf-8"), db=snapshot.profile_db) if query.user_id else None
    profile = unpack_profile(bytes(record)) if record is not None else None
    if profile is not None and not profile.consent:
        return _Personal()
    session_rows = lookup_rows(snapshot, txn, tuple(e.item_id for e in query.session))
    session = _session_vector(snapshot, session_rows, [e.kind for e in query.session])
    user = profile.vector if profile is not None and len(profile.vector) else None
    seen = (session_rows, profile.purchased) if profile is not None else (session_rows,)
    if user is not None and session is not None:
        blended = _normalize(_SESSION_SHARE * session + (1 - _SESSION_SHARE) * user)
        return _Personal(blended, ("session_similar", "user_affinity"), seen)
    if session is not None:
        return _Personal(session, ("session_similar",), seen)
    if user is not None:
        return _Personal(user, ("user_affinity",), seen)
    return _Personal(seen=seen)


def gather_signals(snapshot: Snapshot, query: Query) -> Signals:
    with snapshot.env.begin(buffers=False) as txn:
        personal = _personal(snapshot, txn, query)
        anchor = lookup_rows(snapshot, txn, (query.anchor_item_id,))[0] if query.anchor_item_id else -1
        candidates = lookup_rows(snapshot, txn, query.candidate_ids)
    vector, sources = personal.vector, personal.sources
    exclude = [np.asarray(rows, dtype=np.int64) for rows in personal.seen if len(rows)]
    if anchor >= 0:
        anchor_vec = np.asarray(snapshot.vectors[anchor], dtype=np.float32)
        vector = anchor_vec if vector is None else _normalize(_ANCHOR_SHARE * anchor_vec + (1 - _ANCHOR_SHARE) * vector)
        sources = ("anchor_similar",) + sources
        exclude.append(np.array([anchor]))
    rows = np.unique(np.concatenate(exclude)) if exclude else np.zeros(0, dtype=np.int64)
    vec = None if vector is None else np.ascontiguousarray(vector, dtype=np.float32)
    return Signals(vec, sources, rows[rows >= 0], candidates)
