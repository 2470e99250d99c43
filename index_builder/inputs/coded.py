"""The builder's inputs as coded arrays: the catalog's categories and brands as codes, every event as
parallel numpy arrays (item row, user code, session code, time, type, value, paid price, channel),
implicit users, demographic codes, the popularity order and the training rows of the matrix.

Read once by build_artifacts (index_builder/build.py) and passed to every learning step; nothing here
writes the artifact.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from index_builder.config import BuildConfig
from index_builder.inputs import tables as inputs
from protos import artifact
from protos.decay import decay

__all__ = ["Catalog", "Events", "code_catalog", "with_implicit_users", "demographic_codes", "derived_sessions",
           "code_events", "reference_time_ms", "popularity_mass", "popularity_order", "training_rows"]

@dataclass(frozen=True)
class Catalog:
    ids: pa.Array
    titles: pa.Array
    category: np.ndarray
    brand: np.ndarray
    categories: list[str]
    brands: list[str]
    price: np.ndarray
    in_stock: np.ndarray


@dataclass(frozen=True)
class Events:
    item: np.ndarray  # int32 catalog row
    user: np.ndarray  # int64 code into users, -1 anonymous or unknown
    session: np.ndarray  # int64 session code
    kind: np.ndarray  # int8 index into inputs.EVENT_TYPES
    ts: np.ndarray  # int64 ms
    anonymous: np.ndarray  # bool: empty user_id
    value: np.ndarray  # float32 multiplier of the event type's weight (1 without a value column)
    qty: np.ndarray  # float64
    paid: np.ndarray  # float64 unit price paid: the event's price, the catalog price where it has none (0)
    channel: np.ndarray  # uint8 index into artifact.CHANNELS (0 = unknown)
    dropped_unknown_item: int
    unknown_user: int
    sessions_derived: int = 0


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    encoded = pc.dictionary_encode(column).combine_chunks()
    return encoded.indices.to_numpy().astype(np.int32), encoded.dictionary.to_pylist()


def code_catalog(items: pa.Table) -> Catalog:
    # `a|b|c` lists several categories; the first is the primary one, the one the artifact stores.
    category, categories = _codes(pc.utf8_trim_whitespace(pc.replace_substring_regex(items["category"], r"\|.*$", "")))
    brand, brands = _codes(pc.if_else(pc.equal(items["brand"], ""), artifact.UNBRANDED, items["brand"]))
    return Catalog(
        ids=items["item_id"].combine_chunks(), titles=items["title"].combine_chunks(), category=category, brand=brand,
        categories=categories, brands=brands,
        price=items["price"].to_numpy().astype(np.float32),
        in_stock=items["in_stock"].to_numpy(zero_copy_only=False).astype(bool),
    )


def _lookup(values: pa.ChunkedArray, value_set: pa.Array) -> np.ndarray:
    """Row of each value in `value_set`, -1 where absent (int64, no float round trip)."""
    return pc.fill_null(pc.index_in(values, value_set=value_set), -1).to_numpy().astype(np.int64)


def with_implicit_users(users: pa.Table, events: pa.Table, default_consent: bool) -> tuple[pa.Table, int]:
    """users.csv plus the users seen only in events (appended, with `default_consent`); their count."""
    seen = pc.unique(events["user_id"].combine_chunks())
    known = users["user_id"].combine_chunks()
    implicit = seen.filter(pc.and_(pc.not_equal(seen, ""), pc.invert(pc.is_in(seen, value_set=known))))
    blank = pa.repeat(pa.scalar(""), len(implicit))
    table = pa.table({"user_id": implicit, "consent": pa.repeat(pa.scalar(default_consent), len(implicit)),
                      "country": blank, "age_band": blank})
    columns = ["user_id", "consent", "country", "age_band"]
    return pa.concat_tables([users.select(columns), table]), len(implicit)


def demographic_codes(users: pa.Table) -> tuple[tuple[np.ndarray, np.ndarray], list[str], list[str]]:
    """(country code, age band code) per user, -1 where not given, and the two vocabularies."""
    codes, names = [], []
    for column in ("country", "age_band"):
        values = pc.utf8_trim_whitespace(users[column])
        encoded = pc.dictionary_encode(pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values))
        encoded = encoded.combine_chunks()
        codes.append(pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int16))
        names.append([str(n) for n in encoded.dictionary.to_pylist()])
    return (codes[0], codes[1]), names[0], names[1]


def derived_sessions(user: np.ndarray, ts: np.ndarray, gap_ms: int) -> np.ndarray:
    """Session codes 0..k-1 for events without a session_id: per user in time order, a new session
    where the user changes or after more than `gap_ms` of inactivity; each anonymous event (user -1)
    is a session of its own."""
    order = np.lexsort((ts, user))
    u, t = user[order], ts[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (np.diff(t) > gap_ms) | (u[1:] < 0)
    codes = np.empty(len(order), dtype=np.int64)
    codes[order] = np.cumsum(new) - 1
    return codes


def _sessions(session_id: pa.ChunkedArray, user: np.ndarray, ts: np.ndarray, gap_ms: int) -> tuple[np.ndarray, int]:
    """Session code per event: given ids first, then derived sessions; and how many were derived."""
    encoded = pc.dictionary_encode(session_id).combine_chunks()
    codes = encoded.indices.to_numpy().astype(np.int64)
    missing = np.flatnonzero(pc.equal(session_id, "").to_numpy(zero_copy_only=False))
    if len(missing) == 0:
        return codes, 0
    derived = derived_sessions(user[missing], ts[missing], gap_ms)
    codes[missing] = len(encoded.dictionary) + derived
    return codes, int(derived.max()) + 1


def _value_scale(value: pa.ChunkedArray, how: str) -> np.ndarray:
    """Multiplier of an event type's weight: the value itself, or log1p(value) / log1p(1)."""
    raw = value.to_numpy()
    scaled = raw if how == "linear" else np.log1p(raw) / np.log1p(1.0)
    return scaled.astype(np.float32)


