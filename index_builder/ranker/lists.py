"""The learned ranker's training lists: for a sample of shoppers, their log cut in two (cut.py), the question of
protos/ranker asked on the part before the cut and graded with what they did after.

Nothing after the cut reaches a feature: the item models the generators and features read (item-item
neighbours, successors, repurchase cycles, distinct users, the popular list) are learned again on the events
without the sampled shoppers' after-cut parts, and each shopper's history is their events before the cut, kept
as the profile record keeps it (index_builder/shoppers/profiles.py: the newest recent_items distinct items with
their touches and last touch, every purchased item with its purchases and last purchase).

A label is the best event the shopper had on the candidate after the cut, graded by the event types' weights
(the lowest-weighted type 1, the next 2, ...; 0 = nothing): purchase > cart > view by default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
from tqdm import tqdm

from index_builder.config import BuildConfig
from index_builder.inputs import tables as inputs
from index_builder.inputs.coded import Events, popularity_order
from index_builder.models import item_model
from index_builder.ranker import cut as cuts
from index_builder.shoppers.profiles import UserEvents, purchased_by_user, recent_by_user
from protos.ranker.candidates import ItemModel, history_of, pool
from protos.ranker.features import History, ItemFacts
from protos.ranker.generators import positions

__all__ = ["Lists", "training_lists", "grades"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lists:
    """One list per sampled shopper with a candidate they went on to touch: feature rows, graded labels, and
    each list's length (rows of list i follow those of list i - 1)."""

    features: np.ndarray  # float32 [rows, FEATURES]
    labels: np.ndarray  # int32 [rows]
    sizes: np.ndarray  # int64 [lists]
    cut: str
    shoppers: int  # sampled shoppers (lists plus those whose candidates held nothing they touched next)


def grades(event_weights: dict[str, float]) -> np.ndarray:
    """int32 per event type code (inputs.EVENT_TYPES): its label grade, 1 for the lowest positive weight."""
    weights = np.array([event_weights[t] for t in inputs.EVENT_TYPES], dtype=np.float64)
    distinct = np.unique(weights[weights > 0])
    return np.where(weights > 0, np.searchsorted(distinct, weights) + 1, 0).astype(np.int32)


def _subset(events: Events, keep: np.ndarray) -> Events:
    return replace(events, item=events.item[keep], user=events.user[keep], session=events.session[keep],
                   kind=events.kind[keep], ts=events.ts[keep], anonymous=events.anonymous[keep],
                   value=events.value[keep], qty=events.qty[keep], paid=events.paid[keep],
                   channel=events.channel[keep])


def _item_model(config: BuildConfig, events: Events, consent: np.ndarray, mine: np.ndarray, weights: np.ndarray,
                catalog: tuple[np.ndarray, np.ndarray], reference_ms: int) -> ItemModel:
    """The item models learned on `events` (the log without the labels); `mine`: its known shoppers' events;
    `catalog`: (category, in_stock) per item."""
    category, in_stock = catalog
    n_items = len(category)
    matrix, _ = item_model.interactions(config, events, consent, weights, n_items)
    neighbors, neighbor_weights = item_model.neighbors(config, matrix)
    successors, successor_weights = item_model.successor_arrays(config, events, consent, n_items,
                                                                with_item_item=neighbors.shape[1] > 0)
    purchase = events.kind[mine] == inputs.EVENT_TYPES.index("purchase")
    rate, days = item_model.repurchase_arrays(config, events.user[mine], events.item[mine], events.ts[mine],
                                              purchase, category)
    popular = popularity_order(events, n_items, weights, config.popularity_half_life_days, reference_ms)
    facts = ItemFacts(category, item_model.distinct_users(events.user[mine], events.item[mine], n_items), rate, days)
    return ItemModel(neighbors, neighbor_weights, successors, successor_weights,
                     popular[in_stock[popular]][: config.popular_list], facts)


