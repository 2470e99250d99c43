"""The demo store's shoppers and their visits: tastes, the items tastes lead to, and sessions.

Part of :mod:`index_builder.demo`. A session fixes who came (or an anonymous
visitor), when, through which channel, with what intent (category and price tercile)
and how far down the view -> cart -> purchase funnel it got; :mod:`events`
turns that into events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from index_builder.demo.catalog import Catalog
from index_builder.demo.csv import ids, timestamps
from index_builder.demo.sampling import Columns, GroupSampler, unit_hash
from index_builder.demo.vocabulary import (
    AGE_BANDS,
    AGE_SHARE,
    ANON_CHANNEL_SHARE,
    BASKET_LINES,
    CHANNEL_SHARE,
    COUNTRIES,
    COUNTRY_SHARE,
    DAY,
    END,
    EVENT_DAYS,
    HOUR_SHARE,
    MAX_VIEWS,
    SESSION_SPAN,
    SIGNUP_DAYS,
)

_USERS_SCHEMA = pa.schema([("user_id", pa.string()), ("signup_at", pa.string()), ("country", pa.string()),
                           ("age_band", pa.string()), ("consent", pa.bool_())])


@dataclass(frozen=True)
class Shoppers:
    """Latent tastes of registered users, indexed by user number."""

    favourites: np.ndarray  # (n, 3) category numbers, best first
    favourite_cum: np.ndarray  # (n, 3) cumulative weights of the favourites
    tercile: np.ndarray  # preferred price tercile: 0 bargain, 1 mid, 2 premium
    loyalty: np.ndarray  # probability of picking the favourite brand of a category
    cart_rate: np.ndarray
    channel: np.ndarray
    activity: np.ndarray


class Taste:
    """Turns (category, price tercile, shopper) intents into concrete items."""

    def __init__(self, catalog: Catalog, salt: int) -> None:
        category, n_cat = catalog.category, len(catalog.category_names)
        self.n_categories, self._salt = n_cat, salt
        tercile = _price_terciles(category, catalog.cents, n_cat)
        self._tiers_in = np.minimum(np.bincount(category, minlength=n_cat), 3)
        self._tiers = GroupSampler(category * 3 + tercile, catalog.popularity, n_cat * 3)
        pairs, pair_of_item = np.unique(category * len(catalog.brand_names) + catalog.brand, return_inverse=True)
        self._brands = GroupSampler(pair_of_item, catalog.popularity, len(pairs))
        self._favourite = GroupSampler(pairs // len(catalog.brand_names), self._brands.mass, n_cat)
        self._explore = GroupSampler(np.zeros(n_cat, np.int64), self.category_mass, 1)

    @property
    def category_mass(self) -> np.ndarray:
        """Total popularity of each category."""
        return self._tiers.mass.reshape(-1, 3).sum(axis=1)

    def explore(self, u: np.ndarray) -> np.ndarray:
        """Categories drawn by overall popularity (browsing outside one's tastes)."""
        return self._explore.draw(np.zeros(len(u), np.int64), u)

    def pick(self, category: np.ndarray, tercile: np.ndarray, user: np.ndarray,
             loyal: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Items by popularity within category and tercile, or within the user's favourite brand."""
        tier = np.minimum(tercile, self._tiers_in[category] - 1)
        items = self._tiers.draw(category * 3 + tier, u)
        if loyal.any():
            cat = category[loyal]
            favourite = self._favourite.draw(cat, unit_hash(user[loyal] * self.n_categories + cat, self._salt))
            items[loyal] = self._brands.draw(favourite, u[loyal])
        return items


def _price_terciles(category: np.ndarray, cents: np.ndarray, n_cat: int) -> np.ndarray:
    """0/1/2 for the cheapest, middle and dearest third of each category."""
    order = np.lexsort((np.arange(len(cents)), cents, category))
    sizes = np.bincount(category, minlength=n_cat)
    starts = np.cumsum(sizes) - sizes
    rank = np.empty(len(cents), np.int64)
    rank[order] = np.arange(len(cents)) - starts[category[order]]
    return rank * 3 // sizes[category]


def make_shoppers(rng: np.random.Generator, n_users: int, taste: Taste) -> Shoppers:
    """Registered users with 1-3 favourite categories, brand loyalty and a price tercile."""
    favourites = _favourite_categories(rng, n_users, taste.category_mass ** 0.7)
    n_fav = np.minimum(rng.choice([1, 2, 3], n_users, p=[0.3, 0.4, 0.3]), taste.n_categories)
    weight = -np.sort(-rng.gamma(np.array([4.0, 1.5, 1.0]), size=(n_users, 3)), axis=1)
    weight[np.arange(3) >= n_fav[:, None]] = 0.0
    cum = np.cumsum(weight, axis=1) / weight.sum(axis=1, keepdims=True)
    cum[np.arange(3) >= n_fav[:, None] - 1] = 1.0  # make the last used slot exactly 1
    return Shoppers(
        favourites=favourites, favourite_cum=cum,
        tercile=rng.choice(3, n_users, p=[0.4, 0.4, 0.2]),
        loyalty=rng.beta(2.5, 2.5, n_users),
        cart_rate=np.minimum(0.16 * rng.lognormal(-0.06, 0.35, n_users), 0.6),
        channel=rng.choice(4, n_users, p=CHANNEL_SHARE),
        activity=rng.lognormal(0.0, 1.3, n_users),
    )


def _favourite_categories(rng: np.random.Generator, n_users: int, weight: np.ndarray) -> np.ndarray:
    """Three distinct categories per user, popular ones likelier (Gumbel top-k, in chunks)."""
    k = min(3, len(weight))
    out = np.empty((n_users, 3), np.int64)
    for lo in range(0, n_users, 200_000):
        n = min(200_000, n_users - lo)
        keys = np.log(weight) + rng.gumbel(size=(n, len(weight)))
        top = np.argsort(-keys, axis=1)[:, :k]
        out[lo:lo + n] = np.concatenate([top, np.repeat(top[:, :1], 3 - k, axis=1)], axis=1)
    return out


@dataclass(frozen=True)
class Sessions(Columns):
    """One row per session; ``user`` is -1 for anonymous visitors; ``item`` (sessions x
    :data:`BASKET_LINES`) holds a grocery trip's planned lines (:mod:`restock`), -1 padded; all -1
    for every other session."""

    start: np.ndarray
    user: np.ndarray
    channel: np.ndarray
    category: np.ndarray
    tercile: np.ndarray
    views: np.ndarray
    carts: np.ndarray
    purchases: np.ndarray
    item: np.ndarray


def make_sessions(rng: np.random.Generator, n_events: int, shoppers: Shoppers, taste: Taste,
                  restock: Sessions) -> Sessions:
    """Sessions, sorted by start time, whose views, carts and purchases add up to ``n_events``:
    the ``restock`` sessions (fewer events than ``n_events``) and browsing sessions for the rest."""
    parts = [restock]
    total = int((restock.views + restock.carts + restock.purchases).sum())
    while total < n_events:
        part = _draw_sessions(rng, int((n_events - total) / 5.5) + 16, shoppers, taste)
        part = part.take(part.start < END - SESSION_SPAN)  # every event lands before END
        parts.append(part)
        total += int((part.views + part.carts + part.purchases).sum())
    sessions = _truncate(Sessions.concat(parts), n_events)
    return sessions.take(np.argsort(sessions.start, kind="stable"))


def _draw_sessions(rng: np.random.Generator, n: int, shoppers: Shoppers, taste: Taste) -> Sessions:
    """``n`` sessions: a third anonymous, the rest owned by users in proportion to their activity."""
    anonymous = rng.random(n) < 0.3
    owner = GroupSampler(np.zeros(len(shoppers.activity), np.int64), shoppers.activity, 1)
    user = np.where(anonymous, -1, owner.draw(np.zeros(n, np.int64), rng.random(n)))
    known = np.maximum(user, 0)
    views = np.minimum(rng.geometric(np.where(anonymous, 1 / 3.5, 1 / 5.5)), MAX_VIEWS)
    carts = rng.binomial(views, np.where(anonymous, 0.11, shoppers.cart_rate[known]))
    purchases = rng.binomial(carts, np.where(anonymous, 0.42, 0.52))
    return Sessions(
        start=_session_starts(rng, n), user=user, channel=_session_channels(rng, anonymous, shoppers.channel[known]),
        category=_session_categories(rng, anonymous, known, shoppers, taste),
        tercile=np.where(anonymous, rng.choice(3, n, p=[0.4, 0.4, 0.2]), shoppers.tercile[known]),
        views=views, carts=carts, purchases=purchases, item=np.full((n, BASKET_LINES), -1, np.int32),
    )


def _session_starts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Start times with growth over the window, busier weekends and a daily rhythm."""
    first_day = END // DAY - EVENT_DAYS
    days = np.arange(first_day, first_day + EVENT_DAYS)
    weight = (1.0 + 0.3 * np.arange(EVENT_DAYS) / EVENT_DAYS) * np.where((days + 3) % 7 >= 5, 1.2, 1.0)
    day = rng.choice(days, n, p=weight / weight.sum())
    hour = rng.choice(24, n, p=HOUR_SHARE / HOUR_SHARE.sum())
    return day * DAY + hour * 3600 + rng.integers(0, 3600, n)


def _session_channels(rng: np.random.Generator, anonymous: np.ndarray, preferred: np.ndarray) -> np.ndarray:
    """Users mostly come through their preferred channel; anonymous visitors mostly through the web."""
    n = len(anonymous)
    other = np.where(anonymous, rng.choice(4, n, p=ANON_CHANNEL_SHARE), rng.choice(4, n, p=CHANNEL_SHARE))
    return np.where(~anonymous & (rng.random(n) < 0.8), preferred, other)


def _session_categories(rng: np.random.Generator, anonymous: np.ndarray, user: np.ndarray,
                        shoppers: Shoppers, taste: Taste) -> np.ndarray:
    """Mostly one of the user's favourites; anonymous visitors browse by popularity."""
    n = len(user)
    u = rng.random(n)
    slot = (u > shoppers.favourite_cum[user, 0]).astype(np.int64) + (u > shoppers.favourite_cum[user, 1])
    favourite = shoppers.favourites[user, slot]
    wander = anonymous | (rng.random(n) >= 0.9)
    return np.where(wander, taste.explore(rng.random(n)), favourite)


def _truncate(sessions: Sessions, n_events: int) -> Sessions:
    """Keep the sessions needed for exactly ``n_events`` events, trimming the last one's tail."""
    cum = np.cumsum(sessions.views + sessions.carts + sessions.purchases)
    last = int(np.searchsorted(cum, n_events))
    kept = sessions.take(slice(0, last + 1))
    excess = int(cum[last]) - n_events
    # Drop purchases, then carts, then views, so every purchase keeps its cart and
    # at least one view survives (the session had more than ``excess`` events).
    cut = min(excess, int(kept.purchases[last]))
    kept.purchases[last] -= cut
    excess -= cut
    cut = min(excess, int(kept.carts[last] - kept.purchases[last]))
    kept.carts[last] -= cut
    kept.views[last] -= excess - cut
    return kept


def users_table(rng: np.random.Generator, shoppers: Shoppers, sessions: Sessions) -> pa.Table:
    """Users; a signup never postdates the user's first session."""
    n = len(shoppers.activity)
    first = np.full(n, np.iinfo(np.int64).max)
    known = sessions.user >= 0
    np.minimum.at(first, sessions.user[known], sessions.start[known])
    signup = END - (rng.power(0.8, n) * SIGNUP_DAYS * DAY).astype(np.int64) - 1
    signup = np.minimum(signup, first - rng.integers(60, 14 * DAY, n))
    columns = [
        ids("u", np.arange(1, n + 1), len(str(n))), timestamps(signup),
        pa.array(list(COUNTRIES)).take(pa.array(rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE))),
        pa.array(list(AGE_BANDS)).take(pa.array(rng.choice(len(AGE_BANDS), n, p=AGE_SHARE))),
        pa.array(rng.random(n) < 0.9),
    ]
    return pa.Table.from_arrays(columns, schema=_USERS_SCHEMA)
