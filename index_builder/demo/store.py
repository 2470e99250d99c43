"""A synthetic but realistic demo store: items, users and a view/cart/purchase log.

Tailor is demonstrated and benchmarked on this data, so it carries the structure
recommenders exploit rather than uniform noise: long-tailed item popularity,
brands that live in one category and sit in a price tier, shoppers with stable
favourite categories, brand loyalty and price sensitivity, heavy-tailed activity,
sessions that funnel view -> cart -> purchase (a third of them anonymous), and a
consumables department of grocery trips whose baskets are mostly rebuys, on per-product cycles.

Everything is drawn from one ``numpy.random.default_rng(seed)`` stream against a
fixed clock (:data:`END`), so the same arguments always give byte-identical files.
Byte-identity holds for one numpy/pyarrow version; other versions may draw differently.
Generation is vectorised and events are produced and written in time-sorted chunks,
so a 1M-user, 1M-item, 10M-event store takes well under a minute and about 1 GiB.

The generator is split by what it makes: :mod:`vocabulary` (clock, word lists,
shares), :mod:`catalog` (items), :mod:`shoppers` (users, tastes, sessions),
:mod:`restock` (grocery trips), :mod:`events` (the event log), with :mod:`sampling` and :mod:`csv`
underneath. This module puts them together; :mod:`index_builder.demo` is the public door.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index_builder.demo.catalog import items_table, make_catalog
from index_builder.demo.csv import write_table
from index_builder.demo.events import write_events
from index_builder.demo.restock import restock_sessions
from index_builder.demo.shoppers import Taste, make_sessions, make_shoppers, users_table
from index_builder.demo.vocabulary import END

__all__ = ["END", "DemoStoreSummary", "write_demo_store"]

_LOG = logging.getLogger(__name__)


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
    catalog = make_catalog(rng, items)
    taste = Taste(catalog, int(rng.integers(2**62)))
    shoppers = make_shoppers(rng, users, taste)
    sessions = make_sessions(rng, events, shoppers, taste, restock_sessions(rng, events, shoppers, taste, catalog))
    summary = DemoStoreSummary(
        items_path=out / "items.csv", users_path=out / "users.csv", events_path=out / "events.csv",
        items=items, users=users, events=events, sessions=len(sessions.start),
        anonymous_sessions=int(np.count_nonzero(sessions.user < 0)),
    )
    write_table(summary.users_path, users_table(rng, shoppers, sessions))
    first_seen = write_events(summary.events_path, rng, sessions, shoppers, taste, catalog)
    write_table(summary.items_path, items_table(rng, catalog, first_seen))
    _LOG.info("demo_store_written dir=%s items=%d users=%d events=%d sessions=%d seconds=%.1f",
              out, items, users, events, summary.sessions, time.perf_counter() - started)
    return summary


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
