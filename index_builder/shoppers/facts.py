"""What a profile says about a shopper beyond their items: one FACTS record per user plus their top
categories and brands (protos/artifact/), computed for all users at once from the event arrays.

Definitions and thresholds are documented in docs/segments.md:
- affinities: each event weighs its type's affinity weight x 2^(-age / half-life), age before the
  reference time; a user's strongest categories and brands with their shares of that weight. An item
  without a brand (the catalog's "unbranded", artifact.NO_BRAND) is never one of a user's brands: its weight
  stays in the user's total, so it makes nobody a brand loyalist either.
- price position: the weighted mean (by quantity) of where each purchase's paid price sits among its
  category's catalog prices (affinities.price_positions); without a priced purchase, of the catalog
  prices of everything they touched (by affinity weight); -1 when neither exists. Band: bargain
  below 1/3, premium above 2/3, mid between.
- RFM, segment (index_builder/shoppers/rfm.py) over the window before the reference time; lifetime value
  (index_builder/shoppers/lifetime.py) from purchase days up to the reference time.
- lifecycle from first and last event; preferred channel = the channel of most of their events.
- tags: bargain hunter (price band bargain, 2+ purchases), brand loyalist (top brand >= half the
  affinity weight, 3+ purchases), high value (monetary score 5), deal-driven (2+ purchase lines and at
  least half of them paid 10 % or more below the catalog price).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from index_builder.config import BuildConfig
from index_builder.shoppers import affinities, lifetime, rfm
from protos import artifact
from protos.decay import decay

__all__ = ["ShopperEvents", "Facts", "shopper_facts", "PRICE_BANDS_AT", "DEAL_DISCOUNT"]

log = logging.getLogger(__name__)
_DAY_MS = 86_400_000
# Price position edges of the bargain / mid / premium bands.
PRICE_BANDS_AT = (1 / 3, 2 / 3)
# A purchase line paid this share or more below the catalog price is a deal.
DEAL_DISCOUNT = 0.10
_TAG = {name: 1 << i for i, name in enumerate(artifact.TAGS)}


@dataclass(frozen=True)
class ShopperEvents:
    """Events of consenting known users (parallel arrays, one entry per event) and the catalog they refer to."""

    user: np.ndarray  # int64 user code
    item: np.ndarray  # int32 catalog row
    ts: np.ndarray  # int64 ms
    kind: np.ndarray  # int8 index into artifact.EVENT_TYPES
    order: np.ndarray  # int64 session/order code
    qty: np.ndarray  # float64
    paid: np.ndarray  # float64 unit price paid (the catalog price where the event has none)
    channel: np.ndarray  # uint8 index into artifact.CHANNELS
    item_category: np.ndarray  # per catalog row
    item_brand: np.ndarray
    item_price: np.ndarray
    brand_names: tuple[str, ...] = ()  # brand code -> name, the catalog's vocabulary (() = every code a brand)


@dataclass(frozen=True)
class Facts:
    """FACTS per user code and each user's top categories and brands (codes, shares, bounds)."""

    facts: np.ndarray
    categories: tuple[np.ndarray, np.ndarray, np.ndarray]  # codes, shares, per-user bounds
    brands: tuple[np.ndarray, np.ndarray, np.ndarray]
    bgnbd: lifetime.BgNbdParams | None
    gamma_gamma: lifetime.GammaGammaParams | None
    refunds: int  # purchase lines with a negative amount (counted as 0)


_Top = tuple[np.ndarray, np.ndarray, np.ndarray]  # codes, shares, per-user bounds (affinities.top_codes)


def _affinities(ev: ShopperEvents, config: BuildConfig, reference_ms: int,
                n_users: int) -> tuple[np.ndarray, _Top, _Top]:
    type_weight = np.array([config.affinity_weights[t] for t in artifact.EVENT_TYPES], dtype=np.float64)
    # the shared decay (the newest event weighs 1): only shares and weighted means are taken of it
    weight = type_weight[ev.kind] * decay(ev.ts, reference_ms, config.affinity_half_life_days)
    k = config.profile_top
    categories = affinities.top_codes(ev.user, ev.item_category[ev.item], weight, n_users, k)
    no_brand = np.flatnonzero(np.isin(np.array(ev.brand_names, dtype=object), artifact.NO_BRAND))
    brands = affinities.top_codes(ev.user, ev.item_brand[ev.item], weight, n_users, k, unlisted=no_brand)
    return weight, categories, brands


