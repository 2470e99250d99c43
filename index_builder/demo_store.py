"""A synthetic but realistic demo store: items, users and a view/cart/purchase log.

Tailor is demonstrated and benchmarked on this data, so it carries the structure
recommenders exploit rather than uniform noise: long-tailed item popularity,
brands that live in one category and sit in a price tier, shoppers with stable
favourite categories, brand loyalty and price sensitivity, heavy-tailed activity,
and sessions that funnel view -> cart -> purchase (a third of them anonymous).

Everything is drawn from one ``numpy.random.default_rng(seed)`` stream against a
fixed clock (:data:`END`), so the same arguments always give byte-identical files.
Byte-identity holds for one numpy/pyarrow version; other versions may draw differently.
Generation is vectorised and events are produced and written in time-sorted chunks,
so a 1M-user, 1M-item, 10M-event store takes well under a minute and about 1 GiB.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from tqdm import tqdm

__all__ = ["END", "DemoStoreSummary", "write_demo_store"]

_LOG = logging.getLogger(__name__)

END = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
"""The demo store's "now" (2026-11-01T00:00:00Z): all timestamps lie before it."""

_DAY = 86_400
_EVENT_DAYS = 183  # the event log covers about six months before END
_ITEM_DAYS = 730  # items were listed over the last two years
_SIGNUP_DAYS = 1095
_CHUNK_EVENTS = 1_000_000
_MAX_VIEWS = 40  # per session
_MAX_GAP = 480  # seconds between views
_MAX_CHECKOUT = 360  # seconds from the last view to the purchases
_SESSION_SPAN = _MAX_VIEWS * _MAX_GAP + _MAX_CHECKOUT  # no session lasts longer

