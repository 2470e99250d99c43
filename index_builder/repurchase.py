"""Repurchase cycles: per item, how often its buyers buy it again, and after how many days.

A user's purchases of one item closer together than `min_gap_days` (a basket split over two
orders, a quantity bought in two clicks) are one purchase occasion. Per item:

  rate  share of its buyers with two occasions or more (0 for an item nobody bought)
  days  median days between consecutive occasions of its repeat buyers, pooled; 0 when fewer
        than `min_buyers` users bought it again (no cycle is trusted from one or two people)

Everything is one sort of the (user, item, time) purchase triples and segment arithmetic over
it: no Python loop per user or item.
"""

from __future__ import annotations

import numpy as np

__all__ = ["repurchase_cycles"]

_DAY_S = 86_400.0


def repurchase_cycles(user: np.ndarray, item: np.ndarray, ts_s: np.ndarray, n_items: int, *,
                      min_gap_days: float, min_buyers: int) -> tuple[np.ndarray, np.ndarray]:
    """(rate float32[n_items], days float32[n_items]) from purchase events (user code, item row, epoch s)."""
    rate = np.zeros(n_items, dtype=np.float32)
    days = np.zeros(n_items, dtype=np.float32)
    if len(user) == 0:
        return rate, days
    key = (user.astype(np.int64) << 32) | item.astype(np.int64)
    order = np.lexsort((ts_s, key))
    key, ts = key[order], ts_s[order].astype(np.int64)
    same_pair = key[1:] == key[:-1]
    occasion = np.ones(len(key), dtype=bool)
    occasion[1:] = ~same_pair | (np.diff(ts) >= min_gap_days * _DAY_S)
    key, ts = key[occasion], ts[occasion]
    pair_item = (key & 0xFFFFFFFF).astype(np.int64)
    again = key[1:] == key[:-1]  # occasion i + 1 repeats occasion i's pair
    first = np.ones(len(key), dtype=bool)
    first[1:] = ~again
    buyers = np.bincount(pair_item[first], minlength=n_items)
    # A pair's second occasion marks its user as a repeat buyer of the item.
    second = np.zeros(len(key), dtype=bool)
    second[1:] = again & first[:-1]
    repeat = np.bincount(pair_item[second], minlength=n_items)
    np.divide(repeat, buyers, out=rate, where=buyers > 0, casting="unsafe")
    gaps = np.diff(ts)[again] / _DAY_S
    days[:] = _median_per_group(pair_item[1:][again], gaps, n_items)
    days[repeat < max(min_buyers, 1)] = 0.0
    return rate, days


def _median_per_group(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of `values` per group code (0 for an empty group): one lexsort, two gathers."""
    out = np.zeros(n_groups)
    if len(group) == 0:
        return out
    order = np.lexsort((values, group))
    g, v = group[order], values[order]
    bounds = np.searchsorted(g, np.arange(n_groups + 1))
    lo, counts = bounds[:-1], np.diff(bounds)
    has = counts > 0
    low = v[np.minimum(lo + (counts - 1) // 2, len(v) - 1)]
    high = v[np.minimum(lo + counts // 2, len(v) - 1)]
    out[has] = (low[has] + high[has]) / 2
    return out