def _price_position(ev: ShopperEvents, weight: np.ndarray, bought: np.ndarray, n_users: int) -> np.ndarray:
    category = ev.item_category[ev.item]
    priced = bought & (ev.paid > 0) & (ev.qty > 0)
    paid_at = affinities.price_positions(ev.item_category, ev.item_price, category[priced], ev.paid[priced])
    from_purchases = affinities.mean_by_user(ev.user[priced], paid_at, ev.qty[priced], n_users, empty=-1.0)
    touched_at = affinities.price_positions(ev.item_category, ev.item_price, category, ev.item_price[ev.item])
    from_touches = affinities.mean_by_user(ev.user, touched_at, weight * (ev.item_price[ev.item] > 0), n_users,
                                           empty=-1.0)
    return np.where(from_purchases >= 0, from_purchases, from_touches)


def _price_band(position: np.ndarray) -> np.ndarray:
    band = 1 + np.searchsorted(np.array(PRICE_BANDS_AT), position, side="right")
    return np.where(position < 0, 0, band).astype(np.uint8)


def _lifecycle(first: np.ndarray, last: np.ndarray, seen: np.ndarray, reference_ms: int,
               config: BuildConfig) -> np.ndarray:
    """new / active / lapsing / lapsed (artifact.LIFECYCLES); a user without events is new."""
    since_first = (reference_ms - first) / _DAY_MS
    since_last = (reference_ms - last) / _DAY_MS
    code = np.select(
        [~seen | (since_first <= config.lifecycle_new_days), since_last <= config.lifecycle_active_days,
         since_last <= config.lifecycle_lapsed_days], [0, 1, 2], default=3)
    return code.astype(np.uint8)


def _preferred_channel(ev: ShopperEvents, n_users: int) -> np.ndarray:
    n_channels = len(artifact.CHANNELS)
    known = ev.channel > 0
    counts = np.bincount(ev.user[known] * n_channels + ev.channel[known],
                         minlength=n_users * n_channels).reshape(n_users, n_channels)
    return np.where(counts.max(axis=1) > 0, counts.argmax(axis=1), 0).astype(np.uint8)


def _values(ev: ShopperEvents, bought: np.ndarray) -> tuple[np.ndarray, int]:
    amount = ev.qty[bought] * ev.paid[bought]
    return np.maximum(amount, 0.0), int((amount < 0).sum())


class _Lifetime(NamedTuple):
    expected: np.ndarray
    alive: np.ndarray
    value: np.ndarray
    clv: np.ndarray
    bgnbd: lifetime.BgNbdParams | None
    gamma_gamma: lifetime.GammaGammaParams | None


def _lifetime(ev: ShopperEvents, bought: np.ndarray, amount: np.ndarray, n_users: int, reference_ms: int,
              config: BuildConfig) -> _Lifetime:
    """Expected purchases over the horizon, P(alive), expected order value, CLV; and the fitted models.

    Purchase days up to the reference time, in days (index_builder/shoppers/lifetime.py): BG/NBD over the buyers,
    Gamma-Gamma over the repeat buyers' mean spend per repeat purchase day; a buyer's expected order
    value is their own mean day spend where Gamma-Gamma cannot be fitted."""
    user, ts = ev.user[bought], ev.ts[bought]
    x, t_x, age, buyer = lifetime.repeat_summary(user, ts, n_users, end_ms=reference_ms, unit_days=1.0)
    bgnbd = lifetime.fit_bgnbd(x[buyer], t_x[buyer], age[buyer])
    expected, alive = np.zeros(n_users), np.zeros(n_users)
    if bgnbd is not None:
        expected[buyer] = lifetime.expected_purchases(bgnbd, config.clv_horizon_days, x[buyer], t_x[buyer], age[buyer])
        alive[buyer] = lifetime.p_alive(bgnbd, x[buyer], t_x[buyer], age[buyer])
    repeat_value = lifetime.mean_repeat_value(user, ts, amount, n_users, end_ms=reference_ms)
    repeaters = (x > 0) & (repeat_value > 0)
    gamma_gamma = lifetime.fit_gamma_gamma(x[repeaters], repeat_value[repeaters])
    day_spend = np.bincount(user[ts <= reference_ms], weights=amount[ts <= reference_ms], minlength=n_users)
    value = np.where(buyer, day_spend / np.maximum(x + 1, 1), 0.0)
    if gamma_gamma is not None:
        value[buyer] = lifetime.expected_order_value(gamma_gamma, x[buyer], repeat_value[buyer])
    clv = lifetime.clv(expected, value, margin=config.clv_margin, annual_discount=config.clv_annual_discount,
                       horizon_days=config.clv_horizon_days)
    return _Lifetime(expected, alive, value, clv, bgnbd, gamma_gamma)


