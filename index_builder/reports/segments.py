"""The customer base by segment, read offline from a built artifact (`tailor segments`).

`read_store_facts` scans ROOT/current's `profiles` db once and keeps, for every consenting user, the
id and the FACTS record (protos/artifact/); `summarize` turns a FACTS array into the segment table,
the R x F grid and the lifecycle, price band and tag counts; `facts_table` is the per-user export.
All of it is array work: the only per-user Python is the cursor loop that slices records.

  users, share      consenting users in the segment, and their share of all consenting users
  revenue, share    sum of monetary_total (spend in the RFM window) and its share of the total
  CLV               mean and total expected lifetime value over the build's horizon
  recency, F, M     mean days since the last purchase (buyers only: browsers have none), mean
                    orders and mean spend in the RFM window
  R x F grid        buyers (a purchase in the RFM window) by recency score (1-5) and frequency score

Errors: ArtifactReadError (no current version, an unreadable manifest or store, a malformed record).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import lmdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from protos import artifact, artifact_pb2, ids

__all__ = ["ArtifactReadError", "StoreFacts", "read_store_facts", "SegmentStats", "SegmentsSummary", "summarize",
           "clv_models", "overview", "utc_time", "SEGMENT_HEADER", "segment_rows", "grid_rows", "count_rows",
           "facts_table", "CSV_COLUMNS", "SCORES"]

SCORES = 5  # RFM scores run 1..SCORES (0 = no purchase in the window)
_BATCH = 1 << 16  # records sliced per bytes join


class ArtifactReadError(Exception):
    """The artifact root has no readable current version, or its profile store cannot be read."""


_HEAD, _CONSENT_BIT = artifact.RECORD_HEAD, artifact.CONSENT_FLAG


@dataclass(frozen=True)
class StoreFacts:
    """The consenting users of one artifact version, in key order: ids and FACTS, aligned."""

    root: Path  # as given
    version_dir: Path
    manifest: artifact_pb2.Manifest
    user_ids: pa.Array  # large_string; personal data: never log them
    facts: np.ndarray  # FACTS[users]
    withheld: int  # records of users without consent (they hold nothing and are skipped)


def read_store_facts(root: Path, *, progress: bool = False) -> StoreFacts:
    """Scan ROOT/current's profiles once (a tqdm bar with `progress`); raises ArtifactReadError."""
    try:
        version_dir = artifact.resolve_current(root)
        manifest = artifact.read_manifest(version_dir)
    except artifact.ManifestMismatch as exc:
        raise ArtifactReadError(str(exc)) from exc
    path = version_dir / artifact.STORE
    if not path.is_file():
        raise ArtifactReadError(f"{path}: missing")
    try:
        env = artifact.open_store(path)
        try:
            keys, heads = _scan(env, progress)
        finally:
            env.close()
    except lmdb.Error as exc:
        raise ArtifactReadError(f"{path}: cannot read profiles: {exc}") from exc
    if keys and not ids.IDS.fullmatch(keys):
        raise ArtifactReadError(f"{path}: a profile key is not a user id ({ids.ID_RULE})")
    user_ids = (pc.split_pattern(pa.array([keys], pa.large_binary()), b"\n").flatten() if keys
                else pa.array([], pa.large_binary()))
    if len(heads) != len(user_ids) * _HEAD.itemsize:
        raise ArtifactReadError(f"{path}: a profile record is shorter than its header and facts")
    head = np.frombuffer(heads, dtype=_HEAD)
    consent = (head["flags"] & _CONSENT_BIT) != 0
    return StoreFacts(root, version_dir, manifest, user_ids.filter(pa.array(consent)).cast(pa.large_string()),
                      head["facts"][consent], int((~consent).sum()))


def _scan(env: lmdb.Environment, progress: bool) -> tuple[bytes, bytes]:
    """(newline-joined keys, the records' heads joined), one read transaction over the profiles db.

    Records come as bytes, not buffers: a million live memoryviews keep the cyclic garbage collector
    busy (bytes are not tracked), several times slower. A record shorter than the head contributes
    fewer bytes, which the caller sees as a total that does not add up.
    """
    db = env.open_db(artifact.DB_PROFILES, create=False)
    key_blocks: list[bytes] = []
    head_blocks: list[bytes] = []
    with env.begin(db=db) as txn:
        records: Iterator[tuple[bytes, bytes]] = iter(tqdm(
            txn.cursor(), total=txn.stat(db)["entries"], desc="profiles", unit="user", disable=not progress,
            mininterval=1.0, leave=False))
        while batch := list(islice(records, _BATCH)):
            key_blocks.append(b"\n".join(key for key, _ in batch))
            head_blocks.append(b"".join(value[:_HEAD.itemsize] for _, value in batch))
    return b"\n".join(key_blocks), b"".join(head_blocks)


