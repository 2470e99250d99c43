"""build_artifacts: input files -> a new, verified, current artifact version."""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from index_builder.config import BuildConfig
from index_builder.errors import BuildError, InputError
from index_builder.inputs import tables as inputs
from index_builder.inputs.coded import (
    Catalog,
    Events,
    code_catalog,
    code_events,
    demographic_codes,
    popularity_mass,
    popularity_order,
    reference_time_ms,
    with_implicit_users,
)
from index_builder.inputs.forgetting import drop_forgotten, read_forgotten
from index_builder.inputs.live_events import read_live_events
from index_builder.models import (
    complements,
    embeddings,
    exploration,
    item_item,
    item_model,
    item_signals,
    revisits,
)
from index_builder.models.index import IvfParams, build_index
from index_builder.publish import Staging, prune
from index_builder.ranker.lists import training_lists
from index_builder.ranker.train import train_ranker
from index_builder.shoppers.facts import Facts, ShopperEvents, shopper_facts
from index_builder.shoppers.profiles import UserEvents, profile_records
from protos import artifact, artifact_pb2, live

__all__ = ["build_artifacts"]

log = logging.getLogger(__name__)
# Items kept per demographic cell's popular list (the fallback for shoppers too new for anything personal).
_CELL_LIST = 200
# Items kept per category's popular list (where an exploration slot takes its item, server/ranking/explore.py).
_CATEGORY_LIST = 50


@contextmanager
def _step(name: str) -> Iterator[None]:
    start = time.perf_counter()
    log.info("step_start step=%s", name)
    yield
    log.info("step_done step=%s seconds=%.2f max_rss_mb=%d", name, time.perf_counter() - start, _max_rss_mb())


def _max_rss_mb() -> int:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def build_artifacts(config: BuildConfig) -> artifact_pb2.Manifest:
    """Read inputs, learn, write a new version and make it current; returns its manifest."""
    started = time.perf_counter()
    with _step("read"):
        items = inputs.read_table(inputs.find_input(config.data_dir, "items"), inputs.ITEMS)
        known_users = inputs.read_table(inputs.find_input(config.data_dir, "users"), inputs.USERS)
        event_table = inputs.read_table(inputs.find_input(config.data_dir, "events"), inputs.EVENTS,
                                        timezone=config.timezone)
    if items.num_rows == 0:
        raise InputError(inputs.find_input(config.data_dir, "items"), "the catalog has no items")
    live_dir = config.live_dir or config.out_root / live.LIVE_DIR
    live_events, live_seq = read_live_events(live_dir) if config.fold_live else (None, 0)
    if live_events is not None and live_events.num_rows:
        event_table = pa.concat_tables([event_table, live_events.select(event_table.column_names)])
    # Read after the live events: every user whose live events were read and was forgotten since is dropped.
    forgotten = read_forgotten(live_dir)
    known_users, event_table, users_forgotten, events_forgotten = drop_forgotten(known_users, event_table, forgotten)
    with _step("events"):
        catalog = code_catalog(items)
        users, n_implicit = with_implicit_users(known_users, event_table, config.default_consent)
        events = code_events(event_table, catalog, users, config)
        del event_table
    consent = users["consent"].to_numpy(zero_copy_only=False).astype(bool)
    weights = _event_weights(config)
    with _step("embeddings"):
        learned = _learn(config, catalog, events, consent, weights)
    reference_ms = reference_time_ms(config, events)
    popularity = popularity_order(events, len(catalog.category), weights, config.popularity_half_life_days,
                                  reference_ms)
    staging = Staging(config.out_root, artifact.new_version_name())
    try:
        mass = popularity_mass(events, weights, config.popularity_half_life_days, reference_ms)
        manifest = _write(config, staging, catalog, events, users, consent, learned, (popularity, mass),
                          reference_ms)
        if config.ranker:
            with _step("ranker"):
                _ranker(config, staging, manifest.ranker, catalog, events, consent, learned.user_rows, weights,
                        reference_ms)
        manifest.counts.items_cold = int(learned.cold.sum())
        _input_counts(manifest, config, events, consent, known_users.num_rows, n_implicit, reference_ms)
        manifest.live_seq = live_seq
        manifest.counts.events_live = live_events.num_rows if live_events is not None else 0
        manifest.forgotten_users, manifest.forgotten_seq = len(forgotten.users), forgotten.seq
        manifest.users_rows_forgotten, manifest.events_forgotten = users_forgotten, events_forgotten
        manifest.build_seconds = round(time.perf_counter() - started, 3)
        staging.publish(manifest)
    except BaseException:
        staging.abandon()
        raise
    prune(config.out_root, config.keep_versions)
    counts = manifest.counts
    log.info("build_done version=%s seconds=%.1f items=%d users=%d users_implicit=%d events=%d "
             "events_dropped_unknown_item=%d events_implicit_user=%d events_without_consent=%d sessions_derived=%d "
             "events_after_reference=%d forgotten_users=%d events_forgotten=%d",
             manifest.version, manifest.build_seconds, counts.items, counts.users, counts.users_implicit,
             counts.events, counts.events_dropped_unknown_item, counts.events_implicit_user,
             counts.events_without_consent, counts.sessions_derived, counts.events_after_reference,
             manifest.forgotten_users, manifest.events_forgotten)
    return manifest


