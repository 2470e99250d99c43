"""Candidate generators over plain arrays, shared by the server (which serves them) and the builder (which trains
the learned ranker on them): the same function on both sides, so the scores a model was trained on are the scores
it is served.

  item_item_scores  every catalog item's score from the shopper's seed items (the item-item model's neighbour
                    weights, plus the successors of the newest seeds at a share of the model's scale)
  flat_item_item_scores  the same with every seed weighing 1 and no successors (the ii_flat column)
  successor_scores  every catalog item's successor score from the newest seeds
  seeds             the seed rows (history then session), their weights (history floor and recency) and how much
                    the shopper came back to each
  due, restocks_due the shopper's purchases that may be / are due to be bought again, by their repurchase cycle
  generated         a dense score array as a generator's output: (rows with a positive score best first, scores)
  aligned           a generator's output as per-candidate feature columns: score and 0-based rank, NaN where the
                    generator did not find the candidate (protos.ranker.features.GENERATOR_FEATURES)

Inputs are numpy arrays named as the artifact's item arrays (neighbors, neighbor_weights, successors,
successor_weights, repurchase_rate, repurchase_days) and scalars: no Snapshot, Catalog or RankingPolicy. Each
function is a fixed number of array operations: no Python loop per candidate or item.
"""

from __future__ import annotations

import numpy as np

__all__ = ["item_item_scores", "flat_item_item_scores", "successor_scores", "session_weights", "history_weights",
           "seeds", "cycles_since", "due", "restocks_due", "generated", "aligned", "positions"]

_DAY_S = 86_400.0


def item_item_scores(neighbors: np.ndarray, neighbor_weights: np.ndarray, seeds: np.ndarray,
                     seed_weights: np.ndarray, n_items: int, *, successors: np.ndarray | None = None,
                     successor_weights: np.ndarray | None = None, successor_weight: float = 0.0,
                     successor_items: int = 0, successor_recency: float = 1.0) -> np.ndarray:
    """float64 [n_items]: each item's item-item score, the weighted sum of its neighbour weights from the seed
    rows, plus successor_weight x the best of them x the successors of the newest seeds (`successor_scores`),
    scaled to a best of 1: where the history is heading, at a share of the model's own scale."""
    weights = neighbor_weights[seeds] * seed_weights[:, None]
    scores: np.ndarray = np.bincount(neighbors[seeds].ravel(), weights=weights.ravel(), minlength=n_items)
    if successor_weight > 0 and successors is not None and successor_weights is not None \
            and successors.shape[1] and len(seeds):
        following = successor_scores(successors, successor_weights, seeds, n_items, successor_items,
                                     successor_recency)
        top, best = float(following.max()), float(scores.max(initial=0.0))
        if top > 0:
            scores += following * (successor_weight * (best if best > 0 else 1.0) / top)
    return scores


def flat_item_item_scores(neighbors: np.ndarray, neighbor_weights: np.ndarray, seeds: np.ndarray,
                          n_items: int) -> np.ndarray:
    """float64 [n_items]: the item-item score with every seed weighing 1 and no successors (the ii_flat column):
    what the whole history points to, whatever its order."""
    return item_item_scores(neighbors, neighbor_weights, seeds, np.ones(len(seeds), dtype=np.float32), n_items)


def successor_scores(successors: np.ndarray, successor_weights: np.ndarray, seeds: np.ndarray, n_items: int,
                     items: int, recency: float) -> np.ndarray:
    """float64 [n_items]: the successor weights of the newest `items` seeds (the seeds run oldest first), each
    one step older weighing `recency` times less."""
    newest = seeds[-items:]
    age = np.arange(len(newest) - 1, -1, -1)
    weights = successor_weights[newest] * np.power(np.float32(recency), age)[:, None]
    # Padding (-1) weighs 0: counted at row 0, it adds nothing there.
    return np.bincount(np.maximum(successors[newest], 0).ravel(), weights=weights.ravel(), minlength=n_items)


def session_weights(types: np.ndarray, event_weights: np.ndarray, recency: float) -> np.ndarray:
    """Per session interaction (oldest first): its event type's weight times geometric recency (most recent = 1)."""
    return event_weights[types] * np.power(recency, np.arange(len(types))[::-1])


def history_weights(n: int, floor: float, recency: float) -> np.ndarray:
    """float32 [n]: the weight of each of the shopper's n recent items (oldest first) as a seed,
    floor + (1 - floor) x recency^age (the newest: 1)."""
    age = np.arange(n)[::-1]
    decay = np.power(np.float32(recency), age, dtype=np.float32)
    out: np.ndarray = np.float32(floor) + np.float32(1 - floor) * decay
    return out