@dataclass(frozen=True)
class SegmentStats:
    """One segment's row of the report; means are NaN for an empty segment (recency: without buyers)."""

    name: str
    users: int
    share: float
    revenue: float
    revenue_share: float
    clv_mean: float
    clv_total: float
    recency_days_mean: float
    frequency_mean: float
    monetary_mean: float


@dataclass(frozen=True)
class SegmentsSummary:
    """The consenting customer base of one FACTS array."""

    users: int
    buyers: int  # users with a purchase in the RFM window (r > 0)
    segments: tuple[SegmentStats, ...]  # artifact.SEGMENTS order
    total: SegmentStats  # every user, named "all"
    rf_grid: np.ndarray  # int64[SCORES, SCORES]: buyers with R = i + 1 and F = j + 1 at [i, j]
    lifecycles: dict[str, int]
    price_bands: dict[str, int]
    tags: dict[str, int]  # users carrying each tag (a user may carry several)


def summarize(facts: np.ndarray) -> SegmentsSummary:
    """Aggregate FACTS (of consenting users) per segment; raises ValueError on a code outside its vocabulary."""
    _check_codes(facts)
    buyer = facts["r"] > 0
    scores = facts[["r", "f"]][buyer]
    grid = np.bincount((scores["r"].astype(np.int64) - 1) * SCORES + scores["f"] - 1,
                       minlength=SCORES * SCORES).reshape(SCORES, SCORES)
    tag_bits = facts["tags"][:, None] & (1 << np.arange(len(artifact.TAGS)))
    return SegmentsSummary(
        users=len(facts), buyers=int(buyer.sum()), segments=_group_stats(facts, facts["segment"], artifact.SEGMENTS),
        total=_group_stats(facts, np.zeros(len(facts), np.int64), ("all",))[0], rf_grid=grid,
        lifecycles=_counts(facts["lifecycle"], artifact.LIFECYCLES),
        price_bands=_counts(facts["price_band"], artifact.PRICE_BANDS),
        tags=dict(zip(artifact.TAGS, (tag_bits != 0).sum(axis=0).tolist(), strict=True)))