# name, median price, product lines, product nouns (each "|"-separated).
_CATEGORIES: tuple[tuple[str, float, str, str], ...] = (
    ("shoes", 85, "Trail|Urban|Classic|Pro|Aero", "Running Shoe|Trail Shoe|Sneaker|Boot|Loafer"),
    ("laptops", 950, "Book|Air|Pro|Studio|Flex", "Laptop|Ultrabook|Notebook|Chromebook"),
    ("coffee", 14, "Morning|Dark|Single Origin|Espresso|House", "Beans|Ground Coffee|Capsules|Cold Brew"),
    ("headphones", 120, "Studio|Quiet|Sport|Bass|Air", "Headphones|Earbuds|Headset"),
    ("smartphones", 650, "Neo|Max|Mini|Ultra|Lite", "Phone|Smartphone"),
    ("t-shirts", 22, "Essential|Vintage|Graphic|Organic|Slim", "Tee|T-Shirt|Polo|Tank Top"),
    ("furniture", 380, "Nordic|Loft|Oak|Modular|Heritage", "Sofa|Desk|Bookshelf|Armchair|Dining Table"),
    ("skincare", 24, "Hydra|Pure|Glow|Calm|Renew", "Serum|Moisturizer|Cleanser|Sunscreen|Face Mask"),
    ("books", 16, "Collected|Illustrated|Pocket|Deluxe|First", "Novel|Cookbook|Biography|Guide|Anthology"),
    ("televisions", 800, "Vision|Cinema|Quantum|Smart|Frame", "TV|OLED TV|QLED TV"),
    ("tea", 9, "Garden|Imperial|Herbal|Breakfast|Jasmine", "Green Tea|Black Tea|Tea Bags|Loose Leaf Tea"),
    ("jeans", 60, "Slim|Relaxed|Straight|Raw|Stretch", "Jeans|Denim Jacket|Denim Shorts"),
    ("cameras", 700, "Alpha|Focus|Snap|Mirrorless|Action", "Camera|Lens|Camcorder"),
    ("toys", 28, "Junior|Adventure|Creative|Wonder|Mega", "Building Set|Puzzle|Plush Toy|Race Car|Doll"),
    ("cookware", 50, "Chef|Cast Iron|Ceramic|Everyday|Copper", "Frying Pan|Saucepan|Dutch Oven|Wok|Knife Set"),
    ("watches", 190, "Chrono|Diver|Field|Dress|Smart", "Watch|Smartwatch|Fitness Band"),
    ("pet food", 32, "Natural|Grain Free|Senior|Puppy|Wild", "Dog Food|Cat Food|Treats|Kibble"),
    ("monitors", 260, "Ultra|Gaming|Office|Curved|Pro", "Monitor|Display"),
    ("jackets", 130, "Storm|Alpine|City|Down|Rain", "Jacket|Parka|Windbreaker|Fleece"),
    ("snacks", 6, "Crunchy|Sea Salt|Spicy|Honey|Protein", "Crisps|Nut Mix|Granola Bar|Cookies|Popcorn"),
    ("kitchen appliances", 120, "Smart|Compact|Turbo|Barista|Classic",
     "Blender|Toaster|Kettle|Air Fryer|Espresso Maker"),
    ("fragrance", 75, "Noir|Citrus|Amber|Fresh|Velvet", "Eau de Parfum|Eau de Toilette|Cologne|Body Mist"),
    ("tablets", 420, "Tab|Pad|Slate|Note|Kids", "Tablet|E-Reader"),
    ("bicycles", 700, "Trail|Road|City|Gravel|Electric", "Bike|Mountain Bike|E-Bike|Helmet"),
    ("wine", 19, "Reserve|Estate|Vintage|Old Vine|Cuvee", "Red Wine|White Wine|Rose|Sparkling Wine"),
    ("dresses", 70, "Summer|Wrap|Midi|Evening|Linen", "Dress|Maxi Dress|Shirt Dress"),
    ("backpacks", 65, "Commuter|Trek|Daypack|Travel|Roll Top", "Backpack|Duffel|Messenger Bag"),
    ("bedding", 75, "Cloud|Linen|Percale|Cozy|Hotel", "Duvet|Pillow|Sheet Set|Blanket"),
    ("board games", 38, "Family|Strategy|Party|Classic|Deluxe", "Board Game|Card Game|Puzzle Game"),
    ("haircare", 16, "Repair|Volume|Curl|Silk|Daily", "Shampoo|Conditioner|Hair Oil|Styling Gel"),
    ("lighting", 45, "Lumen|Arc|Globe|Smart|Industrial", "Floor Lamp|Desk Lamp|Pendant Light|LED Strip"),
    ("keyboards", 75, "Mech|Silent|Tactile|Wireless|Compact", "Keyboard|Mouse|Keypad"),
    ("camping", 95, "Summit|Basecamp|Ultralight|Ridge|Forest", "Tent|Sleeping Bag|Camp Stove|Lantern"),
    ("fitness", 55, "Core|Power|Flex|Pro|Studio", "Yoga Mat|Dumbbell Set|Resistance Bands|Kettlebell"),
    ("garden", 42, "Green|Bloom|Patio|Harvest|Meadow", "Planter|Hose|Garden Tools|Seed Kit"),
    ("tools", 70, "Pro|Heavy Duty|Compact|Cordless|Precision", "Drill|Screwdriver Set|Saw|Tool Kit"),
)
_BRAND_HEADS = (
    "Nor Vel Kal Lum Bex Cor Dun Fal Gral Hal Jun Kes Lyr Mar Nex Oak Pax Quin "
    "Ray Sol Tor Vox Wen Xan Zen Alp Brin Cal Del Fen Hart Jas Bram Cres Dal Ost"
).split()
_BRAND_MIDDLES = ("", "a", "o", "i", "e", "u", "ar", "el", "en", "is", "an", "or", "in", "al", "er",
                  "on", "ad", "ev", "il", "ol", "ur", "ex", "ia", "et", "um", "em", "ab", "ic", "ot", "ul")
_BRAND_TAILS = ("", "wood", "line", "tek", "vale", "mark", "gear", "craft", "field", "stone", "wave", "ford",
                "ton", "bridge", "worth", "ly", "co", "lab", "port", "crest", "dale", "well", "more", "hurst")
_TIER_SHARE = (0.35, 0.45, 0.20)  # budget, mid, premium brands
_TIER_PRICE = np.array([0.6, 1.0, 1.9])
_COUNTRIES = ("US", "GB", "DE", "FR", "CA", "NL", "ES", "IT", "SE", "AU", "PL")
_COUNTRY_SHARE = (0.38, 0.12, 0.10, 0.08, 0.07, 0.05, 0.05, 0.05, 0.03, 0.04, 0.03)
_AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
_AGE_SHARE = (0.14, 0.28, 0.24, 0.17, 0.11, 0.06)
_CHANNELS = ("web", "app", "email", "store")
_CHANNEL_SHARE = np.array([0.50, 0.30, 0.12, 0.08])
_ANON_CHANNEL_SHARE = np.array([0.70, 0.15, 0.12, 0.03])
_EVENT_TYPES = ("view", "cart", "purchase")
_HOUR_SHARE = np.array([2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 6, 7, 8, 9, 10, 9, 6, 3], float)

_ITEMS_SCHEMA = pa.schema([("item_id", pa.string()), ("title", pa.string()), ("category", pa.string()),
                           ("brand", pa.string()), ("price", pa.string()), ("in_stock", pa.bool_()),
                           ("created_at", pa.string())])
_USERS_SCHEMA = pa.schema([("user_id", pa.string()), ("signup_at", pa.string()), ("country", pa.string()),
                           ("age_band", pa.string()), ("consent", pa.bool_())])