def seeds(history_rows: np.ndarray | None, history_touches: np.ndarray | None, session_rows: np.ndarray,
          session_seed_weights: np.ndarray, floor: float, recency: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The item-item seeds: (rows, weights, revisits), the shopper's recent history (oldest first; None without a
    history) then the session's rows. A history row weighs `history_weights`; a session row its
    `session_seed_weights`. Revisits: a history row's touches over the shopper's most (0 for session rows)."""
    revisits = np.zeros(len(session_rows), dtype=np.float32)
    if history_rows is None or history_touches is None:
        return session_rows, session_seed_weights, revisits
    touches = history_touches.astype(np.float32)
    came_back = touches / max(float(touches.max(initial=0)), 1.0)
    return (np.concatenate([history_rows.astype(np.int64), session_rows]),
            np.concatenate([history_weights(len(history_rows), floor, recency), session_seed_weights]),
            np.concatenate([came_back, revisits]))


def cycles_since(cycle_days: np.ndarray, bought_at: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
    """Per purchased row (`cycle_days`: its learned cycle, 0 = none; `bought_at`: this shopper's last purchase,
    epoch s): the cycle as float64 and the cycles elapsed since (0 without a cycle)."""
    cycle = cycle_days.astype(np.float64)
    return cycle, np.maximum(now - bought_at, 0) / _DAY_S / np.where(cycle > 0, cycle, np.inf)


def _due(rate: np.ndarray, cycle: np.ndarray, cycles: np.ndarray, min_rate: float, due_share: float,
         without_cycle: bool) -> np.ndarray:
    timely = (cycles >= due_share) & (cycle > 0)
    return (rate >= min_rate) & (timely | (without_cycle & (cycle == 0)))


def due(rate: np.ndarray, cycle_days: np.ndarray, bought_at: np.ndarray, now: float, min_rate: float,
        due_share: float, *, without_cycle: bool = False) -> np.ndarray:
    """Per purchased row (its item's repurchase `rate` and `cycle_days`): may it be bought again now — its rate
    is at least `min_rate` and `due_share` of its cycle has passed since the shopper last bought it
    (`without_cycle`: an item too rarely rebought for a cycle to be learned counts as due)."""
    cycle, cycles = cycles_since(cycle_days, bought_at, now)
    return _due(rate, cycle, cycles, min_rate, due_share, without_cycle)


def restocks_due(repurchase_rate: np.ndarray, repurchase_days: np.ndarray, bought: np.ndarray,
                 bought_at: np.ndarray, now: float, min_rate: float, due_share: float, max_cycles: float,
                 allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The shopper's purchases (`bought` rows of the per-item `repurchase_rate`/`repurchase_days`) whose cycle is
    due, and how much each is: (rows, rate x timeliness), in purchase order.

    Due: the item has a learned cycle, a rate of at least `min_rate`, and between `due_share` and `max_cycles`
    cycles have passed since the last purchase; and `allowed` (per bought row; default all). Timeliness: cycles
    elapsed, or its inverse once overdue (1 on the due day)."""
    rows = bought.astype(np.int64)
    rate = repurchase_rate[rows].astype(np.float64)
    cycle, cycles = cycles_since(repurchase_days[rows], bought_at, now)
    now_due = _due(rate, cycle, cycles, min_rate, due_share, without_cycle=False) & (cycles <= max_cycles)
    if allowed is not None:
        now_due &= allowed
    return rows[now_due], rate[now_due] * np.minimum(cycles[now_due], 1.0 / cycles[now_due])


def generated(scores: np.ndarray, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A dense per-item score array as a generator's output: the rows with a positive score, best first (ties:
    lower row first), at most `limit`, and their scores."""
    rows = np.flatnonzero(scores > 0)
    best = rows[np.argsort(-scores[rows], kind="stable")[:limit]]
    return best, scores[best]


def aligned(rows: np.ndarray, found_rows: np.ndarray, found_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A generator's output (`found_rows` best first, distinct; `found_scores`) as two float32 columns over the
    candidate `rows`: each candidate's score and 0-based rank in it, NaN where the generator did not find it."""
    rows = np.asarray(rows, dtype=np.int64)
    found_rows = np.asarray(found_rows, dtype=np.int64)
    score = np.full(len(rows), np.nan, dtype=np.float32)
    rank = np.full(len(rows), np.nan, dtype=np.float32)
    position = positions(found_rows, rows)
    hit = position >= 0
    score[hit] = np.asarray(found_scores, dtype=np.float32)[position[hit]]
    rank[hit] = position[hit]
    return score, rank


def positions(distinct: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """int64 [len(rows)]: each of `rows`' index in `distinct` (distinct values, any order), -1 where absent."""
    distinct, rows = np.asarray(distinct, dtype=np.int64), np.asarray(rows, dtype=np.int64)
    if not len(distinct):
        return np.full(len(rows), -1, dtype=np.int64)
    order = np.argsort(distinct, kind="stable")
    at = np.minimum(np.searchsorted(distinct[order], rows), len(order) - 1)
    return np.where(distinct[order][at] == rows, order[at], -1)