def _event_weights(config: BuildConfig) -> np.ndarray:
    """Weight per event type code (inputs.EVENT_TYPES order): the matrix's confidence and popularity's mass."""
    return np.array([config.event_weights[t] for t in inputs.EVENT_TYPES], dtype=np.float32)


def _input_counts(manifest: artifact_pb2.Manifest, config: BuildConfig, events: Events, consent: np.ndarray,
                  n_known: int, n_implicit: int, reference_ms: int) -> None:
    """What reading the inputs kept, derived and left out, and the settings that decided it."""
    counts, params = manifest.counts, manifest.params
    counts.users_without_consent = int((~consent).sum())
    counts.users_implicit = n_implicit
    counts.events_implicit_user = int((events.user >= n_known).sum())
    counts.events_without_consent = int(((events.user >= 0) & ~consent[np.maximum(events.user, 0)]).sum())
    counts.sessions_derived = events.sessions_derived
    counts.events_after_reference = int((events.ts > reference_ms).sum())
    params.reference_time_ms = reference_ms
    params.value_scale = config.value_scale
    params.timezone = config.timezone or ""
    params.session_gap_minutes = config.session_gap_minutes
    params.default_consent = config.default_consent


@dataclass(frozen=True)
class _Learned:
    """Item directions (cosine similarity), item factors (the index: inner product = predicted
    preference, so popular evidence counts), unit user vectors and user code -> matrix row."""

    item_vectors: np.ndarray
    item_factors: np.ndarray
    user_vectors: np.ndarray
    user_rows: np.ndarray
    cold: np.ndarray
    neighbors: np.ndarray  # item-item model: [items, k] rows and weights (k = 0: none)
    neighbor_weights: np.ndarray


def _learn(config: BuildConfig, catalog: Catalog, events: Events, consent: np.ndarray,
           weights: np.ndarray) -> _Learned:
    n_items = len(catalog.category)
    matrix, user_rows = item_model.interactions(config, events, consent, weights, n_items)
    if matrix.shape[0] == 0:
        raise BuildError("no usable interactions: every event is from a user without consent or unknown; give users "
                         "consent in users.csv (its consent column) or, if consent is collected, pass "
                         "--default-consent true (default_consent in [build])")
    neighbors, neighbor_weights = item_model.neighbors(config, matrix)
    raw_users, raw_items = embeddings.learn_embeddings(
        matrix, dim=config.dim, iterations=config.iterations, regularization=config.regularization,
        seed=config.seed, show_progress=config.show_progress)
    item_vectors = embeddings.normalize_rows(raw_items)
    item_factors = np.array(raw_items, dtype=np.float32)
    cold = np.bincount(matrix.indices, minlength=n_items) == 0
    if cold.any():
        features = embeddings.content_features(catalog.titles, catalog.category, catalog.brand, catalog.price,
                                               len(catalog.categories), len(catalog.brands))
        content = embeddings.content_vectors(item_vectors, ~cold, features, catalog.category)
        item_vectors[cold] = content
        item_factors[cold] = content * embeddings.cold_item_norm(item_factors, ~cold)
        neighbors, neighbor_weights = item_item.link_cold_items(
            neighbors, neighbor_weights, item_vectors, cold, per_cold=config.cold_links, scale=config.cold_link_weight)
    return _Learned(item_vectors, item_factors, embeddings.normalize_rows(raw_users), user_rows, cold,
                    neighbors, neighbor_weights)