def _paid(price: np.ndarray, catalog_price: np.ndarray, item: np.ndarray) -> np.ndarray:
    """The unit price of each event: its own, or the item's catalog price where it gives none (0)."""
    return np.where(price != 0, price, catalog_price[item]).astype(np.float64)


def _channel_codes(channel: pa.ChunkedArray) -> np.ndarray:
    """Index into artifact.CHANNELS per event; an unknown or empty channel is 0 ("unknown")."""
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(channel))
    codes = pc.fill_null(pc.index_in(lowered, value_set=pa.array(artifact.CHANNELS[1:])), -1).to_numpy()
    return (codes + 1).astype(np.uint8)


def code_events(table: pa.Table, catalog: Catalog, users: pa.Table, config: BuildConfig) -> Events:
    # The hash passes over millions of strings are independent and release the GIL.
    with ThreadPoolExecutor(max_workers=2) as pool:
        item_job = pool.submit(_lookup, table["item_id"], catalog.ids)
        user = _lookup(table["user_id"], users["user_id"].combine_chunks())
        item = item_job.result()
    keep = item >= 0
    has_user = pc.not_equal(table["user_id"], "").to_numpy(zero_copy_only=False)
    kind = _lookup(table["type"], pa.array(inputs.EVENT_TYPES))
    ts = table["ts"].cast(pa.int64()).to_numpy()
    session, derived = _sessions(table["session_id"], user, ts, round(config.session_gap_minutes * 60_000))
    return Events(
        item=item[keep].astype(np.int32), user=user[keep], session=session[keep],
        kind=kind[keep].astype(np.int8), ts=ts[keep], anonymous=~has_user[keep],
        value=_value_scale(table["value"], config.value_scale)[keep],
        qty=table["qty"].to_numpy()[keep],
        paid=_paid(table["price"].to_numpy()[keep], catalog.price, item[keep]),
        channel=_channel_codes(table["channel"])[keep],
        dropped_unknown_item=int((~keep).sum()),
        unknown_user=int((has_user & (user < 0) & keep).sum()),
        sessions_derived=derived,
    )


def reference_time_ms(config: BuildConfig, events: Events) -> int:
    """The instant popularity decays from: the configured one, else the last event."""
    if config.reference_time is not None:
        return round(config.reference_time.timestamp() * 1000)
    return int(events.ts.max()) if len(events.ts) else 0


def popularity_mass(events: Events, weights: np.ndarray, half_life_days: float, reference_ms: int) -> np.ndarray:
    """Each event's popularity weight (float64): its type's weight x its value x its decay (protos/decay.py).
    The popular list and every list "decayed like the popular list" (channels, segments, cells) sum this."""
    return weights[events.kind] * events.value * decay(events.ts, reference_ms, half_life_days)


def popularity_order(events: Events, n_items: int, weights: np.ndarray, half_life_days: float,
                     reference_ms: int) -> np.ndarray:
    """Item order for the popular list: by decayed event mass (`popularity_mass`), ties (and masses too small
    to tell apart) by all-time mass."""
    decayed = np.bincount(events.item, weights=popularity_mass(events, weights, half_life_days, reference_ms),
                          minlength=n_items)
    total = np.bincount(events.item, weights=weights[events.kind] * events.value, minlength=n_items)
    return np.lexsort((-total, -decayed))


def _dense_codes(codes: np.ndarray, n_codes: int) -> tuple[np.ndarray, int]:
    """Code -> 0..k-1 for the k codes that occur, in code order (np.unique's inverse without a sort); -1 else."""
    present = np.zeros(n_codes, dtype=bool)
    present[codes] = True
    return np.where(present, np.cumsum(present) - 1, -1), int(present.sum())


def training_rows(events: Events, consent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matrix row per event: consenting users first (compact codes), then anonymous sessions.

    Events of users without consent (or unknown to users.csv) train nothing.
    Returns (event mask, matrix row per kept event, user code -> matrix row or -1).
    """
    consenting = (events.user >= 0) & consent[np.maximum(events.user, 0)]
    anonymous = events.anonymous
    user_rows, n_active = _dense_codes(events.user[consenting], len(consent))
    sessions = events.session[anonymous]
    session_rows, _ = _dense_codes(sessions, int(sessions.max()) + 1 if len(sessions) else 0)
    rows = np.empty(len(events.user), dtype=np.int64)
    rows[consenting] = user_rows[events.user[consenting]]
    rows[anonymous] = n_active + session_rows[sessions]
    return consenting | anonymous, rows, user_rows
