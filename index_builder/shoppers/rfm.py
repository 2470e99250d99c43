"""RFM: per user, how recently, how often and how much they bought, as 1-5 scores and a named segment.

Inputs are parallel arrays over purchase events (one row per order line). Only purchases in the
window `reference - window_days < ts <= reference` count: the window ends at the reference date,
so a build replayed at an older reference date sees exactly what the store saw then, and events
stamped after the reference are ignored.

  recency    days from the last purchase in the window to the reference (fractional)
  frequency  distinct orders in the window (an order is a session or order id, as codes)
  monetary   the sum of the lines' amounts; a negative amount (a refund, a correction) or a
             non-finite one counts as 0, so a return never makes a customer's spend negative: net
             returns upstream if wanted

Scores rank each value among the buyers (users with a purchase in the window): quintiles, 5 best,
ties always scored alike (see `quintile_edges`). The segment is a lookup in one 6 x 6 table by
(R, FM), FM being the F and M scores' mean rounded half up; users without a purchase in the window
are "browsers". The table is written out in docs/segments.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protos import artifact

__all__ = ["RfmValues", "rfm_values", "quintile_edges", "quintile_scores", "SEGMENTS", "SEGMENT_TABLE",
           "segment_codes", "RfmScores", "score_rfm", "NO_RECENCY"]

_DAY_MS = 86_400_000
NO_RECENCY = -1.0  # recency_days of a user without a purchase in the window (never NaN)


@dataclass(frozen=True)
class RfmValues:
    """Per user code (arrays of length n_users); `buyer` marks users with a purchase in the window."""

    buyer: np.ndarray  # bool
    recency_days: np.ndarray  # float32, NO_RECENCY for non-buyers
    frequency: np.ndarray  # int32, distinct orders
    monetary_total: np.ndarray  # float64
    monetary_avg: np.ndarray  # float64, total / frequency; 0 for non-buyers
    last_purchase_ms: np.ndarray  # int64, 0 for non-buyers


def rfm_values(user: np.ndarray, order: np.ndarray, ts_ms: np.ndarray, amount: np.ndarray, n_users: int, *,
               reference_ms: int, window_days: float) -> RfmValues:
    """RFM values of purchase lines (user code, order code, epoch ms, amount) in the window ending at reference_ms."""
    keep = (ts_ms <= reference_ms) & (ts_ms > reference_ms - window_days * _DAY_MS)
    user, order, ts = user[keep].astype(np.int64), order[keep].astype(np.int64), ts_ms[keep].astype(np.int64)
    paid = amount[keep].astype(np.float64)
    paid = np.where(np.isfinite(paid) & (paid > 0), paid, 0.0)
    frequency = _distinct_per_user(user, order, n_users).astype(np.int32)
    buyer = frequency > 0
    last = np.full(n_users, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, user, ts)
    last[~buyer] = 0
    recency = np.full(n_users, NO_RECENCY, dtype=np.float32)
    recency[buyer] = (reference_ms - last[buyer]) / _DAY_MS
    total = np.bincount(user, weights=paid, minlength=n_users)
    avg = np.zeros(n_users)
    np.divide(total, frequency, out=avg, where=buyer)
    return RfmValues(buyer=buyer, recency_days=recency, frequency=frequency, monetary_total=total,
                     monetary_avg=avg, last_purchase_ms=last)


def _distinct_per_user(user: np.ndarray, value: np.ndarray, n_users: int) -> np.ndarray:
    """Number of distinct `value`s per user code: one lexsort, then count the (user, value) changes."""
    order = np.lexsort((value, user))
    u, v = user[order], value[order]
    new = np.ones(len(u), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return np.bincount(u[new], minlength=n_users)


def quintile_edges(values: np.ndarray, mask: np.ndarray, *, higher_is_better: bool) -> np.ndarray:
    """The 4 thresholds of scores 2..5 over `values[mask]`: float64[4], zeros when the mask is empty.

    A value's score is 1 + floor(5 * k / n), k the number of the n masked values strictly worse than
    it (the rank of its first occurrence in sorted order). Equal values always get equal scores, and
    a tie block straddling a quintile edge takes the lower score: if 70% of buyers ordered once, they
    all have F = 1. Equivalently, score >= s exactly when the value is strictly better than edge s - 2
    (edges[s - 2] = the ceil((s - 1) n / 5)-th worst value), so `1 + number of edges beaten` is the
    score and a report can print "F >= 4 means more than edges[2] orders". A score of 5 needs
    ceil(4n / 5) values strictly worse, so with fewer than 5 buyers nobody scores 5 (three distinct
    values score 1, 2, 4), and when all values are equal everybody scores 1.
    """
    scored = np.sort(values[mask].astype(np.float64))
    if not higher_is_better:
        scored = scored[::-1]
    n = len(scored)
    if n == 0:
        return np.zeros(4)
    worse_needed = -((-np.arange(1, 5) * n) // 5)  # ceil(s * n / 5) for s = 1..4, each >= 1
    return scored[worse_needed - 1]


def quintile_scores(values: np.ndarray, mask: np.ndarray, *, higher_is_better: bool) -> np.ndarray:
    """uint8 scores 1..5 of `values` among the users in `mask` (0 outside it); ties as in `quintile_edges`."""
    edges = quintile_edges(values, mask, higher_is_better=higher_is_better)
    return _scores(values, mask, edges, higher_is_better=higher_is_better)


def _scores(values: np.ndarray, mask: np.ndarray, edges: np.ndarray, *, higher_is_better: bool) -> np.ndarray:
    """1 + the number of edges each value is strictly better than, 0 outside the mask."""
    v = values.astype(np.float64)
    if higher_is_better:
        beaten = np.searchsorted(edges, v, side="left")
    else:
        beaten = len(edges) - np.searchsorted(edges[::-1], v, side="right")
    return np.where(mask, 1 + beaten, 0).astype(np.uint8)


# The names are part of the disk contract (profile facts store the code).
SEGMENTS = artifact.SEGMENTS
_B, _CH, _LO, _PL, _NE, _PR, _NA, _AS, _AR, _CL, _HI, _LS = range(len(SEGMENTS))

# SEGMENT_TABLE[r, fm] -> index into SEGMENTS; row and column 0 (not scored) are browsers.
SEGMENT_TABLE = np.array([
    #   fm: 0    1    2    3    4    5
    [_B, _B, _B, _B, _B, _B],  # r = 0
    [_B, _LS, _HI, _AR, _CL, _CL],  # r = 1
    [_B, _AS, _NA, _NA, _AR, _AR],  # r = 2
    [_B, _PR, _NA, _PL, _LO, _LO],  # r = 3
    [_B, _PR, _PL, _PL, _LO, _CH],  # r = 4
    [_B, _NE, _PL, _LO, _CH, _CH],  # r = 5
], dtype=np.uint8)


def segment_codes(r: np.ndarray, f: np.ndarray, m: np.ndarray, buyer: np.ndarray) -> np.ndarray:
    """uint8 index into SEGMENTS per user: SEGMENT_TABLE[r, fm] with fm = round-half-up((f + m) / 2).

    Users outside `buyer` are browsers whatever their scores.
    """
    fm = (f.astype(np.int64) + m.astype(np.int64) + 1) // 2
    return np.where(buyer, SEGMENT_TABLE[r.astype(np.int64), fm], _B).astype(np.uint8)


@dataclass(frozen=True)
class RfmScores:
    """Per user: uint8 scores (0 for non-buyers) and segment codes; the edges each score was cut at."""

    r: np.ndarray
    f: np.ndarray
    m: np.ndarray
    segment: np.ndarray
    r_edges: np.ndarray  # days: R >= s when recency_days < r_edges[s - 2]
    f_edges: np.ndarray  # orders: F >= s when frequency > f_edges[s - 2]
    m_edges: np.ndarray  # money: M >= s when monetary_total > m_edges[s - 2]


def score_rfm(values: RfmValues) -> RfmScores:
    """Quintile scores among the buyers (R on recency, F on orders, M on total spend) and their segments."""
    scored = {}
    for name, column, higher in (("r", values.recency_days, False), ("f", values.frequency, True),
                                 ("m", values.monetary_total, True)):
        edges = quintile_edges(column, values.buyer, higher_is_better=higher)
        scored[name] = _scores(column, values.buyer, edges, higher_is_better=higher)
        scored[f"{name}_edges"] = edges
    segment = segment_codes(scored["r"], scored["f"], scored["m"], values.buyer)
    return RfmScores(segment=segment, **scored)