def _fixed_width_bytes(strings: pa.Array) -> np.ndarray:
    """UTF-8 strings as a numpy bytes ('S') array, without a Python object per string."""
    binary = strings.cast(pa.large_binary())
    offsets = np.frombuffer(binary.buffers()[1], dtype=np.int64)[binary.offset:binary.offset + len(binary) + 1]
    data = np.frombuffer(binary.buffers()[2], dtype=np.uint8)
    lengths = np.diff(offsets)
    width = max(int(lengths.max(initial=0)), 1)
    out = np.zeros((len(binary), width), dtype=np.uint8)
    row = np.repeat(np.arange(len(binary)), lengths)
    out[row, np.arange(len(row)) - np.repeat(offsets[:-1] - offsets[0], lengths)] = data[offsets[0]:offsets[-1]]
    return out.view(f"S{width}").ravel()


def _recall_queries(item_vectors: np.ndarray, user_vectors: np.ndarray, user_rows: np.ndarray,
                    seed: int, n: int = 500) -> np.ndarray:
    """What the server searches with: half item vectors (product pages), half known users' vectors."""
    rng = np.random.default_rng(seed)
    users = user_rows[user_rows >= 0]
    n_users = min(len(users), n // 2)
    picked_users = user_vectors[rng.choice(users, size=n_users, replace=False)]
    n_items = min(len(item_vectors), n - n_users)
    picked_items = item_vectors[rng.choice(len(item_vectors), size=n_items, replace=False)]
    return np.ascontiguousarray(np.concatenate([picked_items, picked_users]), dtype=np.float32)


def _write(config: BuildConfig, staging: Staging, catalog: Catalog, events: Events, users: pa.Table,
           consent: np.ndarray, learned: _Learned, ranked: tuple[np.ndarray, np.ndarray],
           reference_ms: int) -> artifact_pb2.Manifest:
    """`ranked`: every catalog row, most popular first (coded.popularity_order), and each event's
    popularity mass (coded.popularity_mass), which the channel, segment and cell lists sum."""
    popularity, mass = ranked
    item_vectors, user_vectors, user_rows = learned.item_vectors, learned.user_vectors, learned.user_rows
    popular = popularity[catalog.in_stock[popularity]][: config.popular_list]
    ids = _fixed_width_bytes(catalog.ids)
    ids_sorted, rows_by_id = artifact.sorted_ids(ids)
    mine = _known_with_vector(events, user_rows)
    user_events = _user_events(events, mine)
    revisit = revisits.revisit_share(events.user[mine], events.item[mine], events.session[mine], events.ts[mine],
                                     len(catalog.category))
    with _step("repurchase"):
        rate, days = item_model.repurchase_arrays(config, user_events.user, user_events.item, user_events.ts,
                                                  user_events.purchase, catalog.category)
    for name, array in {
        "vectors": item_vectors, "ids": ids, "ids_sorted": ids_sorted, "rows_by_id": rows_by_id,
        "titles": _fixed_width_bytes(catalog.titles),
        "category": catalog.category, "brand": catalog.brand, "price": catalog.price, "in_stock": catalog.in_stock,
        "popular_rows": popular, "channel_popular_rows": _trending(catalog, events, mass, popular),
        "neighbors": learned.neighbors,
        "neighbor_weights": learned.neighbor_weights, "repurchase_rate": rate, "repurchase_days": days,
        "users": item_model.distinct_users(user_events.user, user_events.item, len(catalog.category)),
        "category_priors": exploration.category_priors(events.user[mine], events.item[mine], events.kind[mine],
                                                       catalog.category, len(catalog.categories)),
        "category_popular_rows": exploration.category_popular_rows(popularity, catalog.category, catalog.in_stock,
                                                                   len(catalog.categories), _CATEGORY_LIST),
    }.items():
        staging.save_item(name, array)
    with _step("complements"):
        _complements(config, staging, events, consent, len(catalog.category))
    with _step("successors"):
        _successors(config, staging, events, consent, len(catalog.category),
                    with_item_item=learned.neighbors.shape[1] > 0)
    with _step("facts"):
        demographics, countries, age_bands = demographic_codes(users)
        n_cells = (len(countries) + 1) * (len(age_bands) + 1)
        facts = _shopper_facts(config, staging, catalog, events, mine, mass[mine], len(consent), demographics,
                               (len(age_bands), n_cells), reference_ms)
    with _step("index"):
        queries = _recall_queries(item_vectors, user_vectors, user_rows, config.seed)
        params = IvfParams(threshold=config.ivf_threshold, target_recall=config.ivf_target_recall,
                           max_nprobe=config.ivf_max_nprobe, seed=config.seed)
        index, index_info = build_index(learned.item_factors, queries, params)
        staging.save_index(index)
        del index
    with _step("store"):
        n_profiles = _write_store(config, staging, user_events, users, consent, user_vectors, user_rows, facts)
    manifest = _manifest(config, staging.version, catalog, events, users, n_profiles, index_info)
    manifest.revisit_share = revisit
    _facts_summary(manifest, facts, consent, countries, age_bands)
    return manifest


def _known_with_vector(events: Events, user_rows: np.ndarray) -> np.ndarray:
    """Per event: a known user's with a learned vector (known and consenting): what profiles, cycles and the
    learned ranker are made of."""
    return (events.user >= 0) & (user_rows[np.maximum(events.user, 0)] >= 0)


def _ranker(config: BuildConfig, staging: Staging, info: artifact_pb2.RankerInfo, catalog: Catalog, events: Events,
            consent: np.ndarray, user_rows: np.ndarray, weights: np.ndarray, reference_ms: int) -> None:
    """Train the learned ranker on the known shoppers' logs (index_builder/ranker/) and keep it in the version."""
    mine = _known_with_vector(events, user_rows)
    lists = training_lists(config, events, consent, mine, weights, (catalog.category, catalog.in_stock),
                           reference_ms)
    if lists is None:
        info.verdict = "not trained: no shopper has events both before and after the cut"
        return
    ranker = train_ranker(config, lists, info)
    if ranker is not None:
        staging.save_ranker(ranker.model_text, ranker.forest.arrays())


def _trending(catalog: Catalog, events: Events, weight: np.ndarray, popular: np.ndarray) -> np.ndarray:
    """Per channel, its in-stock items by popularity mass (`weight`: decayed like the popular list; item_signals)."""
    stocked = catalog.in_stock[events.item]
    return item_signals.channel_popular_rows(events.channel[stocked], events.item[stocked], weight[stocked],
                                             popular, _CELL_LIST)


def _complements(config: BuildConfig, staging: Staging, events: Events, consent: np.ndarray, n_items: int) -> None:
    """Bought-together and viewed-together partners from the events that train (consenting users and
    anonymous sessions), per session (index_builder/models/complements.py)."""
    trains = item_model.trains(events, consent)
    for kind, name in (("purchase", "bought_together"), ("view", "viewed_together")):
        of_kind = trains & (events.kind == inputs.EVENT_TYPES.index(kind))
        rows, weights = complements.complements(
            events.session[of_kind], events.item[of_kind], events.ts[of_kind], n_items,
            k=config.complement_neighbors, min_support=config.complement_min_support, label=name)
        staging.save_item(name, rows)
        staging.save_item(f"{name}_weights", weights)


def _successors(config: BuildConfig, staging: Staging, events: Events, consent: np.ndarray, n_items: int, *,
                with_item_item: bool) -> None:
    rows, weights = item_model.successor_arrays(config, events, consent, n_items, with_item_item=with_item_item)
    staging.save_item("successors", rows)
    staging.save_item("successor_weights", weights)


def _shopper_facts(config: BuildConfig, staging: Staging, catalog: Catalog, events: Events, mine: np.ndarray,
                   weight: np.ndarray, n_users: int, demographics: tuple[np.ndarray, np.ndarray],
                   cells: tuple[int, int], reference_ms: int) -> Facts:
    """`weight`: the `mine` events' popularity mass; `cells`: (age bands, demographic cells) — see
    item_signals.cell_code."""
    shopper_events = ShopperEvents(
        user=events.user[mine], item=events.item[mine], ts=events.ts[mine], kind=events.kind[mine],
        order=events.session[mine], qty=events.qty[mine], paid=events.paid[mine], channel=events.channel[mine],
        item_category=catalog.category, item_brand=catalog.brand, item_price=catalog.price,
        brand_names=tuple(catalog.brands))
    facts = shopper_facts(shopper_events, n_users, demographics, reference_ms, config)
    n_items = len(catalog.category)
    # Segment and cell popularity weigh events like the global popular list (type weight x value x decay).
    n_age_bands, n_cells = cells
    cell = item_signals.cell_code(demographics[0], demographics[1], n_age_bands)
    segment = facts.facts["segment"][shopper_events.user]
    stocked = catalog.in_stock[shopper_events.item]
    arrays = {
        "price_position": item_signals.item_price_positions(catalog.category, catalog.price),
        "first_seen": item_signals.first_seen(events.item, events.ts, n_items, reference_ms),
        "segment_popularity": item_signals.segment_popularity(segment, shopper_events.item, weight, n_items),
        "segment_popular_rows": item_signals.cell_popular_rows(segment[stocked], shopper_events.item[stocked],
                                                               weight[stocked], len(artifact.SEGMENTS), _CELL_LIST),
        "cell_popular_rows": item_signals.cell_popular_rows(cell[shopper_events.user], shopper_events.item, weight,
                                                            n_cells, _CELL_LIST),
    }
    for name, array in arrays.items():
        staging.save_item(name, array)
    return facts


def _facts_summary(manifest: artifact_pb2.Manifest, facts: Facts, consent: np.ndarray, countries: list[str],
                   age_bands: list[str]) -> None:
    manifest.countries.extend(countries)
    manifest.age_bands.extend(age_bands)
    manifest.refund_lines = facts.refunds
    sizes = np.bincount(facts.facts["segment"][consent], minlength=len(artifact.SEGMENTS))
    for name, size in zip(artifact.SEGMENTS, sizes.tolist(), strict=True):
        manifest.segments.add(segment=name, users=size)
    models = manifest.lifetime
    if facts.bgnbd is not None:
        models.bgnbd_fitted = True
        models.r, models.alpha, models.a, models.b = facts.bgnbd.r, facts.bgnbd.alpha, facts.bgnbd.a, facts.bgnbd.b
    if facts.gamma_gamma is not None:
        models.gamma_gamma_fitted = True
        models.p, models.q, models.v = facts.gamma_gamma.p, facts.gamma_gamma.q, facts.gamma_gamma.v
    log.info("facts_done refund_lines=%d bgnbd_fitted=%s gamma_gamma_fitted=%s %s", facts.refunds,
             models.bgnbd_fitted, models.gamma_gamma_fitted,
             " ".join(f"segment_{n.replace(' ', '_').replace(chr(39), '')}={c}"
                      for n, c in zip(artifact.SEGMENTS, sizes.tolist(), strict=True)))


def _user_events(events: Events, mine: np.ndarray) -> UserEvents:
    """The `mine` events (users with a learned vector: known, consenting): what profiles and cycles are made of."""
    return UserEvents(user=events.user[mine], item=events.item[mine], ts=events.ts[mine],
                      purchase=events.kind[mine] == inputs.EVENT_TYPES.index("purchase"))


def _write_store(config: BuildConfig, staging: Staging, user_events: UserEvents, users: pa.Table,
                 consent: np.ndarray, user_vectors: np.ndarray, user_rows: np.ndarray, facts: Facts) -> int:
    records = profile_records(users["user_id"].combine_chunks(), consent, user_vectors, user_rows,
                              user_events, config.recent_items, facts)
    progress = tqdm(records, desc="profiles", unit="user", disable=not config.show_progress, mininterval=1.0)
    return staging.save_store(progress)


def _manifest(config: BuildConfig, version: str, catalog: Catalog, events: Events, users: pa.Table,
              n_profiles: int, index_info: artifact_pb2.IndexInfo) -> artifact_pb2.Manifest:
    return artifact_pb2.Manifest(
        schema_version=artifact.SCHEMA_VERSION, profile_layout=artifact.PROFILE_LAYOUT, version=version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"), dim=config.dim,
        counts=artifact_pb2.Counts(
            items=len(catalog.category), users=users.num_rows, events=len(events.item),
            profiles=n_profiles, events_dropped_unknown_item=events.dropped_unknown_item,
            events_dropped_unknown_user=events.unknown_user),
        params=artifact_pb2.BuildParams(
            dim=config.dim, iterations=config.iterations, regularization=config.regularization,
            seed=config.seed, event_weights=config.event_weights, recent_items=config.recent_items,
            popularity_half_life_days=config.popularity_half_life_days, item_neighbors=config.item_neighbors,
            ease_lambda=config.ease_lambda, als_alpha=config.als_alpha,
            repurchase_min_gap_days=config.repurchase_min_gap_days,
            repurchase_min_buyers=config.repurchase_min_buyers, affinity_weights=config.affinity_weights,
            affinity_half_life_days=config.affinity_half_life_days, profile_top=config.profile_top,
            rfm_window_days=config.rfm_window_days, lifecycle_new_days=config.lifecycle_new_days,
            lifecycle_active_days=config.lifecycle_active_days, lifecycle_lapsed_days=config.lifecycle_lapsed_days,
            clv_horizon_days=config.clv_horizon_days, clv_margin=config.clv_margin,
            clv_annual_discount=config.clv_annual_discount, successor_neighbors=config.successor_neighbors,
            successor_window=config.successor_window, successor_decay=config.successor_decay,
            successor_popularity=config.successor_popularity),
        index=index_info, categories=catalog.categories, brands=catalog.brands,
    )
