"""build_artifacts: input files -> a new, verified, current artifact version."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from index_builder import embeddings, inputs
from index_builder.config import BuildConfig
from index_builder.errors import BuildError, InputError
from index_builder.index import build_index
from index_builder.profiles import UserEvents, profile_records
from index_builder.publish import Staging, new_version_name
from protos import artifact, artifact_pb2

__all__ = ["build_artifacts"]

log = logging.getLogger(__name__)
_DAY_MS = 86_400_000


@contextmanager
def _step(name: str) -> Iterator[None]:
    start = time.perf_counter()
    log.info("step_start step=%s", name)
    yield
    log.info("step_done step=%s seconds=%.2f", name, time.perf_counter() - start)


@dataclass(frozen=True)
class _Catalog:
    ids: pa.Array
    category: np.ndarray
    brand: np.ndarray
    categories: list[str]
    brands: list[str]
    price: np.ndarray
    in_stock: np.ndarray


@dataclass(frozen=True)
class _Events:
    item: np.ndarray  # int32 catalog row
    user: np.ndarray  # int64 code into users, -1 anonymous or unknown
    session: np.ndarray  # int64 session code
    kind: np.ndarray  # int8 index into inputs.EVENT_TYPES
    ts: np.ndarray  # int64 ms
    anonymous: np.ndarray  # bool: empty user_id
    dropped_unknown_item: int
    unknown_user: int


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    encoded = pc.dictionary_encode(column).combine_chunks()
    return encoded.indices.to_numpy().astype(np.int32), encoded.dictionary.to_pylist()


def _catalog(items: pa.Table) -> _Catalog:
    category, categories = _codes(items["category"])
    brand, brands = _codes(pc.if_else(pc.equal(items["brand"], ""), "unbranded", items["brand"]))
    return _Catalog(
        ids=items["item_id"].combine_chunks(), category=category, brand=brand,
        categories=categories, brands=brands,
        price=items["price"].to_numpy().astype(np.float32),
        in_stock=items["in_stock"].to_numpy(zero_copy_only=False).astype(bool),
    )


def _events(table: pa.Table, catalog: _Catalog, users: pa.Table) -> _Events:
    item = pc.index_in(table["item_id"], value_set=catalog.ids).to_numpy(zero_copy_only=False)
    known_item = ~np.isnan(item.astype("f8"))
    user_col = table["user_id"]
    user = pc.index_in(user_col, value_set=users["user_id"].combine_chunks()).to_numpy(zero_copy_only=False)
    user = np.where(np.isnan(user.astype("f8")), -1, user).astype(np.int64)
    has_user = pc.not_equal(user_col, "").to_numpy(zero_copy_only=False)
    session = pc.dictionary_encode(table["session_id"]).combine_chunks().indices.to_numpy().astype(np.int64)
    kind = pc.index_in(table["type"], value_set=pa.array(inputs.EVENT_TYPES)).to_numpy(zero_copy_only=False)
    ts = table["ts"].cast(pa.int64()).to_numpy()
    keep = known_item
    return _Events(
        item=item[keep].astype(np.int32), user=user[keep], session=session[keep],
        kind=kind[keep].astype(np.int8), ts=ts[keep], anonymous=~has_user[keep],
        dropped_unknown_item=int((~known_item).sum()),
        unknown_user=int((has_user & (user < 0))[keep].sum()),
    )


def _popularity(events: _Events, n_items: int, weights: np.ndarray, half_life_days: float) -> np.ndarray:
    age_days = (events.ts.max() - events.ts) / _DAY_MS if len(events.ts) else np.zeros(0)
    mass = weights[events.kind] * np.power(0.5, age_days / half_life_days)
    return np.bincount(events.item, weights=mass, minlength=n_items).astype(np.float32)


def _training_rows(events: _Events, consent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matrix row per event: consenting users first (compact codes), then anonymous sessions.

    Events of users without consent (or unknown to users.csv) train nothing.
    Returns (event mask, matrix row per kept event, user code -> matrix row or -1).
    """
    known = events.user >= 0
    consenting = known & consent[np.maximum(events.user, 0)]
    anonymous = events.anonymous
    user_rows = np.full(len(consent), -1, dtype=np.int64)
    active = np.unique(events.user[consenting])
    user_rows[active] = np.arange(len(active))
    _, session_rows = np.unique(events.session[anonymous], return_inverse=True)
    rows = np.empty(len(events.user), dtype=np.int64)
    rows[consenting] = user_rows[events.user[consenting]]
    rows[anonymous] = len(active) + session_rows
    return consenting | anonymous, rows, user_rows


def build_artifacts(config: BuildConfig) -> artifact_pb2.Manifest:
    """Read inputs, learn, write a new version and make it current; returns its manifest."""
    started = time.perf_counter()
    with _step("read"):
        items = inputs.read_table(inputs.find_input(config.data_dir, "items"), inputs.ITEMS)
        users = inputs.read_table(inputs.find_input(config.data_dir, "users"), inputs.USERS)
        event_table = inputs.read_table(inputs.find_input(config.data_dir, "events"), inputs.EVENTS)
    if items.num_rows == 0:
        raise InputError(inputs.find_input(config.data_dir, "items"), "the catalog has no items")
    catalog = _catalog(items)
    events = _events(event_table, catalog, users)
    del event_table
    consent = users["consent"].to_numpy(zero_copy_only=False).astype(bool)
    weights = np.array([config.event_weights[t] for t in inputs.EVENT_TYPES], dtype=np.float32)
    with _step("embeddings"):
        item_vectors, user_vectors, user_rows, cold = _learn(config, catalog, events, consent, weights)
    popularity = _popularity(events, len(catalog.category), weights, config.popularity_half_life_days)
    staging = Staging(config.out_root, new_version_name())
    try:
        manifest = _write(config, staging, catalog, events, users, consent, item_vectors,
                          user_vectors, user_rows, popularity)
        manifest.counts.items_cold = int(cold.sum())
        manifest.counts.users_without_consent = int((~consent).sum())
        manifest.build_seconds = round(time.perf_counter() - started, 3)
        staging.publish(manifest)
    except BaseException:
        staging.abandon()
        raise
    log.info("build_done version=%s seconds=%.1f", manifest.version, manifest.build_seconds)
    return manifest


