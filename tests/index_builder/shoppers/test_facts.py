"""Profile facts (index_builder/shoppers/facts.py, affinities.py) on small fixtures with hand-computed answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index_builder import BuildConfig
from index_builder.shoppers.affinities import price_positions, top_codes
from index_builder.shoppers.facts import ShopperEvents, shopper_facts
from protos import artifact

_DAY = 86_400_000
_REF = 1_800_000_000_000  # the build's reference time, ms
_VIEW, _CART, _BUY = (artifact.EVENT_TYPES.index(t) for t in ("view", "cart", "purchase"))


def _config(**overrides: object) -> BuildConfig:
    return BuildConfig(data_dir=Path("."), out_root=Path("."), show_progress=False, **overrides)  # type: ignore[arg-type]


def _events(user: list[int], item: list[int], days_ago: list[float], kind: list[int], *,
            paid: list[float] | None = None, order: list[int] | None = None,
            channel: list[int] | None = None) -> ShopperEvents:
    n = len(user)
    # Catalog: items 0-3 in category 0 (prices 10, 20, 30, 40; brands acme, acme, zeta, zeta), items 4-5 in
    # category 1, without a brand (the builder's "unbranded", code 2).
    return ShopperEvents(
        user=np.array(user, np.int64), item=np.array(item, np.int32),
        ts=(_REF - np.array(days_ago) * _DAY).astype(np.int64), kind=np.array(kind, np.int8),
        order=np.array(order if order is not None else range(n), np.int64), qty=np.ones(n),
        paid=np.array(paid if paid is not None else [10.0 * (i % 4 + 1) for i in item]),
        channel=np.array(channel if channel is not None else [1] * n, np.uint8),
        item_category=np.array([0, 0, 0, 0, 1, 1], np.int32), item_brand=np.array([0, 0, 1, 1, 2, 2], np.int32),
        item_price=np.array([10.0, 20.0, 30.0, 40.0, 5.0, 6.0]), brand_names=("acme", "zeta", "unbranded"))


def _facts(ev: ShopperEvents, n_users: int, **config: object) -> np.ndarray:
    demographics = (np.full(n_users, -1, np.int16), np.full(n_users, -1, np.int16))
    return shopper_facts(ev, n_users, demographics, _REF, _config(**config)).facts


def test_a_purchase_outweighs_a_view_and_affinities_decay_with_time() -> None:
    # User 0: one view in category 1 and one purchase in category 0, same day: the purchase wins.
    # User 1: a view today in category 0, a view a half-life ago in category 1: today's weighs twice.
    ev = _events(user=[0, 0, 1, 1], item=[4, 0, 0, 4], days_ago=[1, 1, 0, 90], kind=[_VIEW, _BUY, _VIEW, _VIEW])
    result = shopper_facts(ev, 2, (np.full(2, -1, np.int16),) * 2, _REF, _config(affinity_half_life_days=90))
    codes, shares, bounds = result.categories
    assert codes[bounds[0]:bounds[1]].tolist() == [0, 1]
    assert shares[bounds[0]:bounds[1]] == pytest.approx([6 / 7, 1 / 7])  # purchase 6, view 1
    assert codes[bounds[1]:bounds[2]].tolist() == [0, 1]
    assert shares[bounds[1]:bounds[2]] == pytest.approx([2 / 3, 1 / 3])  # 1 against 1/2


def test_top_codes_keeps_the_k_strongest_per_user_ties_by_code() -> None:
    codes, shares, bounds = top_codes(np.array([0, 0, 0, 1]), np.array([5, 3, 4, 2]), np.array([1.0, 2.0, 1.0, 3.0]),
                                      n_users=3, k=2)
    assert codes.tolist() == [3, 4, 2] and bounds.tolist() == [0, 2, 3, 3]
    assert shares.tolist() == pytest.approx([0.5, 0.25, 1.0])


def test_top_codes_counts_unlisted_codes_in_the_total_but_never_lists_them() -> None:
    codes, shares, bounds = top_codes(np.array([0, 0, 0, 1]), np.array([5, 3, 4, 3]), np.array([1.0, 2.0, 1.0, 3.0]),
                                      n_users=2, k=2, unlisted=np.array([3]))
    assert codes.tolist() == [4, 5] and bounds.tolist() == [0, 2, 2]
    assert shares.tolist() == pytest.approx([0.25, 0.25])


def _tag_names(value: int) -> set[str]:
    return {t for i, t in enumerate(artifact.TAGS) if value >> i & 1}


def test_an_item_without_a_brand_is_nobodys_brand_and_makes_no_brand_loyalist() -> None:
    # User 0 buys unbranded goods four times and views one acme item; user 1 buys zeta three times.
    ev = _events(user=[0, 0, 0, 0, 0, 1, 1, 1], item=[4, 5, 4, 5, 0, 2, 3, 2], days_ago=[5, 4, 3, 2, 1, 3, 2, 1],
                 kind=[_BUY] * 4 + [_VIEW] + [_BUY] * 3)
    result = shopper_facts(ev, 2, (np.full(2, -1, np.int16),) * 2, _REF, _config(affinity_half_life_days=1e9))
    codes, shares, bounds = result.brands
    assert codes[bounds[0]:bounds[1]].tolist() == [0]  # acme; never "unbranded"
    assert shares[bounds[0]] == pytest.approx(1 / 25)  # one view (1) of four purchases (6 each) and it
    assert codes[bounds[1]:bounds[2]].tolist() == [1] and shares[bounds[1]] == pytest.approx(1.0)
    assert "brand loyalist" not in _tag_names(int(result.facts["tags"][0]))
    assert "brand loyalist" in _tag_names(int(result.facts["tags"][1]))


def test_price_position_is_the_mid_rank_within_the_category() -> None:
    category, price = np.array([0, 0, 0, 0, 1]), np.array([10.0, 20.0, 20.0, 40.0, 5.0])
    got = price_positions(category, price, np.array([0, 0, 0, 1, 0]), np.array([10.0, 20.0, 50.0, 5.0, 1.0]))
    assert got.tolist() == pytest.approx([0.5 / 4, 2 / 4, 1.0, 0.5, 0.0])


def test_price_band_from_paid_prices_and_deal_tag() -> None:
    # User 0 buys the cheapest item twice at a discount; user 1 buys the dearest twice at full price.
    ev = _events(user=[0, 0, 1, 1], item=[0, 0, 3, 3], days_ago=[3, 2, 3, 2], kind=[_BUY] * 4,
                 paid=[8.0, 8.0, 40.0, 40.0])
    facts = _facts(ev, 2)
    assert [artifact.PRICE_BANDS[b] for b in facts["price_band"]] == ["bargain", "premium"]
    tags = [{t for i, t in enumerate(artifact.TAGS) if int(v) >> i & 1} for v in facts["tags"]]
    assert "bargain hunter" in tags[0] and "deal-driven" in tags[0]
    assert "bargain hunter" not in tags[1] and "deal-driven" not in tags[1]


def test_users_without_purchases_are_browsers_with_nothing_undefined() -> None:
    ev = _events(user=[0], item=[1], days_ago=[400], kind=[_VIEW])
    facts = _facts(ev, 3)  # user 0 only viewed long ago; users 1 and 2 have no events at all
    assert [artifact.SEGMENTS[s] for s in facts["segment"]] == ["browsers"] * 3
    assert facts["r"].tolist() == [0, 0, 0] and facts["clv"].tolist() == [0, 0, 0]
    assert [artifact.LIFECYCLES[c] for c in facts["lifecycle"]] == ["lapsed", "new", "new"]
    for name in facts.dtype.names or ():
        if facts[name].dtype.kind == "f":
            assert np.isfinite(facts[name]).all(), name


def test_refunds_and_zero_prices_add_no_monetary_value_and_are_counted() -> None:
    ev = _events(user=[0, 0, 0], item=[0, 1, 2], days_ago=[5, 4, 3], kind=[_BUY] * 3, paid=[10.0, -20.0, 0.0])
    result = shopper_facts(ev, 1, (np.full(1, -1, np.int16),) * 2, _REF, _config())
    assert result.refunds == 1
    assert result.facts["monetary_total"][0] == pytest.approx(10.0)
    assert result.facts["frequency"][0] == 3


def test_lifecycle_and_preferred_channel() -> None:
    # user 0: first seen 200 days ago, last 10 -> active; user 1: 60 days -> lapsing; user 2: 5 days -> new.
    ev = _events(user=[0, 0, 0, 1, 2], item=[0, 1, 1, 0, 0], days_ago=[200, 10, 10, 60, 5], kind=[_VIEW] * 5,
                 channel=[2, 3, 3, 1, 4])
    facts = _facts(ev, 3)
    assert [artifact.LIFECYCLES[c] for c in facts["lifecycle"]] == ["active", "lapsing", "new"]
    assert [artifact.CHANNELS[c] for c in facts["channel"]] == ["email", "web", "store"]