_EVENTS_SCHEMA = pa.schema([("event_id", pa.string()), ("ts", pa.string()), ("user_id", pa.string()),
                            ("session_id", pa.string()), ("item_id", pa.string()), ("type", pa.string()),
                            ("qty", pa.int64()), ("price", pa.string()), ("channel", pa.string())])
_WRITE_OPTIONS = pacsv.WriteOptions(quoting_style="none", quoting_header="none")


@dataclass(frozen=True)
class DemoStoreSummary:
    """What :func:`write_demo_store` wrote: the three CSV files and their row counts."""

    items_path: Path
    users_path: Path
    events_path: Path
    items: int
    users: int
    events: int
    sessions: int
    anonymous_sessions: int


class _Columns:
    """Equal-length numpy columns of a dataclass that are filtered and stacked together."""

    def take(self, index: np.ndarray | slice) -> Self:
        return type(self)(**{f.name: getattr(self, f.name)[index] for f in fields(self)})  # type: ignore[arg-type]

    @classmethod
    def concat(cls, parts: Sequence[Self]) -> Self:
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        return cls(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})


@dataclass(frozen=True)
class _Catalog:
    """Item attributes, indexed by item number (item id minus one)."""

    category: np.ndarray
    brand: np.ndarray
    cents: np.ndarray
    popularity: np.ndarray
    in_stock: np.ndarray
    listed_at: np.ndarray
    title: pa.Array
    category_names: list[str]
    brand_names: list[str]


@dataclass(frozen=True)
class _Shoppers:
    """Latent tastes of registered users, indexed by user number."""

    favourites: np.ndarray  # (n, 3) category numbers, best first
    favourite_cum: np.ndarray  # (n, 3) cumulative weights of the favourites
    tercile: np.ndarray  # preferred price tercile: 0 bargain, 1 mid, 2 premium
    loyalty: np.ndarray  # probability of picking the favourite brand of a category
    cart_rate: np.ndarray
    channel: np.ndarray
    activity: np.ndarray


@dataclass(frozen=True)
class _Sessions(_Columns):
    """One row per session; ``user`` is -1 for anonymous visitors."""

    start: np.ndarray
    user: np.ndarray
    channel: np.ndarray
    category: np.ndarray
    tercile: np.ndarray
    views: np.ndarray
    carts: np.ndarray
    purchases: np.ndarray


@dataclass(frozen=True)
class _Events(_Columns):
    """One row per event; ``session`` indexes the time-sorted sessions."""

    ts: np.ndarray
    session: np.ndarray
    item: np.ndarray
    kind: np.ndarray
    qty: np.ndarray
    cents: np.ndarray


