"""Tests for the synthetic demo store: formats, integrity, determinism and realism."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pacsv
import pytest

from index_builder.demo.store import END, DemoStoreSummary, write_demo_store

USERS, ITEMS, EVENTS = 2000, 1000, 60_000
HEADERS = {
    "items": "item_id,title,category,brand,price,in_stock,created_at",
    "users": "user_id,signup_at,country,age_band,consent",
    "events": "event_id,ts,user_id,session_id,item_id,type,qty,price,channel",
}
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PRICE = re.compile(r"^\d+\.\d\d$")


def read_columns(path: Path) -> dict[str, np.ndarray]:
    """Every column as an array of raw strings, exactly as written."""
    header = path.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
    options = pacsv.ConvertOptions(column_types={name: "string" for name in header}, strings_can_be_null=False)
    table = pacsv.read_csv(path, convert_options=options)
    return {name: table[name].to_numpy(zero_copy_only=False).astype(str) for name in table.column_names}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DemoStoreSummary:
    return write_demo_store(tmp_path_factory.mktemp("store"), users=USERS, items=ITEMS, events=EVENTS, seed=7)


@pytest.fixture(scope="module")
def items(store: DemoStoreSummary) -> dict[str, np.ndarray]:
    return read_columns(store.items_path)


@pytest.fixture(scope="module")
def users(store: DemoStoreSummary) -> dict[str, np.ndarray]:
    return read_columns(store.users_path)


@pytest.fixture(scope="module")
def events(store: DemoStoreSummary) -> dict[str, np.ndarray]:
    return read_columns(store.events_path)


def test_headers_and_row_counts_are_exact(store: DemoStoreSummary) -> None:
    for name, path, rows in (("items", store.items_path, ITEMS), ("users", store.users_path, USERS),
                             ("events", store.events_path, EVENTS)):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0] == HEADERS[name]
        assert len(lines) == rows + 1
    assert (store.items, store.users, store.events) == (ITEMS, USERS, EVENTS)
    assert not list(store.events_path.parent.glob("*.tmp"))


def test_value_formats(items: dict[str, np.ndarray], users: dict[str, np.ndarray],
                       events: dict[str, np.ndarray]) -> None:
    assert list(items["item_id"][:2]) == ["i0001", "i0002"]
    assert list(users["user_id"][:2]) == ["u0001", "u0002"]
    assert list(events["event_id"][:2]) == ["e00001", "e00002"]
    assert all(re.fullmatch(r"s\d{4,}", s) for s in events["session_id"])
    for column in (items["created_at"], users["signup_at"], events["ts"]):
        assert all(TS.match(value) for value in column)
    for column in (items["price"], events["price"]):
        assert all(PRICE.match(value) for value in column)
    assert set(items["in_stock"]) == {"true", "false"} and set(users["consent"]) == {"true", "false"}
    assert set(events["type"]) == {"view", "cart", "purchase"}
    assert set(events["channel"]) == {"web", "app", "email", "store"}
    assert events["qty"].astype(int).min() >= 1
    assert not any("," in title or '"' in title for title in items["title"])


def test_rates_of_stock_and_consent(items: dict[str, np.ndarray], users: dict[str, np.ndarray]) -> None:
    assert 0.04 < np.mean(items["in_stock"] == "false") < 0.12
    assert 0.85 < np.mean(users["consent"] == "true") < 0.95


def test_referential_integrity(items: dict[str, np.ndarray], users: dict[str, np.ndarray],
                               events: dict[str, np.ndarray]) -> None:
    assert len(set(items["item_id"])) == ITEMS and len(set(users["user_id"])) == USERS
    assert set(events["item_id"]) <= set(items["item_id"])
    known = set(events["user_id"]) - {""}
    assert known and known <= set(users["user_id"])
    assert len(set(events["event_id"])) == EVENTS


def test_same_seed_is_byte_identical_and_other_seed_differs(store: DemoStoreSummary, tmp_path: Path) -> None:
    again = write_demo_store(tmp_path / "again", users=USERS, items=ITEMS, events=EVENTS, seed=7)
    other = write_demo_store(tmp_path / "other", users=USERS, items=ITEMS, events=EVENTS, seed=8)
    for name in ("items_path", "users_path", "events_path"):
        original = getattr(store, name).read_bytes()
        assert getattr(again, name).read_bytes() == original
        assert getattr(other, name).read_bytes() != original


def test_item_popularity_is_long_tailed(events: dict[str, np.ndarray]) -> None:
    views = np.array(sorted(Counter(events["item_id"][events["type"] == "view"]).values(), reverse=True))
    assert views[: ITEMS // 10].sum() > 0.5 * views.sum()


def test_users_concentrate_on_a_category(items: dict[str, np.ndarray], events: dict[str, np.ndarray]) -> None:
    category_of = dict(zip(items["item_id"], items["category"], strict=True))
    per_user: dict[str, Counter[str]] = defaultdict(Counter)
    for user, item in zip(events["user_id"], events["item_id"], strict=True):
        if user:
            per_user[user][category_of[item]] += 1
    shares = [max(c.values()) / c.total() for c in per_user.values() if c.total() >= 10]
    assert len(shares) > 100
    assert np.median(shares) >= 0.5


def test_users_return_to_their_favourite_category(items: dict[str, np.ndarray],
                                                  events: dict[str, np.ndarray]) -> None:
    """Across sessions, not just within one: most of a regular's sessions share a main category."""
    category_of = dict(zip(items["item_id"], items["category"], strict=True))
    per_session: dict[str, Counter[str]] = defaultdict(Counter)
    owner: dict[str, str] = {}
    for user, session, item in zip(events["user_id"], events["session_id"], events["item_id"], strict=True):
        if user:
            per_session[session][category_of[item]] += 1
            owner[session] = user
    per_user: dict[str, Counter[str]] = defaultdict(Counter)
    for session, counts in per_session.items():
        per_user[owner[session]][counts.most_common(1)[0][0]] += 1
    shares = [max(c.values()) / c.total() for c in per_user.values() if c.total() >= 4]
    assert len(shares) > 100
    assert np.median(shares) >= 0.5


