"""The demo store's event log: each session's views, carts and purchases, written in time order.

Part of :mod:`index_builder.demo`. Events are generated and written in chunks
of sessions, so a ten-million-event log never sits in memory whole.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from index_builder.demo.catalog import Catalog
from index_builder.demo.csv import csv_writer, ids, prices, timestamps
from index_builder.demo.sampling import Columns
from index_builder.demo.shoppers import Sessions, Shoppers, Taste
from index_builder.demo.vocabulary import CHANNELS, EVENT_TYPES, MAX_CHECKOUT, MAX_GAP, REPURCHASE_DAYS

_CHUNK_EVENTS = 1_000_000
_EVENTS_SCHEMA = pa.schema([("event_id", pa.string()), ("ts", pa.string()), ("user_id", pa.string()),
                            ("session_id", pa.string()), ("item_id", pa.string()), ("type", pa.string()),
                            ("qty", pa.int64()), ("price", pa.string()), ("channel", pa.string())])


@dataclass(frozen=True)
class _Events(Columns):
    """One row per event; ``session`` indexes the time-sorted sessions."""

    ts: np.ndarray
    session: np.ndarray
    item: np.ndarray
    kind: np.ndarray
    qty: np.ndarray
    cents: np.ndarray


def write_events(path: Path, rng: np.random.Generator, sessions: Sessions, shoppers: Shoppers,
                 taste: Taste, catalog: Catalog) -> np.ndarray:
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
    durable = ~np.isin(catalog.category, [c for c, name in enumerate(catalog.category_names)
                                          if name in REPURCHASE_DAYS])
    owned = np.empty(0, np.int64)  # (shopper, durable item) keys bought so far, sorted
    with csv_writer(path, _EVENTS_SCHEMA) as writer, \
            tqdm(total=int(sizes.sum()), unit="event", unit_scale=True, disable=None, desc="events") as bar:
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            batch = _Events.concat([carry, _session_events(rng, sessions, lo, hi, shoppers, taste, catalog)])
            batch = batch.take(np.argsort(batch.ts, kind="stable"))
            cut = int(np.searchsorted(batch.ts, sessions.start[hi])) if hi < len(sizes) else len(batch.ts)
            emit, carry = batch.take(slice(0, cut)), batch.take(slice(cut, None))
            emit, owned = _durables_bought_once(emit, owned, sessions.user, durable)
            writer.write_table(formatter.table(emit))
            _note_first_seen(first_seen, emit)
            bar.update(cut)
    return first_seen


def _durables_bought_once(events: _Events, owned: np.ndarray, session_user: np.ndarray,
                          durable: np.ndarray) -> tuple[_Events, np.ndarray]:
    """``events`` (time-sorted) with a shopper's later purchases of a durable they already own turned
    into views (they look at it again; nobody buys the same bicycle twice), and the grown ``owned``.

    Consumables keep every purchase (their restock cycles); anonymous sessions are left alone.
    The event count stays the same, so the log keeps the size asked for.
    """
    user = session_user[events.session]
    mine = (events.kind == 2) & (user >= 0) & durable[events.item]
    rows = np.flatnonzero(mine)
    key = user[rows] * np.int64(len(durable)) + events.item[rows]
    _, first = np.unique(key, return_index=True)
    repeat = np.ones(len(rows), bool)
    repeat[first] = False
    repeat |= np.isin(key, owned)
    kind, qty = events.kind.copy(), events.qty.copy()
    kind[rows[repeat]], qty[rows[repeat]] = 0, 1
    looked = _Events(events.ts, events.session, events.item, kind, qty, events.cents)
    return looked, np.union1d(owned, key)


def _note_first_seen(first_seen: np.ndarray, events: _Events) -> None:
    """Lower each item's first-seen time to its earliest event among ``events`` (sorted by time)."""
    item, first = np.unique(events.item, return_index=True)
    first_seen[item] = np.minimum(first_seen[item], events.ts[first])