class _GroupSampler:
    """Draws a member of a group with probability proportional to its weight.

    Members are sorted by group once and their weights accumulated, so a draw for
    any mix of groups is a single vectorised ``searchsorted``. Groups must be non-empty.
    """

    def __init__(self, group: np.ndarray, weight: np.ndarray, n_groups: int) -> None:
        self._order = np.argsort(group, kind="stable")
        self._cum = np.cumsum(weight[self._order])
        bounds = np.searchsorted(group[self._order], np.arange(n_groups + 1))
        edges = np.concatenate(([0.0], self._cum))[bounds]
        self._first, self._last = bounds[:-1], bounds[1:] - 1
        self._base, self.mass = edges[:-1], np.diff(edges)

    def draw(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One member for each ``group`` entry; ``u`` holds uniforms in [0, 1)."""
        target = self._base[group] + u * self.mass[group]
        pos = np.searchsorted(self._cum, target, side="right")
        return self._order[np.clip(pos, self._first[group], self._last[group])]


class _Taste:
    """Turns (category, price tercile, shopper) intents into concrete items."""

    def __init__(self, catalog: _Catalog, salt: int) -> None:
        category, n_cat = catalog.category, len(catalog.category_names)
        self.n_categories, self._salt = n_cat, salt
        tercile = _price_terciles(category, catalog.cents, n_cat)
        self._tiers_in = np.minimum(np.bincount(category, minlength=n_cat), 3)
        self._tiers = _GroupSampler(category * 3 + tercile, catalog.popularity, n_cat * 3)
        pairs, pair_of_item = np.unique(category * len(catalog.brand_names) + catalog.brand, return_inverse=True)
        self._brands = _GroupSampler(pair_of_item, catalog.popularity, len(pairs))
        self._favourite = _GroupSampler(pairs // len(catalog.brand_names), self._brands.mass, n_cat)
        self._explore = _GroupSampler(np.zeros(n_cat, np.int64), self.category_mass, 1)

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
            favourite = self._favourite.draw(cat, _unit_hash(user[loyal] * self.n_categories + cat, self._salt))
            items[loyal] = self._brands.draw(favourite, u[loyal])
        return items


def write_demo_store(out: Path, *, users: int = 5000, items: int = 2000, events: int = 200_000,
                     seed: int = 7) -> DemoStoreSummary:
    """Write ``items.csv``, ``users.csv`` and ``events.csv`` of a synthetic store into ``out``.

    The store is realistic enough to demo and benchmark recommendation quality on
    (see the module docstring) and deterministic: the same arguments give
    byte-identical files. Each file appears under its final name only once complete.
    Raises ValueError, naming the argument, for a count that is not a positive integer.
    """
    for name, value in (("users", users), ("items", items), ("events", events)):
        _check_count(name, value)
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    catalog = _make_catalog(rng, items)
    taste = _Taste(catalog, int(rng.integers(2**62)))
    shoppers = _make_shoppers(rng, users, taste)
    sessions = _make_sessions(rng, events, shoppers, taste)
    summary = DemoStoreSummary(
        items_path=out / "items.csv", users_path=out / "users.csv", events_path=out / "events.csv",
        items=items, users=users, events=events, sessions=len(sessions.start),
        anonymous_sessions=int(np.count_nonzero(sessions.user < 0)),
    )
    _write_table(summary.users_path, _users_table(rng, shoppers, sessions))
    first_seen = _write_events(summary.events_path, rng, sessions, shoppers, taste, catalog)
    _write_table(summary.items_path, _items_table(rng, catalog, first_seen))
    _LOG.info("demo_store_written dir=%s items=%d users=%d events=%d sessions=%d seconds=%.1f",
              out, items, users, events, summary.sessions, time.perf_counter() - started)
    return summary


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


# --- catalog -------------------------------------------------------------------------------------

def _make_catalog(rng: np.random.Generator, n_items: int) -> _Catalog:
    """Items in long-tailed categories, made by tiered brands, with lognormal prices."""
    n_cat = int(np.clip(n_items // 10, 1, len(_CATEGORIES)))
    sizes = _long_tail_split(rng, n_items, n_cat, floor=min(3, n_items // n_cat))
    category = rng.permutation(np.repeat(np.arange(n_cat), sizes))
    brand_home = np.repeat(np.arange(n_cat), _brands_per_category(sizes))
    brand_weight = rng.lognormal(0.0, 1.0, len(brand_home))
    brand = _assign_brands(rng, category, brand_home, brand_weight)
    brand_tier = rng.choice(3, len(brand_home), p=_TIER_SHARE)
    cents = _draw_prices(rng, category, brand_tier[brand], n_cat)
    # Zipf over a random ranking, tilted by brand appeal: a few hits, a long tail.
    popularity = (rng.permutation(n_items) + 1.0) ** -1.1 * np.sqrt(brand_weight[brand])
    brand_names = _brand_names(rng, len(brand_home))
    return _Catalog(
        category=category, brand=brand, cents=cents, popularity=popularity,
        in_stock=rng.random(n_items) >= 0.08,
        listed_at=END - rng.integers(_DAY, _ITEM_DAYS * _DAY, n_items),
        title=_titles(rng, category, brand, brand_names),
        category_names=[c[0] for c in _CATEGORIES[:n_cat]], brand_names=brand_names,
    )


def _long_tail_split(rng: np.random.Generator, total: int, parts: int, floor: int) -> np.ndarray:
    """Split ``total`` into ``parts`` Zipf-weighted sizes of at least ``floor`` each."""
    weight = 1.0 / (rng.permutation(parts) + 1.0) ** 0.9
    return floor + rng.multinomial(total - floor * parts, weight / weight.sum())


def _brands_per_category(sizes: np.ndarray) -> np.ndarray:
    """About one brand per 40 items, at least a few per category (fewer only if it is tiny)."""
    wanted = max(int(sizes.sum()) // 40, 3 * len(sizes))
    share = np.rint(wanted * sizes / sizes.sum()).astype(np.int64)
    return np.maximum(share, np.minimum(3, sizes))


def _assign_brands(rng: np.random.Generator, category: np.ndarray, home: np.ndarray,
                   weight: np.ndarray) -> np.ndarray:
    """Mostly a brand of the item's own category; a few items extend a brand elsewhere."""
    n = len(category)
    own = _GroupSampler(home, weight, int(home.max()) + 1).draw(category, rng.random(n))
    anywhere = _GroupSampler(np.zeros(len(home), np.int64), weight, 1).draw(np.zeros(n, np.int64), rng.random(n))
    return np.where(rng.random(n) < 0.06, anywhere, own)


def _draw_prices(rng: np.random.Generator, category: np.ndarray, tier: np.ndarray, n_cat: int) -> np.ndarray:
    """Prices in cents: lognormal around the category median, shifted by brand tier."""
    median = np.array([c[1] for c in _CATEGORIES[:n_cat]], float)
    sigma = rng.uniform(0.3, 0.55, n_cat)
    price = median[category] * _TIER_PRICE[tier] * np.exp(sigma[category] * rng.standard_normal(len(category)))
    charm = np.maximum(np.rint(price), 1) * 100 - 1  # 84.99-style pricing above ten
    small = np.maximum(np.rint(price * 20) * 5, 50)  # cheap goods in steps of five cents
    return np.where(price >= 10, charm, small).astype(np.int64)


def _price_terciles(category: np.ndarray, cents: np.ndarray, n_cat: int) -> np.ndarray:
    """0/1/2 for the cheapest, middle and dearest third of each category."""
    order = np.lexsort((np.arange(len(cents)), cents, category))
    sizes = np.bincount(category, minlength=n_cat)
    starts = np.cumsum(sizes) - sizes
    rank = np.empty(len(cents), np.int64)
    rank[order] = np.arange(len(cents)) - starts[category[order]]
    return rank * 3 // sizes[category]


def _brand_names(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct made-up brand names such as "Norwood" or "Velatek"."""
    parts = len(_BRAND_HEADS), len(_BRAND_MIDDLES), len(_BRAND_TAILS)
    combos = parts[0] * parts[1] * parts[2]
    picks = rng.permutation(combos)[np.arange(n) % combos]
    names = []
    for k, code in enumerate(picks.tolist()):
        head, rest = divmod(code, parts[1] * parts[2])
        middle, tail = divmod(rest, parts[2])
        suffix = f" {k // combos + 1}" if k >= combos else ""
        names.append(_BRAND_HEADS[head] + _BRAND_MIDDLES[middle] + _BRAND_TAILS[tail] + suffix)
    return names


def _titles(rng: np.random.Generator, category: np.ndarray, brand: np.ndarray, brand_names: list[str]) -> pa.Array:
    """Titles like "Acme Trail Running Shoe 42": brand, product line, noun, model number."""
    n_cat = int(category.max()) + 1
    lines = [c[2].split("|") for c in _CATEGORIES[:n_cat]]
    nouns = [c[3].split("|") for c in _CATEGORIES[:n_cat]]
    line = _pick_word(rng, category, lines)
    noun = _pick_word(rng, category, nouns)
    model = pc.cast(pa.array(rng.integers(1, 1000, len(category))), pa.string())
    return pc.binary_join_element_wise(pa.array(brand_names).take(pa.array(brand)), line, noun, model, " ")


def _pick_word(rng: np.random.Generator, category: np.ndarray, words: list[list[str]]) -> pa.Array:
    counts = np.array([len(w) for w in words])
    offsets = np.cumsum(counts) - counts
    index = offsets[category] + rng.integers(0, counts[category])
    return pa.array([w for group in words for w in group]).take(pa.array(index))


# --- shoppers and sessions ------------------------------------------------------------------------

def _make_shoppers(rng: np.random.Generator, n_users: int, taste: _Taste) -> _Shoppers:
    """Registered users with 1-3 favourite categories, brand loyalty and a price tercile."""
    favourites = _favourite_categories(rng, n_users, taste.category_mass ** 0.7)
    n_fav = np.minimum(rng.choice([1, 2, 3], n_users, p=[0.3, 0.4, 0.3]), taste.n_categories)
    weight = -np.sort(-rng.gamma(np.array([4.0, 1.5, 1.0]), size=(n_users, 3)), axis=1)
    weight[np.arange(3) >= n_fav[:, None]] = 0.0
    cum = np.cumsum(weight, axis=1) / weight.sum(axis=1, keepdims=True)
    cum[np.arange(3) >= n_fav[:, None] - 1] = 1.0  # make the last used slot exactly 1
    return _Shoppers(
        favourites=favourites, favourite_cum=cum,
        tercile=rng.choice(3, n_users, p=[0.4, 0.4, 0.2]),
        loyalty=rng.beta(2.5, 2.5, n_users),
        cart_rate=np.minimum(0.16 * rng.lognormal(-0.06, 0.35, n_users), 0.6),
        channel=rng.choice(4, n_users, p=_CHANNEL_SHARE),
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


def _make_sessions(rng: np.random.Generator, n_events: int, shoppers: _Shoppers, taste: _Taste) -> _Sessions:
    """Sessions, sorted by start time, whose views, carts and purchases add up to ``n_events``."""
    parts: list[_Sessions] = []
    total = 0
    while total < n_events:
        part = _draw_sessions(rng, int((n_events - total) / 5.5) + 16, shoppers, taste)
        part = part.take(part.start < END - _SESSION_SPAN)  # every event lands before END
        parts.append(part)
        total += int((part.views + part.carts + part.purchases).sum())
    sessions = _truncate(_Sessions.concat(parts), n_events)
    return sessions.take(np.argsort(sessions.start, kind="stable"))


def _draw_sessions(rng: np.random.Generator, n: int, shoppers: _Shoppers, taste: _Taste) -> _Sessions:
    """``n`` sessions: a third anonymous, the rest owned by users in proportion to their activity."""
    anonymous = rng.random(n) < 0.3
    owner = _GroupSampler(np.zeros(len(shoppers.activity), np.int64), shoppers.activity, 1)
    user = np.where(anonymous, -1, owner.draw(np.zeros(n, np.int64), rng.random(n)))
    known = np.maximum(user, 0)
    views = np.minimum(rng.geometric(np.where(anonymous, 1 / 3.5, 1 / 5.5)), _MAX_VIEWS)
    carts = rng.binomial(views, np.where(anonymous, 0.11, shoppers.cart_rate[known]))
    purchases = rng.binomial(carts, np.where(anonymous, 0.42, 0.52))
    return _Sessions(
        start=_session_starts(rng, n), user=user, channel=_session_channels(rng, anonymous, shoppers.channel[known]),
        category=_session_categories(rng, anonymous, known, shoppers, taste),
        tercile=np.where(anonymous, rng.choice(3, n, p=[0.4, 0.4, 0.2]), shoppers.tercile[known]),
        views=views, carts=carts, purchases=purchases,
    )


def _session_starts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Start times with growth over the window, busier weekends and a daily rhythm."""
    first_day = END // _DAY - _EVENT_DAYS
    days = np.arange(first_day, first_day + _EVENT_DAYS)
    weight = (1.0 + 0.3 * np.arange(_EVENT_DAYS) / _EVENT_DAYS) * np.where((days + 3) % 7 >= 5, 1.2, 1.0)
    day = rng.choice(days, n, p=weight / weight.sum())
    hour = rng.choice(24, n, p=_HOUR_SHARE / _HOUR_SHARE.sum())
    return day * _DAY + hour * 3600 + rng.integers(0, 3600, n)


def _session_channels(rng: np.random.Generator, anonymous: np.ndarray, preferred: np.ndarray) -> np.ndarray:
    """Users mostly come through their preferred channel; anonymous visitors mostly through the web."""
    n = len(anonymous)
    other = np.where(anonymous, rng.choice(4, n, p=_ANON_CHANNEL_SHARE), rng.choice(4, n, p=_CHANNEL_SHARE))
    return np.where(~anonymous & (rng.random(n) < 0.8), preferred, other)


def _session_categories(rng: np.random.Generator, anonymous: np.ndarray, user: np.ndarray,
                        shoppers: _Shoppers, taste: _Taste) -> np.ndarray:
    """Mostly one of the user's favourites; anonymous visitors browse by popularity."""
    n = len(user)
    u = rng.random(n)
    slot = (u > shoppers.favourite_cum[user, 0]).astype(np.int64) + (u > shoppers.favourite_cum[user, 1])
    favourite = shoppers.favourites[user, slot]
    wander = anonymous | (rng.random(n) >= 0.9)
    return np.where(wander, taste.explore(rng.random(n)), favourite)


def _truncate(sessions: _Sessions, n_events: int) -> _Sessions:
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


# --- events ---------------------------------------------------------------------------------------

def _write_events(path: Path, rng: np.random.Generator, sessions: _Sessions, shoppers: _Shoppers,
                  taste: _Taste, catalog: _Catalog) -> np.ndarray:
    """Generate events chunk by chunk and append them in time order; return each item's first event time.

    A chunk's events are emitted up to the next chunk's first session start; later
    ones carry over, so the file is globally sorted without holding every event.
    """
    sizes = sessions.views + sessions.carts + sessions.purchases
    bounds = np.unique(np.searchsorted(np.cumsum(sizes), np.arange(0, sizes.sum(), _CHUNK_EVENTS), "right"))
    bounds = np.append(bounds, len(sizes))
    first_seen = np.full(len(catalog.category), np.iinfo(np.int64).max)
    formatter = _EventFormatter(sessions, len(shoppers.activity), len(catalog.category))
    carry = _Events(*(np.empty(0, np.int64) for _ in fields(_Events)))
    with _csv_writer(path, _EVENTS_SCHEMA) as writer, \
            tqdm(total=int(sizes.sum()), unit="event", unit_scale=True, disable=None, desc="events") as bar:
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            batch = _Events.concat([carry, _session_events(rng, sessions, lo, hi, shoppers, taste, catalog)])
            batch = batch.take(np.argsort(batch.ts, kind="stable"))
            cut = int(np.searchsorted(batch.ts, sessions.start[hi])) if hi < len(sizes) else len(batch.ts)
            emit, carry = batch.take(slice(0, cut)), batch.take(slice(cut, None))
            writer.write_table(formatter.table(emit))
            _note_first_seen(first_seen, emit)
            bar.update(cut)
    return first_seen


def _note_first_seen(first_seen: np.ndarray, events: _Events) -> None:
    """Lower each item's first-seen time to its earliest event among ``events`` (sorted by time)."""
    item, first = np.unique(events.item, return_index=True)
    first_seen[item] = np.minimum(first_seen[item], events.ts[first])


def _session_events(rng: np.random.Generator, sessions: _Sessions, lo: int, hi: int, shoppers: _Shoppers,
                    taste: _Taste, catalog: _Catalog) -> _Events:
    """All events of sessions ``lo:hi``: views, carts of some viewed items, purchases of some carts."""
    s = sessions.take(slice(lo, hi))
    local = np.repeat(np.arange(hi - lo), s.views)
    first = np.cumsum(s.views) - s.views
    views = _views(rng, s, local, first, shoppers, taste, catalog)
    session, n = local + lo, len(local)
    # The first `carts` views of a session in a random order are carted, the first `purchases` bought.
    rank = _random_rank(rng, local, first)
    qty = 1 + np.minimum(rng.poisson(np.where(views.cents < 3000, 0.5, 0.08)), 8)  # cheap goods by the handful
    carts = _Events(views.ts + rng.integers(5, 66, n), session, views.item, np.ones(n, np.int8), qty, views.cents)
    # Checkout is at least 120 s after the last view, so after every cart (at most 65 s after its view).
    checkout = views.ts[first + s.views - 1] + rng.integers(120, _MAX_CHECKOUT + 1, len(first))
    discount = np.where(rng.random(n) < 0.1, rng.uniform(0.05, 0.3, n), 0.0)
    paid = np.rint(views.cents * (1 - discount)).astype(np.int64)
    purchases = _Events(checkout[local], session, views.item, np.full(n, 2, np.int8), qty, paid)
    views = _Events(views.ts, session, views.item, views.kind, views.qty, views.cents)
    return _Events.concat([views, carts.take(rank < s.carts[local]), purchases.take(rank < s.purchases[local])])


def _views(rng: np.random.Generator, s: _Sessions, local: np.ndarray, first: np.ndarray,
           shoppers: _Shoppers, taste: _Taste, catalog: _Catalog) -> _Events:
    """Views that mostly stay in the session's category and price tercile, minutes apart."""
    n = len(local)
    user = s.user[local]
    category = np.where(rng.random(n) < 0.9, s.category[local], taste.explore(rng.random(n)))
    tercile = np.where(rng.random(n) < 0.75, s.tercile[local], rng.integers(0, 3, n))
    loyal = (user >= 0) & (rng.random(n) < shoppers.loyalty[np.maximum(user, 0)])
    item = taste.pick(category, tercile, user, loyal, rng.random(n))
    gap = np.minimum(8 + rng.exponential(70.0, n), _MAX_GAP).astype(np.int64)
    gap[first] = 0
    elapsed = np.cumsum(gap)
    ts = s.start[local] + elapsed - elapsed[first][local]
    return _Events(ts=ts, session=local, item=item, kind=np.zeros(n, np.int8),
                   qty=np.ones(n, np.int64), cents=catalog.cents[item])


def _random_rank(rng: np.random.Generator, group: np.ndarray, first: np.ndarray) -> np.ndarray:
    """A random order (0, 1, ...) of the rows within each contiguous group."""
    # Group-major, random within; the 0.5 keeps float rounding from crossing into the next group.
    order = np.argsort(group + 0.5 * rng.random(len(group)))
    rank = np.empty(len(group), np.int64)
    rank[order] = np.arange(len(group)) - first[group[order]]
    return rank


def _unit_hash(key: np.ndarray, salt: int) -> np.ndarray:
    """A fixed uniform in [0, 1) per key (splitmix64), so a user's favourite brand never changes."""
    z = key.astype(np.uint64) + np.uint64(salt) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


# --- formatting and writing -----------------------------------------------------------------------

class _EventFormatter:
    """Turns event arrays into the CSV's string columns, numbering events as they are written."""

    def __init__(self, sessions: _Sessions, n_users: int, n_items: int) -> None:
        self._sessions = sessions
        self._written = 0
        n_events = int((sessions.views + sessions.carts + sessions.purchases).sum())
        self._widths = (len(str(n_events)), len(str(len(sessions.start))), len(str(n_items)), len(str(n_users)))

    def table(self, e: _Events) -> pa.Table:
        event_w, session_w, item_w, user_w = self._widths
        user = self._sessions.user[e.session]
        number = np.arange(self._written + 1, self._written + len(e.ts) + 1)
        self._written += len(e.ts)
        columns = [
            _ids("e", number, event_w), _timestamps(e.ts), _ids("u", user + 1, user_w, mask=user < 0),
            _ids("s", e.session + 1, session_w), _ids("i", e.item + 1, item_w),
            pa.array(list(_EVENT_TYPES)).take(pa.array(e.kind)), pa.array(e.qty, pa.int64()), _prices(e.cents),
            pa.array(list(_CHANNELS)).take(pa.array(self._sessions.channel[e.session])),
        ]
        return pa.Table.from_arrays(columns, schema=_EVENTS_SCHEMA)


def _users_table(rng: np.random.Generator, shoppers: _Shoppers, sessions: _Sessions) -> pa.Table:
    """Users; a signup never postdates the user's first session."""
    n = len(shoppers.activity)
    first = np.full(n, np.iinfo(np.int64).max)
    known = sessions.user >= 0
    np.minimum.at(first, sessions.user[known], sessions.start[known])
    signup = END - (rng.power(0.8, n) * _SIGNUP_DAYS * _DAY).astype(np.int64) - 1
    signup = np.minimum(signup, first - rng.integers(60, 14 * _DAY, n))
    columns = [
        _ids("u", np.arange(1, n + 1), len(str(n))), _timestamps(signup),
        pa.array(list(_COUNTRIES)).take(pa.array(rng.choice(len(_COUNTRIES), n, p=_COUNTRY_SHARE))),
        pa.array(list(_AGE_BANDS)).take(pa.array(rng.choice(len(_AGE_BANDS), n, p=_AGE_SHARE))),
        pa.array(rng.random(n) < 0.9),
    ]
    return pa.Table.from_arrays(columns, schema=_USERS_SCHEMA)


def _items_table(rng: np.random.Generator, catalog: _Catalog, first_seen: np.ndarray) -> pa.Table:
    """Items; an item is listed before its first event."""
    n = len(catalog.category)
    listed = np.minimum(catalog.listed_at, first_seen - rng.integers(3600, 30 * _DAY, n))
    columns = [
        _ids("i", np.arange(1, n + 1), len(str(n))), catalog.title,
        pa.array(catalog.category_names).take(pa.array(catalog.category)),
        pa.array(catalog.brand_names).take(pa.array(catalog.brand)),
        _prices(catalog.cents), pa.array(catalog.in_stock), _timestamps(listed),
    ]
    return pa.Table.from_arrays(columns, schema=_ITEMS_SCHEMA)


def _ids(prefix: str, number: np.ndarray, width: int, mask: np.ndarray | None = None) -> pa.Array:
    """Ids like ``u0045``: prefix plus zero-padded number; masked entries become empty."""
    digits = pc.utf8_lpad(pc.cast(pa.array(number, pa.int64(), mask=mask), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _prices(cents: np.ndarray) -> pa.Array:
    """Prices with two decimals, e.g. ``84.99``."""
    whole = pc.cast(pa.array(cents // 100), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), width=2, padding="0")
    return pc.binary_join_element_wise(whole, fraction, ".")


def _timestamps(ts: np.ndarray) -> pa.Array:
    """ISO-8601 UTC seconds (``2026-05-01T12:34:56Z``) via day and time-of-day lookup tables.

    Far faster than strftime, which matters for ten million events.
    """
    day = ts // _DAY
    lo = int(day.min()) if len(day) else 0
    hi = int(day.max()) + 1 if len(day) else 1
    dates = pa.array(np.arange(lo, hi).astype("datetime64[D]").astype(str).tolist())
    return pc.binary_join_element_wise(dates.take(pa.array(day - lo)), _times_of_day().take(pa.array(ts % _DAY)), "")


@lru_cache(maxsize=1)
def _times_of_day() -> pa.Array:
    return pa.array([f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(_DAY)])


def _write_table(path: Path, table: pa.Table) -> None:
    with _csv_writer(path, table.schema) as writer:
        writer.write_table(table)


@contextmanager
def _csv_writer(path: Path, schema: pa.Schema) -> Iterator[pacsv.CSVWriter]:
    """A CSV writer on a temporary name, moved into place only on success.

    So a crash or an interrupt never leaves a half-written file under the real name.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with pacsv.CSVWriter(tmp, schema, write_options=_WRITE_OPTIONS) as writer:
            yield writer
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
