"""The learned ranker's question, asked the same way by the builder (on a shopper's log before a cut) and by the
server (on a request): which candidates, found by which generator, with which feature rows.

  pool          the union of the generators over one shopper — the item-item model's best (history and session
                seeds), the successors of their newest items, their own items (most touched, then most recent)
                and the popular list — each row once, with a bit per
                generator that found it (SOURCES) and its FEATURES row (protos/ranker/features.py); a purchase
                that may not be bought again yet (`not_due`) is no candidate, in training as when served
  features_of   the FEATURES rows of given candidates (Rerank's, from the request)
  history_of    a shopper's History from the profile record's arrays (recent items with their touches and last
                touch, purchased items with their purchase counts and last purchase), before `now`

`ItemModel` is the item arrays the generators read, by the artifact's names. `GENERATORS` fixes the generators'
sizes and seed weights: part of the feature table's contract (FEATURES_VERSION), so not a setting. Each call is a
fixed number of array operations over the catalog and the candidates: no Python loop per candidate or item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protos.ranker import generators
from protos.ranker.features import History, ItemFacts, feature_matrix

__all__ = ["GENERATORS", "Generators", "ItemModel", "Pool", "SOURCES", "SOURCE_ITEM_ITEM", "SOURCE_SUCCESSORS",
           "SOURCE_OWN", "SOURCE_POPULAR", "pool", "not_due", "features_of", "history_of"]

SOURCE_ITEM_ITEM, SOURCE_SUCCESSORS, SOURCE_OWN, SOURCE_POPULAR = 1, 2, 4, 8
SOURCES = {"item_item": SOURCE_ITEM_ITEM, "successors": SOURCE_SUCCESSORS, "own": SOURCE_OWN,
           "popular": SOURCE_POPULAR}
_NO_ROWS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Generators:
    """How many rows each generator adds to a pool, and the item-item seeds' weights (generators.seeds)."""

    item_item: int = 100
    successors: int = 50
    own: int = 100
    popular: int = 50
    history_floor: float = 0.5
    history_recency: float = 0.97
    successor_weight: float = 0.25
    successor_items: int = 20
    successor_recency: float = 0.9
    # A purchase is a candidate again only once it may be bought again (generators.due, an item without a
    # learned cycle counting as due): at least due_min_rate of its buyers bought it again and due_share of its
    # cycle has passed since this shopper bought it. A durable never comes back right after it was bought.
    due_min_rate: float = 0.1
    due_share: float = 0.5


GENERATORS = Generators()


@dataclass(frozen=True)
class ItemModel:
    """The item arrays the generators and features read (artifact names; successors [items, 0] when none)."""

    neighbors: np.ndarray
    neighbor_weights: np.ndarray
    successors: np.ndarray
    successor_weights: np.ndarray
    popular_rows: np.ndarray
    facts: ItemFacts

    @property
    def n_items(self) -> int:
        return len(self.facts.category)


@dataclass(frozen=True)
class Pool:
    """One shopper's candidates: catalog rows, the generators that found each (SOURCES bits) and their
    FEATURES rows (float32 [rows, FEATURES])."""

    rows: np.ndarray
    sources: np.ndarray
    features: np.ndarray


def history_of(recent: np.ndarray, touches: np.ndarray, recent_at: np.ndarray, purchased: np.ndarray,
               purchased_at: np.ndarray, purchase_counts: np.ndarray, now_ms: int) -> History:
    """The History the features read: every item in `recent` (oldest first, with its events and last touch in
    epoch seconds) or `purchased` (its purchase events and last purchase, epoch seconds), once, touched before
    `now_ms`. A purchased item beyond the recent list counts its purchases as its events."""
    recent = np.asarray(recent, dtype=np.int64)
    purchased = np.asarray(purchased, dtype=np.int64)
    at_bought = generators.positions(purchased, recent)
    extra = ~_member(purchased, recent)
    rows = np.concatenate([recent, purchased[extra]])
    bought_counts = np.asarray(purchase_counts, dtype=np.float64)
    purchases = np.concatenate([np.where(at_bought >= 0, bought_counts[np.maximum(at_bought, 0)]
                                         if len(purchased) else 0.0, 0.0), bought_counts[extra]])
    events = np.concatenate([np.asarray(touches, dtype=np.float64), bought_counts[extra]])
    seconds = np.concatenate([np.asarray(recent_at, dtype=np.int64), np.asarray(purchased_at, dtype=np.int64)[extra]])
    if len(purchased):  # a purchase later than the recent list's last touch (a record made by hand) counts
        seconds[:len(recent)] = np.maximum(seconds[:len(recent)], np.where(
            at_bought >= 0, np.asarray(purchased_at, dtype=np.int64)[np.maximum(at_bought, 0)], 0))
    last_ms = seconds * 1000
    bought_ms = np.concatenate([np.where(at_bought >= 0, np.asarray(purchased_at, dtype=np.int64)[
        np.maximum(at_bought, 0)] if len(purchased) else 0, 0), np.asarray(purchased_at, dtype=np.int64)[extra]]) * 1000
    before = last_ms < now_ms
    return History(rows[before], events[before], purchases[before], last_ms[before], bought_ms[before])


def _member(values: np.ndarray, of: np.ndarray) -> np.ndarray:
    return generators.positions(of, values) >= 0 if len(of) else np.zeros(len(values), dtype=bool)


def _seeds(history: History, session_rows: np.ndarray, session_weights: np.ndarray,
           g: Generators) -> tuple[np.ndarray, np.ndarray]:
    """Item-item seeds: the history oldest first (by last touch), then the session's rows."""
    oldest_first = np.argsort(history.last_ms, kind="stable")
    rows, weights, _ = generators.seeds(history.rows[oldest_first], history.events[oldest_first], session_rows,
                                        np.asarray(session_weights, dtype=np.float32), g.history_floor,
                                        g.history_recency)
    return rows, weights