def _tags(facts: np.ndarray, brand_share: np.ndarray, deal_lines: np.ndarray, priced_lines: np.ndarray) -> np.ndarray:
    tags = np.zeros(len(facts), dtype=np.uint16)
    purchases = facts["purchases"]
    tags |= np.where((facts["price_band"] == artifact.PRICE_BANDS.index("bargain")) & (purchases >= 2),
                     _TAG["bargain hunter"], 0).astype(np.uint16)
    tags |= np.where((brand_share >= 0.5) & (purchases >= 3), _TAG["brand loyalist"], 0).astype(np.uint16)
    tags |= np.where(facts["m"] == 5, _TAG["high value"], 0).astype(np.uint16)
    deal = (deal_lines >= 2) & (deal_lines * 2 >= priced_lines)
    tags |= np.where(deal, _TAG["deal-driven"], 0).astype(np.uint16)
    return tags


def shopper_facts(ev: ShopperEvents, n_users: int, demographics: tuple[np.ndarray, np.ndarray], reference_ms: int,
                  config: BuildConfig) -> Facts:
    """FACTS for every user code 0..n_users-1 (users without events: "nothing known" but demographics)."""
    facts = np.repeat(artifact.no_facts(), n_users)
    facts["country"], facts["age_band"] = demographics
    bought = ev.kind == artifact.EVENT_TYPES.index("purchase")
    weight, categories, brands = _affinities(ev, config, reference_ms, n_users)
    seen = np.bincount(ev.user, minlength=n_users) > 0
    first = np.full(n_users, np.iinfo(np.int64).max)
    np.minimum.at(first, ev.user, ev.ts)
    last = np.zeros(n_users, dtype=np.int64)
    np.maximum.at(last, ev.user, ev.ts)
    facts["first_seen_ms"] = np.where(seen, first, 0)
    facts["last_seen_ms"] = last
    for name, kind in (("views", "view"), ("carts", "cart"), ("purchases", "purchase")):
        facts[name] = np.bincount(ev.user[ev.kind == artifact.EVENT_TYPES.index(kind)], minlength=n_users)
    facts["price_position"] = _price_position(ev, weight, bought, n_users)
    facts["price_band"] = _price_band(facts["price_position"])
    facts["lifecycle"] = _lifecycle(first, last, seen, reference_ms, config)
    facts["channel"] = _preferred_channel(ev, n_users)

    amount, refunds = _values(ev, bought)
    values = rfm.rfm_values(ev.user[bought], ev.order[bought], ev.ts[bought], amount, n_users,
                            reference_ms=reference_ms, window_days=config.rfm_window_days)
    facts["recency_days"] = values.recency_days
    facts["frequency"] = values.frequency
    facts["monetary_total"] = values.monetary_total
    facts["monetary_avg"] = values.monetary_avg
    facts["last_purchase_ms"] = values.last_purchase_ms
    facts["r"] = rfm.quintile_scores(values.recency_days, values.buyer, higher_is_better=False)
    facts["f"] = rfm.quintile_scores(values.frequency, values.buyer, higher_is_better=True)
    facts["m"] = rfm.quintile_scores(values.monetary_total, values.buyer, higher_is_better=True)
    facts["segment"] = rfm.segment_codes(facts["r"], facts["f"], facts["m"], values.buyer)

    life = _lifetime(ev, bought, amount, n_users, reference_ms, config)
    facts["expected_purchases"], facts["p_alive"] = life.expected, life.alive
    facts["expected_value"], facts["clv"] = life.value, life.clv

    brand_codes, brand_shares, brand_bounds = brands
    top_brand_share = np.zeros(n_users, dtype=np.float32)
    has_brand = brand_bounds[1:] > brand_bounds[:-1]
    top_brand_share[has_brand] = brand_shares[brand_bounds[:-1][has_brand]]
    priced = bought & (ev.paid > 0) & (ev.item_price[ev.item] > 0)
    deals = priced & (ev.paid <= (1 - DEAL_DISCOUNT) * ev.item_price[ev.item])
    facts["tags"] = _tags(facts, top_brand_share, np.bincount(ev.user[deals], minlength=n_users),
                          np.bincount(ev.user[priced], minlength=n_users))
    _zero_non_finite(facts)
    return Facts(facts, categories, brands, life.bgnbd, life.gamma_gamma, refunds)


def _zero_non_finite(facts: np.ndarray) -> None:
    """No NaN or infinity ever reaches the store: a float fact that is not finite becomes 0 (logged)."""
    for name in facts.dtype.names or ():
        column = facts[name]
        if column.dtype.kind == "f":
            bad = ~np.isfinite(column)
            if bad.any():
                log.warning("facts_not_finite field=%s users=%d", name, int(bad.sum()))
                column[bad] = 0
