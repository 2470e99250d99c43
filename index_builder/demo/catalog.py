"""The demo store's catalog: long-tailed categories, tiered brands, prices and titles.

Part of :mod:`index_builder.demo`; writes ``items.csv`` once the event log has
said when each item was first seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from index_builder.demo.csv import ids, prices, timestamps
from index_builder.demo.sampling import GroupSampler
from index_builder.demo.vocabulary import (
    BRAND_HEADS,
    BRAND_MIDDLES,
    BRAND_TAILS,
    CATEGORIES,
    DAY,
    END,
    ITEM_DAYS,
    TIER_PRICE,
    TIER_SHARE,
)

_ITEMS_SCHEMA = pa.schema([("item_id", pa.string()), ("title", pa.string()), ("category", pa.string()),
                           ("brand", pa.string()), ("price", pa.string()), ("in_stock", pa.bool_()),
                           ("created_at", pa.string())])


@dataclass(frozen=True)
class Catalog:
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


def make_catalog(rng: np.random.Generator, n_items: int) -> Catalog:
    """Items in long-tailed categories, made by tiered brands, with lognormal prices."""
    n_cat = int(np.clip(n_items // 10, 1, len(CATEGORIES)))
    sizes = _long_tail_split(rng, n_items, n_cat, floor=min(3, n_items // n_cat))
    category = rng.permutation(np.repeat(np.arange(n_cat), sizes))
    brand_home = np.repeat(np.arange(n_cat), _brands_per_category(sizes))
    brand_weight = rng.lognormal(0.0, 1.0, len(brand_home))
    brand = _assign_brands(rng, category, brand_home, brand_weight)
    brand_tier = rng.choice(3, len(brand_home), p=TIER_SHARE)
    cents = _draw_prices(rng, category, brand_tier[brand], n_cat)
    # Zipf over a random ranking, tilted by brand appeal: a few hits, a long tail.
    popularity = (rng.permutation(n_items) + 1.0) ** -1.1 * np.sqrt(brand_weight[brand])
    brand_names = _brand_names(rng, len(brand_home))
    return Catalog(
        category=category, brand=brand, cents=cents, popularity=popularity,
        in_stock=rng.random(n_items) >= 0.08,
        listed_at=END - rng.integers(DAY, ITEM_DAYS * DAY, n_items),
        title=_titles(rng, category, brand, brand_names),
        category_names=[c[0] for c in CATEGORIES[:n_cat]], brand_names=brand_names,
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
    own = GroupSampler(home, weight, int(home.max()) + 1).draw(category, rng.random(n))
    anywhere = GroupSampler(np.zeros(len(home), np.int64), weight, 1).draw(np.zeros(n, np.int64), rng.random(n))
    return np.where(rng.random(n) < 0.06, anywhere, own)


def _draw_prices(rng: np.random.Generator, category: np.ndarray, tier: np.ndarray, n_cat: int) -> np.ndarray:
    """Prices in cents: lognormal around the category median, shifted by brand tier."""
    median = np.array([c[1] for c in CATEGORIES[:n_cat]], float)
    sigma = rng.uniform(0.3, 0.55, n_cat)
    price = median[category] * TIER_PRICE[tier] * np.exp(sigma[category] * rng.standard_normal(len(category)))
    charm = np.maximum(np.rint(price), 1) * 100 - 1  # 84.99-style pricing above ten
    small = np.maximum(np.rint(price * 20) * 5, 50)  # cheap goods in steps of five cents
    return np.where(price >= 10, charm, small).astype(np.int64)


def _brand_names(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct made-up brand names such as "Norwood" or "Velatek"."""
    parts = len(BRAND_HEADS), len(BRAND_MIDDLES), len(BRAND_TAILS)
    combos = parts[0] * parts[1] * parts[2]
    picks = rng.permutation(combos)[np.arange(n) % combos]
    names = []
    for k, code in enumerate(picks.tolist()):
        head, rest = divmod(code, parts[1] * parts[2])
        middle, tail = divmod(rest, parts[2])
        suffix = f" {k // combos + 1}" if k >= combos else ""
        names.append(BRAND_HEADS[head] + BRAND_MIDDLES[middle] + BRAND_TAILS[tail] + suffix)
    return names


def _titles(rng: np.random.Generator, category: np.ndarray, brand: np.ndarray, brand_names: list[str]) -> pa.Array:
    """Titles like "Acme Trail Running Shoe 42": brand, product line, noun, model number."""
    n_cat = int(category.max()) + 1
    lines = [c[2].split("|") for c in CATEGORIES[:n_cat]]
    nouns = [c[3].split("|") for c in CATEGORIES[:n_cat]]
    line = _pick_word(rng, category, lines)
    noun = _pick_word(rng, category, nouns)
    model = pc.cast(pa.array(rng.integers(1, 1000, len(category))), pa.string())
    return pc.binary_join_element_wise(pa.array(brand_names).take(pa.array(brand)), line, noun, model, " ")


def _pick_word(rng: np.random.Generator, category: np.ndarray, words: list[list[str]]) -> pa.Array:
    counts = np.array([len(w) for w in words])
    offsets = np.cumsum(counts) - counts
    index = offsets[category] + rng.integers(0, counts[category])
    return pa.array([w for group in words for w in group]).take(pa.array(index))


def items_table(rng: np.random.Generator, catalog: Catalog, first_seen: np.ndarray) -> pa.Table:
    """Items; an item is listed before its first event."""
    n = len(catalog.category)
    listed = np.minimum(catalog.listed_at, first_seen - rng.integers(3600, 30 * DAY, n))
    columns = [
        ids("i", np.arange(1, n + 1), len(str(n))), catalog.title,
        pa.array(catalog.category_names).take(pa.array(catalog.category)),
        pa.array(catalog.brand_names).take(pa.array(catalog.brand)),
        prices(catalog.cents), pa.array(catalog.in_stock), timestamps(listed),
    ]
    return pa.Table.from_arrays(columns, schema=_ITEMS_SCHEMA)