def _dense(model: ItemModel, seeds: tuple[np.ndarray, np.ndarray],
           g: Generators) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Per catalog item: the item-item score (with successors), the flat item-item score, the successor score;
    None where the version has no such model or the shopper no seeds (no array the catalog's size is made)."""
    rows, weights = seeds
    has_ii, has_succ = model.neighbors.shape[1] > 0 and len(rows) > 0, model.successors.shape[1] > 0 and len(rows) > 0
    ii = generators.item_item_scores(
        model.neighbors, model.neighbor_weights, rows, weights, model.n_items, successors=model.successors,
        successor_weights=model.successor_weights, successor_weight=g.successor_weight,
        successor_items=g.successor_items, successor_recency=g.successor_recency) if has_ii else None
    flat = generators.flat_item_item_scores(model.neighbors, model.neighbor_weights, rows, model.n_items) \
        if has_ii else None
    succ = generators.successor_scores(model.successors, model.successor_weights, rows, model.n_items,
                                       g.successor_items, g.successor_recency) if has_succ else None
    return ii, flat, succ


def _best(scores: np.ndarray | None, limit: int) -> np.ndarray:
    """The rows of the `limit` highest positive scores, best first (ties: lower row first). The shopper's own items
    count: looking only beyond them measured worse (docs/ranker.md: MovieLens time 0.307 -> 0.285)."""
    if scores is None:
        return _NO_ROWS
    positive = np.flatnonzero(scores > 0)
    if len(positive) > limit:
        positive = positive[np.argpartition(-scores[positive], limit - 1)[:limit]]
    return positive[np.lexsort((positive, -scores[positive]))]


def _columns(rows: np.ndarray, dense: tuple[np.ndarray | None, ...], ii_best: np.ndarray) -> dict[str, np.ndarray]:
    """The generator columns (features.GENERATOR_FEATURES) of the candidate rows; a missing one is all NaN."""
    ii, flat, succ = dense

    def found(values: np.ndarray) -> np.ndarray:
        at = values[rows]
        return np.where(at != 0, at, np.nan).astype(np.float32)

    columns = {name: found(values) for name, values in (("ii_score", ii), ("succ_score", succ), ("ii_flat", flat))
               if values is not None}
    if ii is not None:
        columns["ii_rank"] = generators.aligned(rows, ii_best, ii[ii_best])[1]
    return columns


def not_due(model: ItemModel, history: History, now_ms: int, g: Generators = GENERATORS) -> np.ndarray:
    """The shopper's purchases that may not be bought again yet (Generators.due_min_rate, due_share)."""
    if history.bought_ms is None:
        return _NO_ROWS
    bought = history.purchases > 0
    rows = history.rows[bought].astype(np.int64)
    due = generators.due(model.facts.repurchase_rate[rows], model.facts.cycle_days[rows],
                         history.bought_ms[bought] // 1000, now_ms / 1000, g.due_min_rate, g.due_share,
                         without_cycle=True)
    return rows[~due]


def pool(model: ItemModel, history: History, now_ms: int, session: tuple[np.ndarray, np.ndarray] | None = None,
         g: Generators = GENERATORS) -> Pool:
    """The shopper's candidates (module docstring), in generator order: item-item, successors, own, popular; a
    purchase not yet due again (`not_due`) is none of them."""
    session_rows, session_weights = session if session is not None else (_NO_ROWS, np.zeros(0, np.float32))
    dense = _dense(model, _seeds(history, session_rows, session_weights, g), g)
    ii_best = _best(dense[0], g.item_item)
    found = [ii_best, _best(dense[2], g.successors), _own(history, g.own),
             np.asarray(model.popular_rows[:g.popular], dtype=np.int64)]
    every = np.concatenate(found)
    bits = np.concatenate([np.full(len(rows), bit, dtype=np.uint8)
                           for rows, bit in zip(found, SOURCES.values(), strict=True)])
    waiting = not_due(model, history, now_ms, g)
    if len(waiting):
        allowed = ~_member(every, waiting)
        every, bits = every[allowed], bits[allowed]
    distinct, first, inverse = np.unique(every, return_index=True, return_inverse=True)
    sources = np.zeros(len(distinct), dtype=np.uint8)
    np.bitwise_or.at(sources, inverse, bits)
    order = np.argsort(first, kind="stable")
    rows = distinct[order]
    return Pool(rows, sources[order], feature_matrix(rows, _columns(rows, dense, ii_best), history, model.facts,
                                                     now_ms))


def features_of(model: ItemModel, history: History, rows: np.ndarray, now_ms: int,
                session: tuple[np.ndarray, np.ndarray] | None = None, g: Generators = GENERATORS) -> np.ndarray:
    """float32 [rows, FEATURES]: the feature rows of the given candidate catalog rows (all >= 0)."""
    session_rows, session_weights = session if session is not None else (_NO_ROWS, np.zeros(0, np.float32))
    dense = _dense(model, _seeds(history, session_rows, session_weights, g), g)
    rows = np.asarray(rows, dtype=np.int64)
    ii_best = _best(dense[0], g.item_item)
    return feature_matrix(rows, _columns(rows, dense, ii_best), history, model.facts, now_ms)


def _own(history: History, limit: int) -> np.ndarray:
    """The shopper's own items, most touched first, then most recently."""
    order = np.lexsort((-history.last_ms, -history.events))[:limit]
    return history.rows[order].astype(np.int64)

