"""The item-side models both the served version and the learned ranker's training cut are made of, from one
set of coded events: the item-item model (EASE neighbours), each item's successors, repurchase cycles and
distinct users. build.py learns them on every event; index_builder/ranker/ learns them again on the events
before its cut, so the features it trains on never saw the labels.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from index_builder.config import BuildConfig
from index_builder.inputs.coded import Events, training_rows
from index_builder.models import embeddings, item_item, repurchase, sequences

__all__ = ["trains", "interactions", "neighbors", "successor_arrays", "repurchase_arrays", "distinct_users"]


def trains(events: Events, consent: np.ndarray) -> np.ndarray:
    """Per event, whether it trains the co-occurrence models: a consenting user's, or an anonymous session's."""
    return events.anonymous | ((events.user >= 0) & consent[np.maximum(events.user, 0)])


def interactions(config: BuildConfig, events: Events, consent: np.ndarray, weights: np.ndarray,
                 n_items: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """The (rows x items) confidence matrix of the events that train (consenting users, then anonymous
    sessions) and the user code -> matrix row map (-1: none); raises nothing: an empty matrix has 0 rows."""
    train, rows, user_rows = training_rows(events, consent)
    n_rows = int(rows[train].max()) + 1 if train.any() else 0
    matrix = embeddings.interaction_matrix(rows[train], events.item[train],
                                           weights[events.kind[train]] * events.value[train],
                                           n_rows, n_items, alpha=config.als_alpha)
    return matrix, user_rows


def neighbors(config: BuildConfig, matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """The item-item model's neighbour rows and weights ([items, k]; k = 0 for catalogs over ease_max_items)."""
    return item_item.ease_neighbors(matrix, lam=config.ease_lambda, k=config.item_neighbors,
                                    max_items=config.ease_max_items)


def successor_arrays(config: BuildConfig, events: Events, consent: np.ndarray, n_items: int, *,
                     with_item_item: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each item's successors in the sequences of the events that train: a consenting user's events, and an
    anonymous session's (index_builder/models/sequences.py). None (k = 0, no pass over the events) without an
    item-item model: the server adds them to its scores only."""
    k = config.successor_neighbors if with_item_item else 0
    training = trains(events, consent) if k else np.zeros(len(events.item), dtype=bool)
    # One code per sequence: users keep their codes, anonymous sessions follow them.
    sequence = np.where(events.anonymous[training], events.session[training].astype(np.int64) + len(consent),
                        events.user[training])
    return sequences.successors(
        sequence, events.item[training], events.ts[training], n_items, window=config.successor_window,
        decay=config.successor_decay, popularity_exponent=config.successor_popularity, k=k)


def repurchase_arrays(config: BuildConfig, user: np.ndarray, item: np.ndarray, ts_ms: np.ndarray,
                      purchase: np.ndarray, category: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per item: (shrunk repurchase rate, cycle in days) from known users' events (index_builder/models/
    repurchase.py)."""
    return repurchase.repurchase_cycles(
        user[purchase], item[purchase], ts_ms[purchase] // 1000, category,
        min_gap_days=config.repurchase_min_gap_days, min_buyers=config.repurchase_min_buyers)


def distinct_users(user: np.ndarray, item: np.ndarray, n_items: int) -> np.ndarray:
    """int32 per item: how many distinct users touched it."""
    if not len(user):
        return np.zeros(n_items, dtype=np.int32)
    pairs = np.unique(user.astype(np.int64) * n_items + item)
    return np.bincount(pairs % n_items, minlength=n_items).astype(np.int32)

