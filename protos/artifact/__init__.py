"""The artifact directory: the one disk contract the builder, server, benchmark and tests share.

ROOT/
  current -> <version>          symlink, switched atomically with os.replace (`switch_current`)
  .staging-<version>/           a version being written (`staging_dir`); never served
  <version>/
    manifest.json               written last; lists every file with its sha256
    index.faiss                 FAISS index (inner product) over the raw ALS item factors, so a
                                user's score is the predicted preference; cold items are their
                                content vector at the warm items' lower-quartile length. It has
                                dim + 1 dimensions: the last makes every row the same length
                                (so IVF partitions well); queries append a 0 (`index_queries`)
    item_vectors.npy            float32 [items, dim], the same directions L2-normalised (cosine)
    item_ids.npy                S [items]: row -> item id
    item_titles.npy             S [items]: UTF-8 display title (items' optional `title`; empty where absent)
    item_ids_sorted.npy         S [items]: the ids in byte order, one byte wider than the longest
                                id (so a longer query id can never match a truncated prefix)
    item_rows_by_id.npy         int32 [items]: catalog row of each sorted id (`find_rows`)
    item_category.npy           int32 [items]: code into manifest.categories
    item_brand.npy              int32 [items]: code into manifest.brands
    item_price.npy              float32 [items]
    item_in_stock.npy           bool [items]
    popular_rows.npy            int32 [<= items]: in-stock rows, most popular first
    item_neighbors.npy          int32 [items, k]: each item's strongest item-item neighbours (EASE);
                                k = 0 when the catalog has no item-item model
    item_neighbor_weights.npy   float32 [items, k]: their weights (may be negative)
    item_bought_together.npy    int32 [items, k]: each item's strongest "bought together" partners (purchased in
                                the same session), best first, -1 padded (index_builder/models/complements.py);
                                k = BuildConfig.complement_neighbors (0: none)
    item_bought_together_weights.npy  float32 [items, k]: their strength in (0, 1] (cosine of the two
                                items' session sets), 0 where padded
    item_viewed_together.npy    int32 [items, k]: the same for items viewed in the same session
    item_viewed_together_weights.npy  float32 [items, k]
    item_successors.npy         int32 [items, k]: each item's strongest successors in shoppers' sequences
                                (what they touch soon after it), best first, -1 padded
                                (index_builder/models/sequences.py); k = BuildConfig.successor_neighbors (0: none)
    item_successor_weights.npy  float32 [items, k]: their strength (> 0), 0 where padded
    item_repurchase_rate.npy    float32 [items] in [0, 1]: share of the item's buyers who bought it
                                again (a later purchase occasion, BuildParams.repurchase_min_gap_days
                                or more after the previous one)
    item_repurchase_days.npy    float32 [items] >= 0: median days between consecutive purchase
                                occasions of its repeat buyers; 0 = no cycle learned (fewer than
                                BuildParams.repurchase_min_buyers repeat buyers)
    item_price_position.npy     float32 [items] 0..1: price percentile within the item's category
    item_first_seen.npy         int64 [items]: first event (epoch s); the reference time if none
    segment_popularity.npy      float32 [SEGMENTS, items] 0..1: each segment's popularity per item
    segment_popular_rows.npy    int32 [SEGMENTS, k]: each segment's most popular in-stock rows, -1 padded
    cell_popular_rows.npy       int32 [cells, k]: each demographic cell's most popular rows, -1 padded
                                (cell = (country + 1) x (len(manifest.age_bands) + 1) + age band + 1)
    channel_popular_rows.npy    int32 [len(CHANNELS), k]: per channel, its trending in-stock rows (events on that
                                channel, decayed like popular_rows), -1 padded; row 0 (all channels) is the
                                head of popular_rows. The top-up for a visitor without a profile on a channel
                                starts from that channel's row
    category_priors.npy         float32 [categories, 2]: per category (code into manifest.categories) the Beta
                                (alpha, beta) of "a shopper converts in it" the exploration step samples
                                (index_builder/models/exploration.py), both >= 1
    category_popular_rows.npy   int32 [categories, k]: per category its in-stock rows, most popular first, -1
                                padded: where an exploration slot takes its item
    store.lmdb                  LMDB (`open_store`), one named db:
                                  profiles: user id -> profile record (`pack_profile`): consent,
                                  scalar facts (RFM, segment, CLV, lifecycle, price band, tags,
                                  demographics), vector, recent item rows with the events on
                                  and last touch of each, purchased item rows with the last
                                  purchase time and purchase count of each, top categories and
                                  brands; manifest.profile_layout (PROFILE_LAYOUT) versions it

Every check of a version's shape happens once, at load (`check_arrays`, `check_index`,
`read_manifest`), never per request; the builder runs `check_arrays` too before it publishes. The
per-item arrays above are typed once, in ITEM_ARRAYS (file, dtype, shape, rows, optional): the builder's
writer, these checks and the server's Catalog all follow that table, so a new array is one entry there,
one field of server/runtime/snapshot.py's Catalog and the builder step that computes it.

The contract is split by job: layout.py (names, versions), arrays.py (the per-item array table and its
checks), records.py (profile records), lookup.py (id -> row), versions.py (files, the store, staging,
`current`, manifests; the only one that loads LMDB, imported on first use). This door re-exports them all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from protos.artifact.arrays import ITEM_ARRAYS, ArraySpec, check_arrays, check_index, empty_item_array
from protos.artifact.layout import (
    CURRENT_LINK,
    DB_PROFILES,
    EVENT_TYPES,
    INDEX,
    MANIFEST,
    NO_BRAND,
    PROFILE_LAYOUT,
    RANKER_ARRAY,
    RANKER_MODEL,
    SCHEMA_VERSION,
    STAGING_PREFIX,
    STORE,
    UNBRANDED,
    ManifestMismatch,
)
from protos.artifact.lookup import find_rows, index_queries, sorted_ids
from protos.artifact.records import (
    CHANNELS,
    CONSENT_FLAG,
    FACTS,
    LIFECYCLES,
    PRICE_BANDS,
    RECORD_HEAD,
    SEGMENTS,
    TAGS,
    Profile,
    no_facts,
    pack_profile,
    record_consent,
    unpack_profile,
)

if TYPE_CHECKING:
    from protos.artifact.versions import (
        clone_current,
        copy_version,
        file_sha256,
        fsync_path,
        new_version_name,
        open_store,
        read_manifest,
        resolve_current,
        sample_user_ids,
        staging_dir,
        switch_current,
        verify_files,
        write_manifest,
    )

__all__ = ["NO_BRAND", "UNBRANDED",
           "SCHEMA_VERSION", "PROFILE_LAYOUT", "RANKER_MODEL", "RANKER_ARRAY",
           "CURRENT_LINK", "STAGING_PREFIX", "MANIFEST", "INDEX", "STORE",
           "DB_PROFILES", "EVENT_TYPES", "ArraySpec", "ITEM_ARRAYS", "empty_item_array", "Profile", "pack_profile",
           "unpack_profile", "FACTS", "RECORD_HEAD", "CONSENT_FLAG", "record_consent", "no_facts", "SEGMENTS",
           "LIFECYCLES", "PRICE_BANDS", "CHANNELS", "TAGS", "sorted_ids", "find_rows", "sample_user_ids",
           "file_sha256", "fsync_path", "index_queries", "open_store", "staging_dir", "new_version_name",
           "switch_current", "resolve_current", "copy_version", "clone_current", "read_manifest", "write_manifest",
           "verify_files", "check_arrays", "check_index", "ManifestMismatch"]

_VERSIONS = frozenset(["clone_current", "copy_version", "file_sha256", "fsync_path", "new_version_name",
                       "open_store", "read_manifest", "resolve_current", "sample_user_ids", "staging_dir",
                       "switch_current", "verify_files", "write_manifest"])


def __getattr__(name: str) -> Any:
    if name in _VERSIONS:
        return getattr(importlib.import_module("protos.artifact.versions"), name)
    raise AttributeError(f"module 'protos.artifact' has no attribute {name!r}")
