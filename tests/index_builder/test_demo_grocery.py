"""The demo store's consumables behave like real grocery order logs (index_builder/demo/restock.py).

Measured on a generated store, on known shoppers' purchase lines; a basket is one shopper's purchases
on one day. The bands are what Instacart-like logs show (from a shopper's second order on, 50-70 % of
the lines are rebuys; each product has its own cycle; a few new items per basket, mostly in aisles
the shopper already buys), not the generator's parameters read back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow.csv as pacsv
import pytest

from index_builder.demo.store import write_demo_store
from index_builder.demo.vocabulary import DAY, REPURCHASE_DAYS


@dataclass(frozen=True)
class Lines:
    """Purchase lines of known shoppers in time order, as integer codes."""

    user: np.ndarray
    item: np.ndarray
    day: np.ndarray
    consumable: np.ndarray
    category: np.ndarray  # category code of the item
    cycle: np.ndarray  # the item's aisle's typical days (REPURCHASE_DAYS), 0 for durables

    @property
    def rebuy(self) -> np.ndarray:
        """Lines of an item the shopper bought on an earlier day."""
        return self.day > _first(self.user * np.int64(self.item.max() + 1) + self.item, self.day)

    @property
    def later(self) -> np.ndarray:
        """Lines from the shopper's second purchase day on."""
        return self.day > _first(self.user, self.day)

    @property
    def basket(self) -> np.ndarray:
        return np.unique(self.user * np.int64(100_000) + self.day, return_inverse=True)[1]


def _first(key: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Per row, the earliest day of its key."""
    codes = np.unique(key, return_inverse=True)[1]
    first = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, day)
    return first[codes]


def read_lines(directory: str) -> Lines:
    strings = {name: "string" for name in ("ts", "user_id", "item_id", "type", "category")}
    options = pacsv.ConvertOptions(column_types=strings, strings_can_be_null=False)
    events = pacsv.read_csv(f"{directory}/events.csv", convert_options=options)
    items = pacsv.read_csv(f"{directory}/items.csv", convert_options=options)
    column = lambda table, name: table[name].to_numpy(zero_copy_only=False).astype(str)  # noqa: E731
    kind, user = column(events, "type"), column(events, "user_id")
    bought = (kind == "purchase") & (user != "")
    item_ids, category_names = column(items, "item_id"), column(items, "category")
    row = np.searchsorted(item_ids, column(events, "item_id")[bought])  # item ids sort as their numbers
    names, category = np.unique(category_names, return_inverse=True)
    cycle = np.array([REPURCHASE_DAYS.get(name, 0.0) for name in names])[category[row]]
    seconds = np.char.rstrip(column(events, "ts")[bought], "Z").astype("datetime64[s]").astype(np.int64)
    return Lines(user=np.unique(user[bought], return_inverse=True)[1], item=row, day=seconds // DAY,
                 consumable=cycle > 0, category=category[row], cycle=cycle)


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> Lines:
    out = tmp_path_factory.mktemp("grocery")
    write_demo_store(out, users=2000, items=1000, events=60_000, seed=7)
    return read_lines(str(out))


def test_most_lines_from_the_second_purchase_day_on_are_rebuys(lines: Lines) -> None:
    share = float(np.mean(lines.rebuy[lines.later]))
    assert 0.5 <= share <= 0.7, share
    assert np.count_nonzero(lines.later) > 2000


def test_grocery_baskets_hold_several_lines_mostly_rebuys(lines: Lines) -> None:
    """A trip buys what is due together: many baskets of three lines or more, most of each a rebuy."""
    basket, later = lines.basket, lines.later
    size = np.bincount(basket[later], minlength=basket.max() + 1)
    big = size[basket] >= 3
    assert np.mean(size[np.unique(basket[later])] >= 3) >= 0.2
    assert 0.5 <= np.mean(lines.rebuy[later & big]) <= 0.8


def product_gaps(lines: Lines) -> tuple[np.ndarray, np.ndarray]:
    """(item, days) of every gap between two purchase days of one shopper and one consumable."""
    pair = lines.user * np.int64(lines.item.max() + 1) + lines.item
    keys = np.unique((pair * 1_000_000 + lines.day)[lines.consumable])  # one row per pair and day, sorted
    pair, day = keys // 1_000_000, keys % 1_000_000
    same = pair[1:] == pair[:-1]
    return (pair[1:] % (lines.item.max() + 1))[same], np.diff(day)[same]


def test_gaps_cluster_around_each_products_cycle(lines: Lines) -> None:
    item, gap = product_gaps(lines)
    products, at, count = np.unique(item, return_inverse=True, return_counts=True)
    median = np.array([np.median(gap[at == p]) for p in range(len(products))])
    # A product's gaps sit near its own median cycle: not memoryless (an exponential puts about 35 % of
    # gaps within a factor 1.5 of its median), and not one store-wide cycle either.
    near = (gap >= median[at] / 1.5) & (gap <= median[at] * 1.5)
    often = count >= 8
    assert often.sum() >= 30
    assert np.median(np.bincount(at, weights=near)[often] / count[often]) >= 0.6
    # Each aisle's products keep to its typical cycle, and milk comes round sooner than detergent.
    cycle = lines.cycle[_first_row(lines.item, products)]
    ratio = median[often] / cycle[often]
    assert 0.7 <= np.median(ratio) <= 1.4, np.median(ratio)
    short, long = median[often & (cycle <= 8)], median[often & (cycle >= 30)]
    assert len(short) and len(long) and np.median(short) * 2 < np.median(long)


def _first_row(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    return order[np.searchsorted(values[order], wanted)]


def test_durables_are_never_bought_twice(lines: Lines) -> None:
    durable = ~lines.consumable
    pairs, count = np.unique((lines.user * np.int64(lines.item.max() + 1) + lines.item)[durable],
                             return_counts=True)
    assert len(pairs) > 300 and count.max() == 1


def test_baskets_add_a_few_new_items_mostly_in_aisles_already_bought(lines: Lines) -> None:
    later, new = lines.later, ~lines.rebuy
    basket = lines.basket
    baskets = np.unique(basket[later])
    new_per_basket = np.bincount(basket[later], weights=new[later], minlength=basket.max() + 1)[baskets]
    assert 0.5 <= new_per_basket.mean() <= 3.0, new_per_basket.mean()
    assert 0.4 <= np.mean(new_per_basket >= 1) <= 0.9
    # A new consumable line is mostly from an aisle the shopper bought from on an earlier day.
    aisle_first = _first(lines.user * np.int64(lines.category.max() + 1) + lines.category, lines.day)
    known_aisle = (lines.day > aisle_first)[later & new & lines.consumable]
    assert np.mean(known_aisle) >= 0.5, np.mean(known_aisle)
