"""Snapshot: one verified artifact version, memory-mapped and read-only.

Per-item arrays are `np.load(mmap_mode="r")` views, the FAISS index is read
with IO_FLAG_MMAP, and LMDB is opened read-only without a lock file, so
every worker process shares one copy of the artifact in the page cache.
Every shape check runs once here, at load; a request trusts the snapshot.
`memory_snapshot` builds the same object from arrays, for unit tests of the
ranking stages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Protocol

import faiss
import lmdb
import numpy as np

from protos import artifact, enums
from protos import decision_pb2 as pb
from server.errors import ArtifactError
from server.runtime.ranker_model import LearnedModel, load_ranker

__all__ = ["Catalog", "Names", "ProfileStore", "LmdbProfiles", "MemoryProfiles", "Snapshot", "load_snapshot",
           "memory_snapshot", "resolve_current"]

log = logging.getLogger(__name__)
# InteractionType value -> the manifest's event type name (view, cart, purchase).
_EVENT_TYPE = dict(enumerate(enums.INTERACTION_TYPES))
del _EVENT_TYPE[pb.INTERACTION_TYPE_UNSPECIFIED]


def resolve_current(root: Path) -> Path:
    """The version directory `ROOT/current` points at."""
    try:
        return artifact.resolve_current(root)
    except artifact.ManifestMismatch as exc:
        raise ArtifactError(str(exc)) from exc


@dataclass(frozen=True, eq=False)
class Catalog:
    """Per-item arrays, row = item, and the id -> row lookup: one field per artifact.ITEM_ARRAYS entry (the
    table's optional ones default to its empty arrays), loaded by name from the table, plus the vocabularies."""

    ids: np.ndarray
    titles: np.ndarray  # UTF-8 bytes, b"" where the catalog has none (display only)
    ids_sorted: np.ndarray
    rows_by_id: np.ndarray
    vectors: np.ndarray
    category: np.ndarray
    brand: np.ndarray
    price: np.ndarray
    in_stock: np.ndarray
    popular_rows: np.ndarray
    neighbors: np.ndarray  # [items, k] item-item model (k = 0: none)
    neighbor_weights: np.ndarray
    # [items, k] complements (index_builder/models/complements.py): partner rows (-1 padded) and weights in (0, 1]
    bought_together: np.ndarray
    bought_together_weights: np.ndarray
    viewed_together: np.ndarray
    viewed_together_weights: np.ndarray
    repurchase_rate: np.ndarray  # share of an item's buyers who bought it again
    repurchase_days: np.ndarray  # median days between its repeat purchases; 0 = no cycle
    category_codes: Mapping[str, int]
    brand_codes: Mapping[str, int]
    price_position: np.ndarray  # price percentile within the item's category, 0..1
    first_seen: np.ndarray  # int64 epoch seconds of the item's first event
    segment_popularity: np.ndarray  # [SEGMENTS, items] 0..1
    cell_popular_rows: np.ndarray  # [demographic cells, k], -1 padded
    segment_popular_rows: np.ndarray  # [SEGMENTS, k]: each segment's most popular in-stock rows, -1 padded
    users: np.ndarray  # int32 distinct users who touched each item (the learned ranker's pop_users_log)
    category_names: np.ndarray  # object [categories]: code -> name, for responses
    # [len(CHANNELS), k] trending rows per channel, -1 padded (row 0: all channels); none in memory snapshots.
    channel_popular_rows: np.ndarray = field(default_factory=partial(artifact.empty_item_array, "channel_popular_rows"))
    # Exploration (server/ranking/explore.py): per category its Beta (alpha, beta) [categories, 2] and its in-stock
    # rows, most popular first [categories, k], -1 padded; none: no exploration.
    category_priors: np.ndarray = field(default_factory=partial(artifact.empty_item_array, "category_priors"))
    category_popular_rows: np.ndarray = field(default_factory=partial(artifact.empty_item_array,
                                                                      "category_popular_rows"))
    # [items, k] successors (index_builder/models/sequences.py): rows (-1 padded) and weights; none: k = 0.
    successors: np.ndarray = field(default_factory=partial(artifact.empty_item_array, "successors"))
    successor_weights: np.ndarray = field(default_factory=partial(artifact.empty_item_array, "successor_weights"))

    @cached_property
    def no_brand(self) -> np.ndarray:
        """int64: this catalog's brand codes that name no brand (artifact.NO_BRAND), derived once per version."""
        return np.array([self.brand_codes[n] for n in artifact.NO_BRAND if n in self.brand_codes], dtype=np.int64)

    @property
    def n_items(self) -> int:
        return int(self.vectors.shape[0])

    def rows_of(self, ids: tuple[str, ...]) -> np.ndarray:
        """Row per id (int64), -1 where unknown."""
        return artifact.find_rows(self.ids_sorted, self.rows_by_id, ids)

    def item_id(self, row: int) -> str:
        return bytes(self.ids[row]).decode("utf-8")


def _names_by_code(codes: Mapping[str, int]) -> np.ndarray:
    """Code -> name as an object array: a response takes its items' names in one indexing."""
    names = np.empty(len(codes), dtype=object)
    for name, code in codes.items():
        names[code] = name
    return names


class ProfileStore(Protocol):
    def read(self, user_id: str) -> artifact.Profile | None: ...

    def consents(self, user_ids: Iterable[str]) -> dict[str, bool | None]:
        """Each user's consent flag (None = no profile), without decoding the profiles."""
        ...

    def user_ids(self, limit: int) -> list[str]:
        """Up to `limit` user ids with a profile, spread over the store (benchmarks sample these)."""
        ...

    def close(self) -> None: ...


class LmdbProfiles:
    """Profiles in the version's LMDB store; lmdb errors become ArtifactError here."""

    def __init__(self, path: Path) -> None:
        self._env = artifact.open_store(path)
        try:
            self._db = self._env.open_db(artifact.DB_PROFILES, create=False)
        except lmdb.Error:
            self._env.close()
            raise

    def read(self, user_id: str) -> artifact.Profile | None:
        try:
            with self._env.begin(db=self._db, buffers=False) as txn:
                record = txn.get(user_id.encode("utf-8"))
        except lmdb.Error as exc:
            raise ArtifactError(f"profile read failed: {type(exc).__name__}") from exc
        return artifact.unpack_profile(record) if record is not None else None

    def consents(self, user_ids: Iterable[str]) -> dict[str, bool | None]:
        """One read transaction for all of them; only each record's flags byte is looked at."""
        try:
            with self._env.begin(db=self._db, buffers=True) as txn:
                records = {user: txn.get(user.encode("utf-8")) for user in user_ids}
                return {user: artifact.record_consent(r) if r is not None else None for user, r in records.items()}
        except lmdb.Error as exc:
            raise ArtifactError(f"profile read failed: {type(exc).__name__}") from exc

    def user_ids(self, limit: int) -> list[str]:
        try:
            return artifact.sample_user_ids(self._env, limit)
        except lmdb.Error as exc:
            raise ArtifactError(f"profile scan failed: {type(exc).__name__}") from exc

    def close(self) -> None:
        self._env.close()


class MemoryProfiles:
    """Profiles held in a dict (unit tests and in-memory snapshots)."""

    def __init__(self, profiles: Mapping[str, artifact.Profile]) -> None:
        self._profiles = dict(profiles)

    def read(self, user_id: str) -> artifact.Profile | None:
        return self._profiles.get(user_id)

    def consents(self, user_ids: Iterable[str]) -> dict[str, bool | None]:
        return {user: p.consent if (p := self._profiles.get(user)) is not None else None for user in user_ids}

    def user_ids(self, limit: int) -> list[str]:
        return list(self._profiles)[:limit]

    def close(self) -> None:
        self._profiles.clear()


@dataclass(frozen=True)
class Names:
    """The manifest's vocabularies, code -> name, and the lifetime-value horizon profiles were built with."""

    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    clv_horizon_days: float = 0.0

    @staticmethod
    def of(vocabulary: tuple[str, ...], code: int) -> str:
        """The name of `code` in one of these vocabularies; "" for a code outside it (-1 = not given)."""
        return vocabulary[code] if 0 <= code < len(vocabulary) else ""


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Everything one version offers the ranking code; immutable once loaded."""

    version: str
    catalog: Catalog
    index: faiss.Index
    profiles: ProfileStore
    # Weight per InteractionType value (index 0 unused): the builder's, from the manifest.
    event_weights: np.ndarray
    created_at: str = ""
    directory: Path | None = None
    # The builder's reference time (epoch seconds): the last event of the data, or the configured instant.
    reference_time: float = 0.0
    # How often the store's shoppers come back to items they touched (manifest.revisit_share).
    revisit_share: float = 0.0
    # Names behind the codes in profiles (GetProfile, reasons): manifest vocabularies.
    names: Names = field(default_factory=lambda: Names())
    # Consent of users this version does not know (manifest params.default_consent): whether their
    # live events may be kept.
    default_consent: bool = False
    # The live store's batches this version folded in (manifest.live_seq): overlay entries up to it are
    # part of the profiles already and are not merged again.
    live_seq: int = 0
    # The learned ranker (manifest.ranker, server/runtime/ranker_model.py); None: the hand blend alone.
    ranker: LearnedModel | None = None

    def may_keep(self, user_ids: Iterable[str]) -> dict[str, bool]:
        """Per user: whether their events may be stored — their profile's consent, else the default (one
        read of the profile store for all of them)."""
        consents = self.profiles.consents(user_ids)
        return {user: self.default_consent if ok is None else ok for user, ok in consents.items()}

    def close(self) -> None:
        self.profiles.close()


def _event_weights(weights: Mapping[str, float]) -> np.ndarray:
    missing = sorted(set(_EVENT_TYPE.values()) - set(weights))
    if missing:
        raise artifact.ManifestMismatch(f"{artifact.MANIFEST}: params.event_weights lacks {missing[0]}")
    out = np.zeros(max(_EVENT_TYPE) + 1, dtype=np.float32)
    for value, name in _EVENT_TYPE.items():
        out[value] = weights[name]
    return out


def _open_index(path: Path, nprobe: int) -> faiss.Index:
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
    if nprobe > 0:
        ivf = faiss.extract_index_ivf(index)
        ivf.nprobe = nprobe
        # Mapped (on-disk) inverted lists prefetch with threads by default: ~5x slower per query.
        invlists = faiss.downcast_InvertedLists(ivf.invlists) if ivf.invlists is not None else None
        if isinstance(invlists, faiss.OnDiskInvertedLists):
            invlists.prefetch_nthread = 0
    return index


def _load(directory: Path, stack: ExitStack) -> Snapshot:
    manifest = artifact.read_manifest(directory)
    artifact.verify_files(directory, manifest)
    # Plain ndarray views of the maps: np.memmap's Python-level __getitem__ costs µs per index.
    arrays = {k: np.load(directory / spec.file, mmap_mode="r").view(np.ndarray)
              for k, spec in artifact.ITEM_ARRAYS.items()}
    artifact.check_arrays(arrays, manifest)
    index = _open_index(directory / artifact.INDEX, manifest.index.nprobe)
    artifact.check_index(index.d, index.ntotal, manifest)
    weights = _event_weights(manifest.params.event_weights)
    profiles = LmdbProfiles(directory / artifact.STORE)
    stack.callback(profiles.close)
    category_codes = {name: code for code, name in enumerate(manifest.categories)}
    catalog = Catalog(
        **arrays, category_codes=category_codes, brand_codes={name: code for code, name in enumerate(manifest.brands)},
        category_names=_names_by_code(category_codes))
    names = Names(tuple(manifest.categories), tuple(manifest.brands), tuple(manifest.countries),
                  tuple(manifest.age_bands), manifest.params.clv_horizon_days)
    return Snapshot(manifest.version, catalog, index, profiles, weights, manifest.created_at, directory,
                    manifest.params.reference_time_ms / 1000, manifest.revisit_share, names,
                    manifest.params.default_consent, manifest.live_seq,
                    load_ranker(directory, manifest.ranker, catalog))


def load_snapshot(directory: Path) -> Snapshot:
    """Open and verify one version; raises ArtifactError and leaves nothing open on failure."""
    with ExitStack() as stack:
        try:
            snapshot = _load(directory, stack)
        except artifact.ManifestMismatch as exc:
            raise ArtifactError(str(exc)) from exc
        except (OSError, ValueError, RuntimeError, lmdb.Error) as exc:
            raise ArtifactError(f"{directory}: cannot open: {type(exc).__name__}: {exc}") from exc
        stack.pop_all()
    log.info("snapshot_loaded version=%s items=%d", snapshot.version, snapshot.catalog.n_items)
    return snapshot


def _complement_arrays(n_items: int, given: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for name in ("bought_together", "viewed_together"):
        rows = np.asarray(given.get(name, np.zeros((n_items, 0))), dtype=np.int32)
        out[name] = rows
        out[f"{name}_weights"] = np.asarray(given.get(f"{name}_weights", np.ones(rows.shape)), dtype=np.float32)
    return out


def _exploration_arrays(category: np.ndarray, popular: Sequence[int] | None) -> dict[str, np.ndarray]:
    """Uniform category priors and, per category, its items in the popular order (every row, in row order
    without one)."""
    order = np.asarray(range(len(category)) if popular is None else popular, dtype=np.int64)
    n_categories = int(category.max()) + 1 if len(category) else 0
    lists = np.full((n_categories, max(len(order), 1)), -1, dtype=np.int32)
    codes = category[order]
    for code in range(n_categories):  # a unit-test helper, not the request path
        mine = order[codes == code]
        lists[code, :len(mine)] = mine
    return {"category_priors": np.ones((n_categories, 2), dtype=np.float32), "category_popular_rows": lists}


def memory_snapshot(vectors: np.ndarray, ids: Sequence[str], category: Sequence[str], brand: Sequence[str],
                    price: Sequence[float], in_stock: Sequence[bool], popular: Sequence[int] | None = None,
                    profiles: Mapping[str, artifact.Profile] | None = None,
                    event_weights: Mapping[str, float] | None = None, version: str = "memory",
                    neighbors: tuple[np.ndarray, np.ndarray] | None = None,
                    repurchase: tuple[Sequence[float], Sequence[float]] | None = None,
                    reference_time: float = 0.0, revisit_share: float = 0.0,
                    titles: Sequence[str] | None = None,
                    complements: Mapping[str, np.ndarray] | None = None) -> Snapshot:
    """A snapshot from plain arrays (exact index over `vectors`), for unit tests of ranking stages.

    `repurchase` is (rate, days) per item (none: no cycles); `reference_time` the artifact's clock;
    `titles` per item (none: empty); `complements` any of bought_together, bought_together_weights,
    viewed_together, viewed_together_weights ([items, k]; none: k = 0)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    id_bytes = np.array([i.encode("utf-8") for i in ids])
    ids_sorted, rows_by_id = artifact.sorted_ids(id_bytes)
    categories, category_codes = np.unique(np.asarray(category), return_inverse=True)
    brands, brand_codes = np.unique(np.asarray(brand), return_inverse=True)
    index = faiss.IndexFlatIP(vectors.shape[1] + 1)
    index.add(artifact.index_queries(vectors))
    category_table = {str(n): c for c, n in enumerate(categories)}
    title_bytes = np.array([t.encode("utf-8") for t in titles or [""] * len(ids)])
    pairs = _complement_arrays(len(ids), complements or {})
    catalog = Catalog(
        ids=id_bytes, titles=title_bytes, ids_sorted=ids_sorted, rows_by_id=rows_by_id, vectors=vectors,
        category=category_codes.astype(np.int32), brand=brand_codes.astype(np.int32),
        price=np.asarray(price, dtype=np.float32), in_stock=np.asarray(in_stock, dtype=bool),
        popular_rows=np.asarray(range(len(ids)) if popular is None else popular, dtype=np.int32),
        neighbors=np.zeros((len(ids), 0), np.int32) if neighbors is None else neighbors[0],
        neighbor_weights=np.zeros((len(ids), 0), np.float32) if neighbors is None else neighbors[1],
        bought_together=pairs["bought_together"], bought_together_weights=pairs["bought_together_weights"],
        viewed_together=pairs["viewed_together"], viewed_together_weights=pairs["viewed_together_weights"],
        repurchase_rate=np.asarray(repurchase[0] if repurchase else np.zeros(len(ids)), dtype=np.float32),
        repurchase_days=np.asarray(repurchase[1] if repurchase else np.zeros(len(ids)), dtype=np.float32),
        category_codes=category_table, brand_codes={str(n): c for c, n in enumerate(brands)},
        category_names=_names_by_code(category_table),
        # Every item a year old at the snapshot's clock: none is "new".
        price_position=np.full(len(ids), 0.5, dtype=np.float32),
        first_seen=np.full(len(ids), int(reference_time) - 365 * 86_400, dtype=np.int64),
        segment_popularity=np.zeros((len(artifact.SEGMENTS), len(ids)), dtype=np.float32),
        cell_popular_rows=np.zeros((0, 0), dtype=np.int32),
        segment_popular_rows=np.full((len(artifact.SEGMENTS), 0), -1, dtype=np.int32),
        users=np.zeros(len(ids), dtype=np.int32),
        **_exploration_arrays(category_codes, popular))
    weights = _event_weights(event_weights or {"view": 1.0, "cart": 4.0, "purchase": 10.0})
    return Snapshot(version, catalog, index, MemoryProfiles(profiles or {}), weights, reference_time=reference_time,
                    revisit_share=revisit_share)