def _session_events(rng: np.random.Generator, sessions: Sessions, lo: int, hi: int, shoppers: Shoppers,
                    taste: Taste, catalog: Catalog) -> _Events:
    """All events of sessions ``lo:hi``: views, carts of some viewed items, purchases of some carts."""
    s = sessions.take(slice(lo, hi))
    local = np.repeat(np.arange(hi - lo), s.views)
    first = np.cumsum(s.views) - s.views
    views = _views(rng, s, local, first, shoppers, taste, catalog)
    session, n = local + lo, len(local)
    # The first `carts` views of a session in a random order are carted, the first `purchases` bought;
    # a grocery trip's planned lines (its first views) come first in that order, so they are bought.
    rank = _random_rank(rng, local, first, _planned(s, local, first))
    qty = 1 + np.minimum(rng.poisson(np.where(views.cents < 3000, 0.5, 0.08)), 8)  # cheap goods by the handful
    carts = _Events(views.ts + rng.integers(5, 66, n), session, views.item, np.ones(n, np.int8), qty, views.cents)
    # Checkout is at least 120 s after the last view, so after every cart (at most 65 s after its view).
    checkout = views.ts[first + s.views - 1] + rng.integers(120, MAX_CHECKOUT + 1, len(first))
    discount = np.where(rng.random(n) < 0.1, rng.uniform(0.05, 0.3, n), 0.0)
    paid = np.rint(views.cents * (1 - discount)).astype(np.int64)
    purchases = _Events(checkout[local], session, views.item, np.full(n, 2, np.int8), qty, paid)
    views = _Events(views.ts, session, views.item, views.kind, views.qty, views.cents)
    return _Events.concat([views, carts.take(rank < s.carts[local]), purchases.take(rank < s.purchases[local])])


def _views(rng: np.random.Generator, s: Sessions, local: np.ndarray, first: np.ndarray,
           shoppers: Shoppers, taste: Taste, catalog: Catalog) -> _Events:
    """Views that mostly stay in the session's category and price tercile, minutes apart."""
    n = len(local)
    user = s.user[local]
    category = np.where(rng.random(n) < 0.9, s.category[local], taste.explore(rng.random(n)))
    tercile = np.where(rng.random(n) < 0.75, s.tercile[local], rng.integers(0, 3, n))
    loyal = (user >= 0) & (rng.random(n) < shoppers.loyalty[np.maximum(user, 0)])
    item = taste.pick(category, tercile, user, loyal, rng.random(n))
    planned = _planned(s, local, first)
    item[planned] = s.item[local[planned], (np.arange(n) - first[local])[planned]]
    gap = np.minimum(8 + rng.exponential(70.0, n), MAX_GAP).astype(np.int64)
    gap[first] = 0
    elapsed = np.cumsum(gap)
    ts = s.start[local] + elapsed - elapsed[first][local]
    return _Events(ts=ts, session=local, item=item, kind=np.zeros(n, np.int8),
                   qty=np.ones(n, np.int64), cents=catalog.cents[item])


def _planned(s: Sessions, local: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Which view rows are a grocery trip's planned lines: the first ones of the session, one per line."""
    return np.arange(len(local)) - first[local] < np.count_nonzero(s.item >= 0, axis=1)[local]


def _random_rank(rng: np.random.Generator, group: np.ndarray, first: np.ndarray, lead: np.ndarray) -> np.ndarray:
    """A random order (0, 1, ...) of the rows within each contiguous group, its ``lead`` rows first."""
    order = np.lexsort((rng.random(len(group)), ~lead, group))
    rank = np.empty(len(group), np.int64)
    rank[order] = np.arange(len(group)) - first[group[order]]
    return rank


class _EventFormatter:
    """Turns event arrays into the CSV's string columns, numbering events as they are written."""

    def __init__(self, sessions: Sessions, n_users: int, n_items: int) -> None:
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
            ids("e", number, event_w), timestamps(e.ts), ids("u", user + 1, user_w, mask=user < 0),
            ids("s", e.session + 1, session_w), ids("i", e.item + 1, item_w),
            pa.array(list(EVENT_TYPES)).take(pa.array(e.kind)), pa.array(e.qty, pa.int64()), prices(e.cents),
            pa.array(list(CHANNELS)).take(pa.array(self._sessions.channel[e.session])),
        ]
        return pa.Table.from_arrays(columns, schema=_EVENTS_SCHEMA)
