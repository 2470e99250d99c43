"""The demo store's consumables department: shoppers who rebuy the same items on cycles.

Part of :mod:`index_builder.demo`. Some registered shoppers (likelier the more active) restock
a consumable item — coffee, tea, pet food, ... (:data:`REPURCHASE_DAYS`) — again and again:
each item has a typical cycle around its category's, each shopper-item pair its own cycle around
the item's, and every gap is jittered around the pair's cycle. Each purchase is a session of its
own whose first view is the restocked item, carted and bought; a few more views browse the aisle.
These sessions make up about :data:`RESTOCK_EVENT_SHARE` of the log. All vectorised: the purchase
times of every pair are one [pairs, purchases] cumulative sum.
"""

from __future__ import annotations

import numpy as np

from index_builder.demo.catalog import Catalog
from index_builder.demo.sampling import GroupSampler
from index_builder.demo.shoppers import Sessions, Shoppers, Taste
from index_builder.demo.vocabulary import (
    DAY,
    END,
    EVENT_DAYS,
    HOUR_SHARE,
    MAX_VIEWS,
    REPURCHASE_DAYS,
    RESTOCK_EVENT_SHARE,
    RESTOCK_VIEWS,
    SESSION_SPAN,
)

__all__ = ["item_cycles", "restock_sessions"]

_MIN_CYCLE_DAYS = 5.0


def item_cycles(rng: np.random.Generator, catalog: Catalog) -> np.ndarray:
    """Typical days between two purchases of each item; 0 for items that are not consumables."""
    base = np.array([REPURCHASE_DAYS.get(name, 0.0) for name in catalog.category_names])
    spread = rng.lognormal(0.0, 0.2, len(catalog.category))
    return np.where(base[catalog.category] > 0, np.maximum(base[catalog.category] * spread, _MIN_CYCLE_DAYS), 0.0)


def restock_sessions(rng: np.random.Generator, n_events: int, shoppers: Shoppers, taste: Taste,
                     catalog: Catalog) -> Sessions:
    """Restocking sessions (``item`` = the restocked item) adding up to at most the department's share of events."""
    cycles = item_cycles(rng, catalog)
    consumables = np.flatnonzero([name in REPURCHASE_DAYS for name in catalog.category_names])
    budget = int(RESTOCK_EVENT_SHARE * n_events)
    per_session = RESTOCK_VIEWS + 2.5  # views, carts and purchases of one restocking session, roughly
    mean_cycle = float(np.mean([REPURCHASE_DAYS[catalog.category_names[c]] for c in consumables])) if len(
        consumables) else 0.0
    n_pairs = int(budget / (per_session * EVENT_DAYS / mean_cycle)) if len(consumables) else 0
    if n_pairs == 0:
        return _empty()
    user, item = _pairs(rng, n_pairs, shoppers, taste, consumables)
    user, item, start = _purchase_times(rng, user, item, cycles[item] * rng.lognormal(0.0, 0.12, len(item)))
    return _sessions(rng, user, item, start, shoppers, catalog, budget)


def _pairs(rng: np.random.Generator, n: int, shoppers: Shoppers, taste: Taste,
           consumables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (shopper, item) pairs: shoppers by activity, an aisle by popularity, their favourite brand's item."""
    owner = GroupSampler(np.zeros(len(shoppers.activity), np.int64), shoppers.activity, 1)
    user = owner.draw(np.zeros(n, np.int64), rng.random(n))
    aisle = GroupSampler(np.zeros(len(consumables), np.int64), taste.category_mass[consumables], 1)
    category = consumables[aisle.draw(np.zeros(n, np.int64), rng.random(n))]
    item = taste.pick(category, shoppers.tercile[user], user, np.ones(n, bool), rng.random(n))
    n_items = np.int64(len(taste.category_mass) and int(item.max()) + 1)
    pairs = np.unique(user * n_items + item)
    return pairs // n_items, pairs % n_items


def _purchase_times(rng: np.random.Generator, user: np.ndarray, item: np.ndarray,
                    cycle: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every purchase of every pair (epoch seconds): a first one within the first cycle, then jittered cycles."""
    first_day = END // DAY - EVENT_DAYS
    last = END - SESSION_SPAN - DAY
    k = int(np.ceil(EVENT_DAYS / (0.6 * cycle.min()))) + 1
    gaps = cycle[:, None] * np.clip(1.0 + 0.12 * rng.standard_normal((len(cycle), k)), 0.6, 1.6)
    gaps[:, 0] = cycle * rng.random(len(cycle))
    days = first_day + np.cumsum(gaps, axis=1)
    hour = rng.choice(24, days.shape, p=HOUR_SHARE / HOUR_SHARE.sum())
    start = np.floor(days).astype(np.int64) * DAY + hour * 3600 + rng.integers(0, 3600, days.shape)
    keep = start < last
    return np.broadcast_to(user[:, None], keep.shape)[keep], np.broadcast_to(item[:, None], keep.shape)[keep], \
        start[keep]


def _sessions(rng: np.random.Generator, user: np.ndarray, item: np.ndarray, start: np.ndarray, shoppers: Shoppers,
              catalog: Catalog, budget: int) -> Sessions:
    """One session per purchase: the item viewed first, carted and bought, plus some browsing of the aisle."""
    n = len(user)
    views = np.minimum(rng.geometric(1.0 / RESTOCK_VIEWS, n), MAX_VIEWS)
    # Browsing carts a little more than usual, and most of it stays in the cart: the restock is the errand.
    carts = 1 + rng.binomial(views - 1, np.minimum(2 * shoppers.cart_rate[user], 1.0))
    purchases = 1 + rng.binomial(carts - 1, 0.25)
    sessions = Sessions(start=start, user=user, channel=shoppers.channel[user], category=catalog.category[item],
                        tercile=shoppers.tercile[user], views=views, carts=carts, purchases=purchases, item=item)
    return sessions.take(np.cumsum(views + carts + purchases) <= budget)


def _empty() -> Sessions:
    none = np.zeros(0, np.int64)
    return Sessions(none, none, none, none, none, none, none, none, none)
