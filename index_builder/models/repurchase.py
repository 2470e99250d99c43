"""Repurchase cycles: per item, how often its buyers buy it again, and after how many days.

A user's purchases of one item closer together than `min_gap_days` (a basket split over two
orders, a quantity bought in two clicks) are one purchase occasion. Per item:

  rate  share of its buyers with two occasions or more, shrunk toward its category's pooled
        share (empirical Bayes, a Beta prior of strength PRIOR_BUYERS):
        rate = (repeat + m * category_rate) / (buyers + m); 0 for an item nobody bought.
        m is a fixed pseudo-count of 10 buyers: one or two rebuyers of a bicycle nobody else
        rebuys are noise, while a coffee with dozens of buyers keeps its own rate. A fixed m
        (rather than a method-of-moments fit) is stable on categories with few bought items.
  days  median days between consecutive occasions of its repeat buyers, pooled; 0 when fewer
        than `min_buyers` users bought it again (no cycle is trusted from one or two people)

Everything is one sort of the (user, item, time) purchase triples and segment arithmetic over
it: no Python loop per user or item.
"""

from __future__ import annotations

import numpy as np

__all__ = ["repurchase_cycles"]

_DAY_S = 86_400.0
PRIOR_BUYERS = 20.0  # m, the Beta prior's strength in pseudo-buyers (see the module docstring)


def repurchase_cycles(user: np.ndarray, item: np.ndarray, ts_s: np.ndarray, category: np.ndarray, *,
                      min_gap_days: float, min_buyers: int) -> tuple[np.ndarray, np.ndarray]:
    """(rate float32[n_items], days float32[n_items]) from purchase events (user code, item row, epoch s);
    `category` is each item row's category code (n_items = its length)."""
    n_items = len(category)
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
    rate[:] = _shrunk_rates(repeat, buyers, category.astype(np.int64))
    gaps = np.diff(ts)[again] / _DAY_S
    days[:] = _median_per_group(pair_item[1:][again], gaps, n_items)
    days[repeat < max(min_buyers, 1)] = 0.0
    return rate, days


def _shrunk_rates(repeat: np.ndarray, buyers: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Each item's repeat share shrunk toward its category's pooled share (0 where nobody bought)."""
    n_cat = int(category.max()) + 1 if len(category) else 0
    cat_repeat = np.bincount(category, weights=repeat, minlength=n_cat)
    cat_buyers = np.bincount(category, weights=buyers, minlength=n_cat)
    cat_rate = np.divide(cat_repeat, cat_buyers, out=np.zeros(n_cat), where=cat_buyers > 0)
    shrunk = (repeat + PRIOR_BUYERS * cat_rate[category]) / (buyers + PRIOR_BUYERS)
    return np.where(buyers > 0, shrunk, 0.0)


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