def training_lists(config: BuildConfig, events: Events, consent: np.ndarray, mine: np.ndarray,
                   weights: np.ndarray, catalog: tuple[np.ndarray, np.ndarray], reference_ms: int) -> Lists | None:
    """The lists (module docstring) of up to config.ranker_shoppers shoppers among the `mine` events' users
    (known, consenting, with a vector); None when no shopper has events on both sides of the cut."""
    user, item, ts = events.user[mine], events.item[mine], events.ts[mine]
    kind, session = events.kind[mine], events.session[mine]
    bought = kind == inputs.EVENT_TYPES.index("purchase")
    cut = cuts.resolve(config.ranker_cut, bought)
    late = cuts.label_rows(cut, user, session, ts, bought, config.seed) if len(user) else np.zeros(0, dtype=bool)
    n_users = len(consent)
    both = (np.bincount(user[~late], minlength=n_users) > 0) & (np.bincount(user[late], minlength=n_users) > 0)
    sampled_users = np.random.default_rng(config.seed).permutation(np.flatnonzero(both))[:config.ranker_shoppers]
    if not len(sampled_users):
        return None
    sampled = np.zeros(n_users, dtype=bool)
    sampled[sampled_users] = True
    labelled = late & sampled[user]
    dropped = np.zeros(len(events.item), dtype=bool)
    dropped[np.flatnonzero(mine)[labelled]] = True
    model = _item_model(config, _subset(events, ~dropped), consent, mine[~dropped], weights, catalog, reference_ms)
    before = ~late & sampled[user]
    history = UserEvents(user[before], item[before], ts[before], bought[before])
    recent, purchased = recent_by_user(history, n_users), purchased_by_user(history, n_users)
    grade = grades(config.event_weights)[kind[labelled]]
    label_user, label_item = user[labelled], item[labelled].astype(np.int64)
    nows = _nows(cut, user, ts, late, sampled, reference_ms)
    # Per (user, item) after the cut, the best grade: sorted by user, then item, the last of each run wins.
    order = np.lexsort((grade, label_item, label_user))
    label_user, label_item, grade = label_user[order], label_item[order], grade[order]
    last = np.ones(len(label_user), dtype=bool)
    last[:-1] = (label_user[1:] != label_user[:-1]) | (label_item[1:] != label_item[:-1])
    label_user, label_item, grade = label_user[last], label_item[last], grade[last]
    bounds = np.searchsorted(label_user, np.arange(n_users + 1))
    features, labels, sizes = [], [], []
    for u in tqdm(np.sort(sampled_users).tolist(), desc="ranker lists", unit="shopper",
                  disable=not config.show_progress, mininterval=1.0):
        h = _history(u, recent, purchased, config.recent_items, int(nows[u]))
        if not len(h.rows):
            continue
        candidates = pool(model, h, int(nows[u]))
        at = positions(label_item[bounds[u]:bounds[u + 1]], candidates.rows)
        y = np.zeros(len(at), dtype=np.int32)
        y[at >= 0] = grade[bounds[u]:bounds[u + 1]][at[at >= 0]]
        if y.any():
            features.append(candidates.features)
            labels.append(y)
            sizes.append(len(y))
    log.info("ranker_lists cut=%s shoppers=%d lists=%d rows=%d", cut, len(sampled_users), len(sizes), sum(sizes))
    if not sizes:
        return None
    return Lists(np.concatenate(features), np.concatenate(labels), np.asarray(sizes, dtype=np.int64), cut,
                 len(sampled_users))


def _nows(cut: str, user: np.ndarray, ts: np.ndarray, late: np.ndarray, sampled: np.ndarray,
          reference_ms: int) -> np.ndarray:
    """Per user code, the moment the question is asked: the first event after the cut (a random cut: the
    artifact's reference time, as a random split asks), and always after the last event before it."""
    n_users = len(sampled)
    last_before = np.full(n_users, np.iinfo(np.int64).min)
    np.maximum.at(last_before, user[~late], ts[~late])
    if cut == "random":
        first_after = np.full(n_users, reference_ms, dtype=np.int64)
    else:
        first_after = np.full(n_users, np.iinfo(np.int64).max)
        np.minimum.at(first_after, user[late], ts[late])
    return np.maximum(first_after, last_before + 1)


def _history(u: int, recent: tuple[np.ndarray, ...], purchased: tuple[np.ndarray, ...], recent_items: int,
             now_ms: int) -> History:
    touched, bounds, touches, touched_at = recent
    bought, bought_at, bought_bounds, counts = purchased
    r1 = int(bounds[u + 1])
    r0 = max(r1 - recent_items, int(bounds[u]))
    p0, p1 = int(bought_bounds[u]), int(bought_bounds[u + 1])
    return history_of(touched[r0:r1], touches[r0:r1], touched_at[r0:r1], bought[p0:p1], bought_at[p0:p1],
                      counts[p0:p1], now_ms)
