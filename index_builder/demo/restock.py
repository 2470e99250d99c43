"""The demo store's consumables department: grocery trips whose baskets are mostly rebuys.

Part of :mod:`index_builder.demo`. It follows what real grocery order logs show (Instacart-like:
from a shopper's second order on, 50-70 % of the lines are items they bought before; each product
has its own repurchase cycle; a basket adds a few new items, mostly in aisles the shopper already
buys from). Some registered shoppers (likelier the more active) are *grocers*:

- each grocer starts at a random point of the first 60 % of the log and shops on trips about
  :data:`TRIP_DAYS` apart (their own cadence, lognormal sigma 0.35, 3-21 days);
- they keep a repertoire of about :data:`REGULARS` consumables (coffee, milk, detergent, ...,
  :data:`REPURCHASE_DAYS`) from a few aisles of their own (three draws by aisle popularity), of a
  brand they are loyal to as likely as their loyalty; 70 % are regulars from the start,
  the rest are adopted later (their first purchase is a new item that then comes back);
- each product has a cycle around its aisle's (lognormal sigma 0.3, at least 4 days), each
  grocer-product pair its own around the product's (sigma 0.25), and every gap is jittered around
  the pair's cycle (sd 15 %, 0.6-1.6x); a purchase lands on the grocer's nearest trip, so a trip's
  basket is every regular due then;
- each trip adds Poisson(:data:`NEW_PER_TRIP`) items by popularity: three in four from an aisle of
  that basket, the rest from any consumable aisle (at most :data:`BASKET_LINES` planned lines).

A trip is one session: its planned lines are viewed first, carted and bought, and a few more views
(about :data:`RESTOCK_VIEWS`) browse the aisle. Trips make up about :data:`RESTOCK_EVENT_SHARE` of
the log; whole grocers are kept in a random order until that budget is spent. Durables stay out of
trips and are bought once (:mod:`events`). All vectorised: every pair's purchase days are one flat
grouped cumulative sum.

Measured (``tailor demo-data`` defaults: 5,000 users, 2,000 items, 200,000 events, seed 7; known
shoppers' purchase lines; a basket is one shopper's purchases on one day): 225 grocers make 2,690
trips of 3.0 planned lines (15 events) each; from a shopper's second purchase day on, 56 % of the
lines are rebuys (75 % of the consumable lines; durables 0 %); a basket adds 0.96 new items on
average (70 % of baskets at least one), 59 % of new consumable lines in an aisle the shopper bought
from before; 74 % of a product's gaps lie within 1.5x of that product's median gap, and aisle medians
follow the cycles (dairy 9 days, bakery 9, produce 11, wine 15, coffee 18, pet food 24, household
26; a trip cadence of about 10 days floors the weekly ones; tea 17 and haircare 22 run short of
their 35 and 40, not yet explained). Cart/view 0.19, purchase/cart 0.57.
tests/index_builder/test_demo_grocery.py checks these properties on a smaller store.
"""

from __future__ import annotations

import numpy as np

from index_builder.demo.catalog import Catalog
from index_builder.demo.sampling import GroupSampler
from index_builder.demo.shoppers import Sessions, Shoppers, Taste
from index_builder.demo.vocabulary import (
    BASKET_LINES,
    DAY,
    END,
    EVENT_DAYS,
    HOUR_SHARE,
    MAX_VIEWS,
    NEW_PER_TRIP,
    REGULARS,
    REPURCHASE_DAYS,
    RESTOCK_EVENT_SHARE,
    RESTOCK_VIEWS,
    SESSION_SPAN,
    TRIP_DAYS,
)

__all__ = ["item_cycles", "restock_sessions"]

_MIN_CYCLE_DAYS = 4.0
_EVENTS_PER_GROCER = 60  # a first guess of a grocer's events, to size the pool drawn (over-drawn 2x)


def item_cycles(rng: np.random.Generator, catalog: Catalog) -> np.ndarray:
    """Typical days between two purchases of each product; 0 for items that are not consumables."""
    base = np.array([REPURCHASE_DAYS.get(name, 0.0) for name in catalog.category_names])
    spread = rng.lognormal(0.0, 0.3, len(catalog.category))
    return np.where(base[catalog.category] > 0, np.maximum(base[catalog.category] * spread, _MIN_CYCLE_DAYS), 0.0)