def _group_stats(facts: np.ndarray, group: np.ndarray, names: tuple[str, ...]) -> tuple[SegmentStats, ...]:
    """SegmentStats of each group code 0..len(names)-1 (bincounts: no loop over users)."""
    buyer = facts["r"] > 0

    def total(values: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        if where is None:
            return np.bincount(group, weights=values, minlength=len(names))
        return np.bincount(group[where], weights=values[where], minlength=len(names))

    users, buyers = np.bincount(group, minlength=len(names)), np.bincount(group[buyer], minlength=len(names))
    revenue, clv = total(facts["monetary_total"]), total(facts["clv"])
    columns = (users / max(len(facts), 1), revenue, _ratio(revenue, np.array(revenue.sum()), empty=0.0),
               _ratio(clv, users), clv, _ratio(total(facts["recency_days"], buyer), buyers),
               _ratio(total(facts["frequency"]), users), _ratio(revenue, users))
    return tuple(SegmentStats(name, int(users[g]), *(float(c[g]) for c in columns)) for g, name in enumerate(names))


def _check_codes(facts: np.ndarray) -> None:
    for field, vocabulary in (("segment", artifact.SEGMENTS), ("lifecycle", artifact.LIFECYCLES),
                              ("price_band", artifact.PRICE_BANDS)):
        if len(facts) and int(facts[field].max()) >= len(vocabulary):
            raise ValueError(f"facts.{field}: code {int(facts[field].max())} outside its {len(vocabulary)} names")
    for score in ("r", "f", "m"):
        if len(facts) and int(facts[score].max()) > SCORES:
            raise ValueError(f"facts.{score}: score {int(facts[score].max())} above {SCORES}")
    if np.any((facts["r"] > 0) != (facts["f"] > 0)):
        raise ValueError("facts.r, facts.f: a user scored on one and not the other")


def _ratio(numerator: np.ndarray, denominator: np.ndarray, *, empty: float = np.nan) -> np.ndarray:
    """numerator / denominator as float64, `empty` where the denominator is 0."""
    out = np.full(np.broadcast(numerator, denominator).shape, empty)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _counts(codes: np.ndarray, names: tuple[str, ...]) -> dict[str, int]:
    return dict(zip(names, np.bincount(codes, minlength=len(names)).tolist(), strict=True))


# --- tables: the cells the console and the HTML page both show ------------------------------------------------------

SEGMENT_HEADER = ("segment", "users", "share", "revenue", "revenue share", "mean CLV", "total CLV", "mean recency d",
                  "mean orders", "mean spend")


def clv_models(lifetime: artifact_pb2.LifetimeModels) -> str:
    """How CLV was computed, from the lifetime models the build recorded as fitted; "" with no forecast."""
    if not lifetime.bgnbd_fitted:
        return ""
    if lifetime.gamma_gamma_fitted:
        return "BG/NBD purchases x Gamma-Gamma order value"
    return "BG/NBD purchases x each buyer's own mean spend per purchase day; Gamma-Gamma not fitted"


def overview(manifest: artifact_pb2.Manifest, summary: SegmentsSummary, withheld: int) -> str:
    """One paragraph: whom the report counts, the RFM window and the CLV horizon, and how CLV was computed —
    naming only the lifetime models the build fitted."""
    p = manifest.params
    models = clv_models(manifest.lifetime)
    forecast = (f"CLV is the expected value of the next {p.clv_horizon_days:g} days ({models}; margin "
                f"{p.clv_margin:g})" if models else "CLV is 0: too few buyers to fit the lifetime models")
    return (f"{summary.users:,} consenting users ({withheld:,} without consent are not counted); {summary.buyers:,} "
            f"of them bought in the {p.rfm_window_days:g} days up to the build's reference time, "
            f"{utc_time(p.reference_time_ms)}, for {summary.total.revenue:,.2f} in total (revenue). {forecast}.")


def utc_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC") if ms else "-"


def segment_rows(summary: SegmentsSummary) -> list[list[str]]:
    """Cells of the segment table: one row per segment, then "all"; "-" where a mean has no users."""
    return [[s.name, f"{s.users:,}", _percent(s.share), _money(s.revenue), _percent(s.revenue_share),
             _money(s.clv_mean), _money(s.clv_total), _number(s.recency_days_mean, 1), _number(s.frequency_mean, 2),
             _money(s.monetary_mean)] for s in (*summary.segments, summary.total)]


def grid_rows(summary: SegmentsSummary) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the R x F grid: R5 first, with row and column totals ("all")."""
    grid = summary.rf_grid
    header = ["", *(f"F{f}" for f in range(1, SCORES + 1)), "all"]
    rows = [[f"R{r}", *(f"{c:,}" for c in grid[r - 1].tolist()), f"{int(grid[r - 1].sum()):,}"]
            for r in range(SCORES, 0, -1)]
    rows.append(["all", *(f"{c:,}" for c in grid.sum(axis=0).tolist()), f"{int(grid.sum()):,}"])
    return header, rows


def count_rows(counts: dict[str, int], users: int) -> list[list[str]]:
    """[name, users, share of `users`] per entry."""
    return [[name, f"{n:,}", _percent(n / users if users else 0.0)] for name, n in counts.items()]


def _percent(share: float) -> str:
    return "-" if np.isnan(share) else f"{share:.1%}"


def _money(value: float) -> str:
    return _number(value, 2)


def _number(value: float, digits: int) -> str:
    return "-" if np.isnan(value) else f"{value:,.{digits}f}"


# --- the per-user export ------------------------------------------------------------------------------------------

# The CSV export, one row per consenting user: the id, the codes' names, and these FACTS fields as they are.
CSV_COLUMNS = ("user_id", "segment", "r", "f", "m", "recency_days", "frequency", "monetary_total", "monetary_avg",
               "expected_purchases", "p_alive", "expected_order_value", "clv", "lifecycle", "price_band", "tags")
# column -> FACTS field
_NUMERIC = {"r": "r", "f": "f", "m": "m", "recency_days": "recency_days", "frequency": "frequency",
            "monetary_total": "monetary_total", "monetary_avg": "monetary_avg",
            "expected_purchases": "expected_purchases", "p_alive": "p_alive", "expected_order_value": "expected_value",
            "clv": "clv"}
# Tag names joined by "|" for every combination of the TAGS bits (bits beyond TAGS are reserved).
_TAG_MASK = (1 << len(artifact.TAGS)) - 1
_TAG_TEXTS = pa.array(["|".join(t for i, t in enumerate(artifact.TAGS) if mask >> i & 1) for mask in
                       range(_TAG_MASK + 1)])


def facts_table(user_ids: pa.Array, facts: np.ndarray) -> pa.Table:
    """The export as an Arrow table in CSV_COLUMNS order: codes become names, tags "a|b" ("" = none)."""
    def names(vocabulary: tuple[str, ...], codes: np.ndarray) -> pa.Array:
        return pa.array(vocabulary).take(pa.array(codes))

    columns = {"user_id": user_ids, "segment": names(artifact.SEGMENTS, facts["segment"]),
               **{column: pa.array(facts[field]) for column, field in _NUMERIC.items()},
               "lifecycle": names(artifact.LIFECYCLES, facts["lifecycle"]),
               "price_band": names(artifact.PRICE_BANDS, facts["price_band"]),
               "tags": _TAG_TEXTS.take(pa.array(facts["tags"] & _TAG_MASK))}
    return pa.table({column: columns[column] for column in CSV_COLUMNS})
