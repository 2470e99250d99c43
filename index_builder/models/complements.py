"""Complements: items bought together and viewed together in one session (an order, a visit).

For one event kind (purchase: "bought together"; view: "viewed together") every session becomes a
row of a binary session x item matrix X over its distinct items; XᵀX counts, for each pair of items,
the sessions holding both (its diagonal: the sessions holding each item). Only sparse products, no
Python loop per session or item. A session contributes at most `max_session_items` distinct items
(its first ones in time): a bot or a shopper who views hundreds of items in one visit would add
hundreds² pairs of little meaning.

The strength of a pair is the cosine (Ochiai coefficient) of the two items' session sets,
count(i, j) / sqrt(count(i) x count(j)), kept where count(i, j) >= `min_support` sessions. Why
cosine: the raw count favours items popular everywhere (every basket holds the bestseller), and
the conditional probability P(j | i) = count(i, j) / count(i) does too; lift and PMI correct for
popularity but explode for rare items (two items seen once, together, get the largest lift of all).
The cosine is symmetric, bounded to [0, 1] (1 = always bought together), penalises a popular
partner by the square root of its count, and the minimum support keeps one-off coincidences out.

Each item keeps its `k` strongest partners as two [items, k] arrays: rows (int32, -1 padded, best
first) and weights (float32, 0 where padded).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

__all__ = ["co_occurrence", "top_partners", "strongest", "complements"]

log = logging.getLogger(__name__)


def _session_items(session: np.ndarray, item: np.ndarray, ts: np.ndarray,
                   max_session_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (session, item) pairs: each session's first `max_session_items` distinct items in time,
    for sessions with at least two of them. Returns (session code, item row) arrays."""
    order = np.lexsort((ts, item, session))
    s, i = session[order], item[order]
    first = np.ones(len(s), dtype=bool)
    first[1:] = (s[1:] != s[:-1]) | (i[1:] != i[:-1])  # the earliest event of each (session, item)
    s, i, t = s[first], i[first], ts[order][first]
    order = np.lexsort((i, t, s))  # within a session: in time order
    s, i = s[order], i[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.zeros(0, dtype=np.int64)
    sizes = np.diff(np.r_[starts, len(s)])
    rank = np.arange(len(s)) - np.repeat(starts, sizes)
    keep = (rank < max_session_items) & (np.repeat(sizes, sizes) >= 2)
    return s[keep], i[keep]


def co_occurrence(session: np.ndarray, item: np.ndarray, ts: np.ndarray, n_items: int, *,
                  max_session_items: int = 50) -> sp.csr_matrix:
    """Items x items sessions-in-common counts (int64 CSR; diagonal = sessions holding each item) of the
    events (session code, item row, time) of one kind, each session capped at `max_session_items`."""
    s, i = _session_items(session, item, ts, max_session_items)
    _, rows = np.unique(s, return_inverse=True)
    n_sessions = int(rows.max()) + 1 if len(rows) else 0
    x = sp.csr_matrix((np.ones(len(i), dtype=np.int64), (rows.ravel(), i)), shape=(n_sessions, n_items))
    return (x.T @ x).tocsr()


def top_partners(counts: sp.csr_matrix, *, k: int, min_support: int) -> tuple[np.ndarray, np.ndarray]:
    """Each item's k strongest partners by cosine of session sets (module docstring), among pairs seen
    in at least `min_support` sessions: (rows int32 [items, k], -1 padded; weights float32 [items, k])."""
    n_items = counts.shape[0]
    rows = np.full((n_items, k), -1, dtype=np.int32)
    weights = np.zeros((n_items, k), dtype=np.float32)
    if k == 0 or counts.nnz == 0:
        return rows, weights
    support = counts.diagonal().astype(np.float64)
    coo = counts.tocoo()
    keep = (coo.row != coo.col) & (coo.data >= min_support)
    a, b, together = coo.row[keep], coo.col[keep], coo.data[keep].astype(np.float64)
    return strongest(a, b, together / np.sqrt(support[a] * support[b]), n_items, k)


def strongest(a: np.ndarray, b: np.ndarray, strength: np.ndarray, n_items: int,
              k: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (a -> b, strength) as each item a's k strongest partners b: (rows int32 [items, k], best
    first, -1 padded; weights float32 [items, k], 0 where padded). Ties go to the lower row."""
    rows = np.full((n_items, k), -1, dtype=np.int32)
    weights = np.zeros((n_items, k), dtype=np.float32)
    order = np.lexsort((b, -strength, a))  # per item: strongest first, ties by row
    a, b, strength = a[order], b[order], strength[order]
    starts = np.searchsorted(a, np.arange(n_items))
    rank = np.arange(len(a)) - starts[a]
    top = rank < k
    rows[a[top], rank[top]] = b[top]
    weights[a[top], rank[top]] = strength[top]
    return rows, weights


def complements(session: np.ndarray, item: np.ndarray, ts: np.ndarray, n_items: int, *, k: int,
                min_support: int, max_session_items: int = 50, label: str = "") -> tuple[np.ndarray, np.ndarray]:
    """`top_partners` of the `co_occurrence` of one kind of events; logs what it learned."""
    started = time.perf_counter()
    counts = co_occurrence(session, item, ts, n_items, max_session_items=max_session_items)
    rows, weights = top_partners(counts, k=k, min_support=min_support)
    log.info("complements_done kind=%s items_with_partners=%d pairs=%d seconds=%.2f", label,
             int((rows[:, :1] >= 0).sum()), int((rows >= 0).sum()), time.perf_counter() - started)
    return rows, weights
