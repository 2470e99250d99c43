"""The learned ranker's feature table, version 1, and the one function that fills it.

A learned model is only valid with the exact features it was trained on, so their definitions are a contract
between the builder (which trains on the store's log cut at a time point) and the server (which scores a
request's candidates): both call `feature_matrix` on plain arrays, never a copy of it. The manifest records
`FEATURES_VERSION` and `FEATURES`; a model trained on another table is refused at load.

The table (one float32 column each; NaN = not known, which LightGBM routes as missing):

  ii_score         the item-item generator's score of the candidate (NaN: it did not find it)
  ii_rank          its 0-based rank in that generator's list (NaN: not found)
  succ_score       the successor generator's score (what shoppers touch soon after the seed items; NaN: not found)
  ii_flat          the item-item score with every seed item weighing the same (NaN: not found)
  own_count        the shopper's events on the candidate before now
  own_purchases    the shopper's purchases of it before now
  own_days_since   days since the shopper last touched it (NaN: never)
  cycles_since     own_days_since over the item's repurchase cycle in days (NaN: never touched, or no cycle)
  rep_rate         the item's (shrunk) repurchase rate
  pop_users_log    log(1 + distinct users of the item)
  user_events_log  log(1 + the shopper's events before now) — the same for every candidate of a request
  cat_count_share  the share of the shopper's events that fell in the candidate's category (0: none)
  cat_days_since   days since the shopper last touched the candidate's category (NaN: never)

Chosen by measurement (a LambdaMART spike on MovieLens 100K and the demo store, 2026-12-08: these 11 + the two
category columns kept all but ≤ 0.005 nDCG@10 of a 33-feature model; days since last touch and own count carry
repeat-purchase stores, the item-item scores carry MovieLens). Every column is an array operation over the
candidates: no Python loop per candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from protos.ranker.generators import positions

__all__ = ["FEATURES", "FEATURES_VERSION", "GENERATOR_FEATURES", "History", "ItemFacts", "feature_matrix"]

FEATURES_VERSION = 1
FEATURES = ("ii_score", "ii_rank", "succ_score", "ii_flat", "own_count", "own_purchases", "own_days_since",
            "cycles_since", "rep_rate", "pop_users_log", "user_events_log", "cat_count_share", "cat_days_since")
# Columns a candidate generator supplies, per candidate (NaN where it did not find the candidate).
GENERATOR_FEATURES = ("ii_score", "ii_rank", "succ_score", "ii_flat")
_DAY_MS = 86_400_000
_COLUMN = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class History:
    """One shopper's items before now: each distinct item row once, with its event and purchase counts, the
    last time they touched it and (`bought_ms`, None = not known) the last time they bought it (epoch ms; 0 for
    an item never bought)."""

    rows: np.ndarray  # int [h], distinct
    events: np.ndarray  # float [h]
    purchases: np.ndarray  # float [h]
    last_ms: np.ndarray  # int64 [h]
    bought_ms: np.ndarray | None = None  # int64 [h]


@dataclass(frozen=True)
class ItemFacts:
    """Per catalog row: category code, distinct users, shrunk repurchase rate, repurchase cycle (days, 0 =
    none)."""

    category: np.ndarray  # int [items], >= 0
    users: np.ndarray  # [items]
    repurchase_rate: np.ndarray  # [items]
    cycle_days: np.ndarray  # [items]


def feature_matrix(rows: np.ndarray, generated: Mapping[str, np.ndarray], history: History, items: ItemFacts,
                   now_ms: int) -> np.ndarray:
    """float32 [candidates x FEATURES]: the table's columns for the candidate catalog rows `rows`.

    `generated` gives each of GENERATOR_FEATURES per candidate (a missing name is all NaN). Only the history
    before `now_ms` may be passed: what the shopper does at or after it is the label, never a feature.
    """
    rows = np.asarray(rows, dtype=np.int64)
    out = np.full((len(rows), len(FEATURES)), np.nan, dtype=np.float32)
    for name in GENERATOR_FEATURES:
        if name in generated:
            values = np.asarray(generated[name], dtype=np.float32)
            if values.shape != rows.shape:
                raise ValueError(f"generated[{name!r}]: shape {values.shape}, expected {rows.shape}")
            out[:, _COLUMN[name]] = values
    if (history.last_ms >= now_ms).any():
        raise ValueError("history: an event at or after now (the label's period) would leak into the features")
    _own(out, rows, history, items, now_ms)
    _category(out, rows, history, items, now_ms)
    # Gather first, then convert: the item arrays are the mapped catalog (a conversion of one is catalog-sized).
    out[:, _COLUMN["rep_rate"]] = items.repurchase_rate[rows]
    out[:, _COLUMN["pop_users_log"]] = np.log1p(np.asarray(items.users[rows], dtype=np.float64))
    out[:, _COLUMN["user_events_log"]] = np.log1p(float(np.sum(history.events)))
    return out


def _own(out: np.ndarray, rows: np.ndarray, history: History, items: ItemFacts, now_ms: int) -> None:
    """The shopper's own history of each candidate item: counts, days since, cycles since."""
    position = positions(history.rows, rows)
    found, safe = position >= 0, np.maximum(position, 0)

    def pick(values: np.ndarray, empty: float) -> np.ndarray:
        return np.where(found, np.asarray(values, dtype=np.float64)[safe] if len(values) else empty, empty)

    out[:, _COLUMN["own_count"]] = pick(history.events, 0.0)
    out[:, _COLUMN["own_purchases"]] = pick(history.purchases, 0.0)
    days = (now_ms - pick(history.last_ms, np.nan)) / _DAY_MS
    out[:, _COLUMN["own_days_since"]] = days
    cycle = np.asarray(items.cycle_days[rows], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, _COLUMN["cycles_since"]] = np.where(cycle > 0, days / cycle, np.nan)


def _category(out: np.ndarray, rows: np.ndarray, history: History, items: ItemFacts, now_ms: int) -> None:
    """The share of the shopper's events in each candidate's category, and days since they last touched it (over
    the categories the shopper touched: nothing the catalog's size)."""
    categories, touched = np.unique(items.category[history.rows], return_inverse=True)
    weight = np.bincount(touched, weights=history.events, minlength=len(categories))
    total = float(weight.sum())
    last = np.full(len(categories), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, touched, np.asarray(history.last_ms, dtype=np.int64))
    at = positions(categories, items.category[rows])
    seen, safe = at >= 0, np.maximum(at, 0)
    if not len(categories):  # no history: no category touched
        out[:, _COLUMN["cat_count_share"]] = 0.0
        return
    out[:, _COLUMN["cat_count_share"]] = np.where(seen, weight[safe], 0.0) / total if total > 0 else 0.0
    out[:, _COLUMN["cat_days_since"]] = np.where(seen, (now_ms - last[safe].astype(np.float64)) / _DAY_MS, np.nan)