def price_terciles(items: dict[str, np.ndarray]) -> dict[str, int]:
    """0/1/2 for the cheapest, middle and dearest third of each item's category."""
    price, tercile = items["price"].astype(float), {}
    for category in set(items["category"]):
        members = np.flatnonzero(items["category"] == category)
        for rank, index in enumerate(members[np.argsort(price[members], kind="stable")]):
            tercile[items["item_id"][index]] = rank * 3 // len(members)
    return tercile


def shuffled_within(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` permuted among rows of the same group: keeps group mixes, breaks everything else."""
    out, rng = values.copy(), np.random.default_rng(0)
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        out[rows] = values[rng.permutation(rows)]
    return out


def mean_top_share(owners: np.ndarray, labels: list[object]) -> float:
    """Mean, over owners with >= 8 rows, of the share of their rows carrying their commonest label."""
    counts: dict[str, Counter[object]] = defaultdict(Counter)
    for owner, label in zip(owners, labels, strict=True):
        counts[owner][label] += 1
    return float(np.mean([max(c.values()) / c.total() for c in counts.values() if c.total() >= 8]))


def test_users_keep_price_and_brand_tastes(items: dict[str, np.ndarray], events: dict[str, np.ndarray]) -> None:
    """A user's views in a category stick to a price tercile and a brand more than chance does.

    Chance is the same views with items shuffled among all users: within the category
    for the tercile, and within category and tercile for the brand (brand tiers set prices).
    """
    category = dict(zip(items["item_id"], items["category"], strict=True))
    brand = dict(zip(items["item_id"], items["brand"], strict=True))
    tercile = price_terciles(items)
    known_views = (events["type"] == "view") & (events["user_id"] != "")
    viewed = events["item_id"][known_views]
    cats = np.array([category[i] for i in viewed])
    owners = np.char.add(np.char.add(events["user_id"][known_views], "/"), cats)
    cat_terciles = np.char.add(cats, [str(tercile[i]) for i in viewed])
    for attribute, groups, margin in ((tercile, cats, 0.08), (brand, cat_terciles, 0.04)):
        baseline = shuffled_within(groups, viewed)
        real_share = mean_top_share(owners, [attribute[i] for i in viewed])
        chance_share = mean_top_share(owners, [attribute[i] for i in baseline])
        assert real_share >= chance_share + margin


def test_funnel_narrows_and_purchases_follow_carts(events: dict[str, np.ndarray]) -> None:
    kinds = Counter(events["type"])
    assert kinds["view"] > kinds["cart"] > kinds["purchase"] > 0
    assert 0.10 <= kinds["cart"] / kinds["view"] <= 0.20
    assert 0.40 <= kinds["purchase"] / kinds["cart"] <= 0.60
    carted: set[tuple[str, str]] = set()
    for session, item, kind in zip(events["session_id"], events["item_id"], events["type"], strict=True):
        if kind == "cart":
            carted.add((session, item))
        elif kind == "purchase":
            assert (session, item) in carted


def test_sessions_have_one_user_and_a_third_are_anonymous(events: dict[str, np.ndarray]) -> None:
    user_of: dict[str, set[str]] = defaultdict(set)
    for session, user in zip(events["session_id"], events["user_id"], strict=True):
        user_of[session].add(user)
    assert all(len(u) == 1 for u in user_of.values())
    anonymous = sum(1 for u in user_of.values() if u == {""})
    assert 0.2 <= anonymous / len(user_of) <= 0.4


def test_events_sorted_and_span_months_before_end(events: dict[str, np.ndarray]) -> None:
    ts = np.array([datetime.fromisoformat(t).timestamp() for t in events["ts"]])
    assert np.all(np.diff(ts) >= 0)
    assert ts.max() < END
    assert ts.max() - ts.min() >= 90 * 86_400


def test_events_within_a_session_are_minutes_apart(events: dict[str, np.ndarray]) -> None:
    ts = np.array([datetime.fromisoformat(t).timestamp() for t in events["ts"]])
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for session, t in zip(events["session_id"], ts, strict=True):
        first.setdefault(session, t)
        last[session] = t
    durations = np.array([last[s] - first[s] for s in first])
    assert 60 <= np.median(durations) <= 3600
    assert durations.max() < 12 * 3600


def test_signups_and_listings_precede_activity(items: dict[str, np.ndarray], users: dict[str, np.ndarray],
                                               events: dict[str, np.ndarray]) -> None:
    signup = dict(zip(users["user_id"], users["signup_at"], strict=True))
    listed = dict(zip(items["item_id"], items["created_at"], strict=True))
    # ISO strings of one fixed format compare like the instants they name.
    assert all(signup[u] <= t for u, t in zip(events["user_id"], events["ts"], strict=True) if u)
    assert all(listed[i] <= t for i, t in zip(events["item_id"], events["ts"], strict=True))
    assert min(items["created_at"]) < "2025-03-01"


def test_category_prices_differ(items: dict[str, np.ndarray]) -> None:
    prices: dict[str, list[float]] = defaultdict(list)
    for category, price in zip(items["category"], items["price"].astype(float), strict=True):
        prices[category].append(price)
    assert 20 <= len(prices) <= 40
    medians = {category: np.median(p) for category, p in prices.items()}
    assert max(medians.values()) >= 10 * min(medians.values())
    assert medians["laptops"] >= 20 * medians["coffee"]


def test_brands_mostly_belong_to_one_category(items: dict[str, np.ndarray]) -> None:
    per_brand: dict[str, Counter[str]] = defaultdict(Counter)
    for brand, category in zip(items["brand"], items["category"], strict=True):
        per_brand[brand][category] += 1
    home_share = sum(max(c.values()) for c in per_brand.values()) / ITEMS
    assert home_share > 0.85
    assert all(brand in title for brand, title in zip(items["brand"], items["title"], strict=True))


def test_tiny_store(tmp_path: Path) -> None:
    summary = write_demo_store(tmp_path, users=50, items=30, events=500)
    assert len(read_columns(summary.events_path)["event_id"]) == 500
    assert len(read_columns(summary.items_path)["item_id"]) == 30
    assert len(read_columns(summary.users_path)["user_id"]) == 50


def test_single_row_store(tmp_path: Path) -> None:
    summary = write_demo_store(tmp_path, users=1, items=1, events=1)
    events = read_columns(summary.events_path)
    assert list(events["type"]) == ["view"] and list(events["item_id"]) == ["i1"]


@pytest.mark.parametrize("argument", ["users", "items", "events"])
@pytest.mark.parametrize("value", [0, -5, 2.5, True])
def test_bad_counts_raise_value_error_naming_the_argument(tmp_path: Path, argument: str, value: object) -> None:
    wrong: dict[str, Any] = {argument: value}  # Any: a wrong type is the point of the test
    with pytest.raises(ValueError, match=argument):
        write_demo_store(tmp_path, **wrong)
    assert not list(tmp_path.iterdir())


def test_consumables_are_rebought_on_their_cycles(items: dict[str, np.ndarray], events: dict[str, np.ndarray]) -> None:
    """Shoppers restock consumables again and again, about one category cycle apart; other goods rarely."""
    from index_builder.demo.vocabulary import REPURCHASE_DAYS

    category = dict(zip(items["item_id"], items["category"], strict=True))
    bought: dict[tuple[str, str], list[float]] = defaultdict(list)
    purchase = (events["type"] == "purchase") & (events["user_id"] != "")
    for user, item, ts in zip(events["user_id"][purchase], events["item_id"][purchase], events["ts"][purchase],
                              strict=True):
        bought[(user, item)].append(datetime.fromisoformat(ts).timestamp())
    consumable = {pair: category[pair[1]] in REPURCHASE_DAYS for pair in bought}
    rebought = {c: np.mean([len(t) >= 2 for p, t in bought.items() if consumable[p] == c]) for c in (True, False)}
    assert rebought[True] >= 0.35 and rebought[True] >= 2 * rebought[False]
    restocked = [(p, np.diff(t) / 86_400) for p, t in bought.items() if consumable[p] and len(t) >= 4]
    assert len(restocked) >= 50
    ratio = np.median([np.median(gaps) / REPURCHASE_DAYS[category[p[1]]] for p, gaps in restocked])
    assert 0.7 <= ratio <= 1.4


def test_no_shopper_buys_the_same_durable_on_two_days(items: dict[str, np.ndarray],
                                                      events: dict[str, np.ndarray]) -> None:
    from index_builder.demo.vocabulary import REPURCHASE_DAYS
    category = dict(zip(items["item_id"], items["category"], strict=True))
    bought = (events["type"] == "purchase") & (events["user_id"] != "")
    days: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for user, item, ts in zip(events["user_id"][bought], events["item_id"][bought], events["ts"][bought],
                              strict=True):
        days[user, item].add(ts[:10])
    durable = {pair: n for pair, n in days.items() if category[pair[1]] not in REPURCHASE_DAYS}
    twice = [pair for pair, seen in durable.items() if len(seen) > 1]
    assert durable and not twice
    consumable = [seen for pair, seen in days.items() if category[pair[1]] in REPURCHASE_DAYS]
    assert sum(len(seen) > 1 for seen in consumable) > 0.3 * len(consumable)  # restock cycles kept