def restock_sessions(rng: np.random.Generator, n_events: int, shoppers: Shoppers, taste: Taste,
                     catalog: Catalog) -> Sessions:
    """Grocery trips (``item`` rows = each trip's planned lines) adding up to at most the department's share."""
    cycles = item_cycles(rng, catalog)
    aisles = np.flatnonzero([name in REPURCHASE_DAYS for name in catalog.category_names])
    budget = int(RESTOCK_EVENT_SHARE * n_events)
    if not len(aisles) or budget < _EVENTS_PER_GROCER:
        return _empty()
    aisle = GroupSampler(np.zeros(len(aisles), np.int64), taste.category_mass[aisles], 1)
    grocers = _Grocers.draw(rng, budget, shoppers)
    owner, item, day = _regular_purchases(rng, grocers, shoppers, taste, aisles, aisle, cycles)
    trip, item = _baskets(rng, grocers, owner, item, day, shoppers, taste, aisles, aisle, catalog)
    return _sessions(rng, grocers, trip, item, shoppers, catalog, budget)


class _Grocers:
    """The grocers, in the random order the budget keeps them: who, from when, how often they shop."""

    def __init__(self, user: np.ndarray, start: np.ndarray, cadence: np.ndarray) -> None:
        self.user, self.start, self.cadence = user, start, cadence

    @classmethod
    def draw(cls, rng: np.random.Generator, budget: int, shoppers: Shoppers) -> _Grocers:
        n = 2 * budget // _EVENTS_PER_GROCER + 1
        owner = GroupSampler(np.zeros(len(shoppers.activity), np.int64), shoppers.activity, 1)
        user = rng.permutation(np.unique(owner.draw(np.zeros(n, np.int64), rng.random(n))))
        start = END // DAY - EVENT_DAYS + 0.6 * EVENT_DAYS * rng.random(len(user))
        cadence = np.clip(TRIP_DAYS * rng.lognormal(0.0, 0.35, len(user)), 3.0, 21.0)
        return cls(user, start, cadence)