def _learn(config: BuildConfig, catalog: _Catalog, events: _Events, consent: np.ndarray,
           weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    train, rows, user_rows = _training_rows(events, consent)
    n_items = len(catalog.category)
    n_rows = int(rows[train].max()) + 1 if train.any() else 0
    if n_rows == 0:
        raise BuildError("no usable interactions: every event is from a user without consent or unknown")
    matrix = embeddings.interaction_matrix(rows[train], events.item[train], weights[events.kind[train]],
                                           n_rows, n_items)
    raw_users, raw_items = embeddings.learn_embeddings(
        matrix, dim=config.dim, iterations=config.iterations, regularization=config.regularization,
        seed=config.seed, show_progress=config.show_progress)
    item_vectors = embeddings.normalize_rows(raw_items)
    cold = np.diff(matrix.tocsc().indptr) == 0
    if cold.any():
        item_vectors[cold] = embeddings.content_vectors(
            item_vectors, ~cold, catalog.category, catalog.brand,
            len(catalog.categories), len(catalog.brands))[cold]
    return item_vectors, embeddings.normalize_rows(raw_users), user_rows, cold


def _write(config: BuildConfig, staging: Staging, catalog: _Catalog, events: _Events, users: pa.Table,
           consent: np.ndarray, item_vectors: np.ndarray, user_vectors: np.ndarray,
           user_rows: np.ndarray, popularity: np.ndarray) -> artifact_pb2.Manifest:
    n_items = len(catalog.category)
    item_ids = np.array(catalog.ids.to_pylist(), dtype=np.bytes_)
    in_stock_rows = np.flatnonzero(catalog.in_stock)
    popular = in_stock_rows[np.argsort(-popularity[in_stock_rows], kind="stable")][: config.popular_list]
    for name, array in {
        "vectors": item_vectors, "ids": item_ids, "category": catalog.category, "brand": catalog.brand,
        "price": catalog.price, "in_stock": catalog.in_stock, "popularity": popularity,
        "popular_rows": popular.astype(np.int32),
    }.items():
        staging.save_array(artifact.ITEM_ARRAYS[name], array)
    with _step("index"):
        rng = np.random.default_rng(config.seed)
        queries = item_vectors[rng.choice(n_items, size=min(n_items, 500), replace=False)]
        index, index_info = build_index(item_vectors, queries, ivf_threshold=config.ivf_threshold,
                                        nprobe=config.ivf_nprobe, seed=config.seed)
        staging.save_index(index)
    with _step("store"):
        n_profiles = _write_store(config, staging, item_ids, events, users, consent, user_vectors, user_rows)
    return _manifest(config, staging.version, catalog, events, users, n_profiles, index_info)


def _write_store(config: BuildConfig, staging: Staging, item_ids: np.ndarray, events: _Events,
                 users: pa.Table, consent: np.ndarray, user_vectors: np.ndarray, user_rows: np.ndarray) -> int:
    order = np.argsort(item_ids, kind="stable")
    item_rows = ((bytes(item_ids[r]), artifact.pack_row(int(r))) for r in order)
    mine = (events.user >= 0) & (user_rows[np.maximum(events.user, 0)] >= 0)
    user_events = UserEvents(user=events.user[mine], item=events.item[mine], ts=events.ts[mine],
                             purchase=events.kind[mine] == inputs.EVENT_TYPES.index("purchase"))
    records = profile_records(users["user_id"].to_pylist(), consent, user_vectors, user_rows,
                              user_events, config.recent_items)
    progress = tqdm(records, total=len(consent), desc="profiles", unit="user",
                    disable=not config.show_progress, mininterval=1.0)
    map_size = 1 << 40  # a sparse file's ceiling, not an allocation
    return staging.save_store(item_rows, progress, map_size)


def _manifest(config: BuildConfig, version: str, catalog: _Catalog, events: _Events, users: pa.Table,
              n_profiles: int, index_info: artifact_pb2.IndexInfo) -> artifact_pb2.Manifest:
    return artifact_pb2.Manifest(
        schema_version=artifact.SCHEMA_VERSION, version=version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"), dim=config.dim,
        counts=artifact_pb2.Counts(
            items=len(catalog.category), users=users.num_rows, events=len(events.item),
            profiles=n_profiles, events_dropped_unknown_item=events.dropped_unknown_item,
            events_dropped_unknown_user=events.unknown_user),
        params=artifact_pb2.BuildParams(
            dim=config.dim, iterations=config.iterations, regularization=config.regularization,
            seed=config.seed, event_weights=config.event_weights, recent_items=config.recent_items),
        index=index_info, categories=catalog.categories, brands=catalog.brands,
    )