def _regular_purchases(rng: np.random.Generator, g: _Grocers, shoppers: Shoppers, taste: Taste,
                       aisles: np.ndarray, aisle: GroupSampler,
                       cycles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grocer number, item, day) of every purchase of every regular: a flat grouped cumulative sum of gaps."""
    n = len(g.user)
    owner = np.repeat(np.arange(n), np.minimum(1 + rng.poisson(REGULARS - 1.0, n), 4 * int(REGULARS)))
    # Each grocer shops a few aisles (three draws by popularity, so often fewer distinct ones).
    theirs = aisles[aisle.draw(np.zeros(3 * n, np.int64), rng.random(3 * n))].reshape(n, 3)
    item = _pick(rng, owner, theirs[owner, rng.integers(0, 3, len(owner))], g, shoppers, taste, loyal=True)
    pairs = np.unique(owner * np.int64(len(cycles)) + item)
    owner, item = pairs // len(cycles), pairs % len(cycles)
    cycle = cycles[item] * rng.lognormal(0.0, 0.25, len(item))
    later = rng.random(len(item)) >= 0.7
    last = (END - SESSION_SPAN) / DAY - 1.0
    first = g.start[owner] + np.where(later, rng.random(len(item)) * (last - g.start[owner]),
                                      0.5 * g.cadence[owner] * rng.random(len(item)))
    count = np.maximum(np.ceil((last - first) / (0.6 * cycle)), 0).astype(np.int64) + 1
    pair = np.repeat(np.arange(len(item)), count)
    lead = np.cumsum(count) - count
    gaps = cycle[pair] * np.clip(1.0 + 0.15 * rng.standard_normal(len(pair)), 0.6, 1.6)
    gaps[lead] = first
    total = np.cumsum(gaps)
    day = total - (total[lead] - first)[pair]
    keep = day < last
    return owner[pair[keep]], item[pair[keep]], day[keep]


def _pick(rng: np.random.Generator, owner: np.ndarray, category: np.ndarray, g: _Grocers, shoppers: Shoppers,
          taste: Taste, *, loyal: bool) -> np.ndarray:
    """Items of ``category`` for grocers ``owner``: their favourite brand (as likely as their loyalty) or by
    popularity in their price tercile."""
    user = g.user[owner]
    faithful = (rng.random(len(owner)) < shoppers.loyalty[user]) & loyal
    return taste.pick(category, shoppers.tercile[user], user, faithful, rng.random(len(owner)))


def _baskets(rng: np.random.Generator, g: _Grocers, owner: np.ndarray, item: np.ndarray, day: np.ndarray,
             shoppers: Shoppers, taste: Taste, aisles: np.ndarray, aisle: GroupSampler,
             catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """(trip key, item) lines: regulars on the grocer's nearest trip, plus a few new items per trip.

    A trip key is grocer number * 2**20 + trip number, so keys sort by grocer, then time."""
    trip = owner * np.int64(2**20) + np.rint((day - g.start[owner]) / g.cadence[owner]).astype(np.int64)
    trips, one_line = np.unique(trip, return_index=True)
    new = rng.poisson(NEW_PER_TRIP, len(trips))
    at = np.repeat(np.arange(len(trips)), new)
    # Three in four from an aisle of this basket (the trip's first regular's), the rest anywhere.
    home = catalog.category[item[one_line[at]]]
    anywhere = aisles[aisle.draw(np.zeros(len(at), np.int64), rng.random(len(at)))]
    category = np.where(rng.random(len(at)) < 0.75, home, anywhere)
    extra = _pick(rng, trips[at] >> 20, category, g, shoppers, taste, loyal=False)
    lines = np.unique(np.concatenate([trip, trips[at]]) * np.int64(len(catalog.category))
                      + np.concatenate([item, extra]))
    return lines // len(catalog.category), lines % len(catalog.category)


def _sessions(rng: np.random.Generator, g: _Grocers, trip: np.ndarray, item: np.ndarray, shoppers: Shoppers,
              catalog: Catalog, budget: int) -> Sessions:
    """One session per trip, grocers in their random order: its planned lines viewed first, carted and
    bought, plus some browsing of the aisle; the trips within the budget."""
    trips, at, lines = np.unique(trip, return_inverse=True, return_counts=True)
    owner = trips >> 20
    number = trips & (2**20 - 1)
    day = np.floor(g.start[owner] + number * g.cadence[owner]).astype(np.int64)
    basket = np.full((len(trips), BASKET_LINES), -1, np.int32)
    slot = np.arange(len(trip)) - (np.cumsum(lines) - lines)[at]
    fits = slot < BASKET_LINES
    basket[at[fits], slot[fits]] = item[fits]
    planned = np.minimum(lines, BASKET_LINES)
    user = g.user[owner]
    views = np.minimum(planned + rng.geometric(1.0 / (1.0 + RESTOCK_VIEWS), len(trips)) - 1, MAX_VIEWS)
    carts = planned + rng.binomial(views - planned, shoppers.cart_rate[user])
    purchases = planned + rng.binomial(carts - planned, 0.25)
    hour = rng.choice(24, len(trips), p=HOUR_SHARE / HOUR_SHARE.sum())
    sessions = Sessions(start=day * DAY + hour * 3600 + rng.integers(0, 3600, len(trips)), user=user,
                        channel=shoppers.channel[user], category=catalog.category[basket[:, 0]],
                        tercile=shoppers.tercile[user], views=views, carts=carts, purchases=purchases,
                        item=basket)
    # Trip keys sort by grocer (in their random order), so the budget keeps whole grocers but the last.
    sessions = sessions.take(day < (END - SESSION_SPAN) // DAY - 1)
    return sessions.take(np.cumsum(sessions.views + sessions.carts + sessions.purchases) <= budget)


def _empty() -> Sessions:
    none = np.zeros(0, np.int64)
    return Sessions(none, none, none, none, none, none, none, none, np.zeros((0, BASKET_LINES), np.int32))
