"""BuildConfig: every knob of one build, validated at start.

Precedence: defaults < the [build] table of a TOML config file (the same file as `tailor serve`'s
[server] and [ranking], see tailor.example.toml, which lists every key with its default) <
TAILOR_BUILD_<KEY> environment (TAILOR_BUILD_DIM=32; a TAILOR_BUILD_ variable that names no key is an
error, protos/settings.py) < flags: the shape of the server's ServerConfig.
"""

from __future__ import annotations

import os
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index_builder.ranker.cut import CUTS
from protos.settings import ENV_PREFIX, environment_values, nearest, parse_boolean

__all__ = ["BuildConfig", "DEFAULT_EVENT_WEIGHTS", "DEFAULT_AFFINITY_WEIGHTS", "VALUE_SCALES", "load_build_config",
           "parse_event_weights",
           "parse_reference_time"]

# Confidence of one event per type in the interaction matrix. Recorded in the manifest: the server
# weighs a request's session with the same numbers, so offline and online agree.
DEFAULT_EVENT_WEIGHTS = {"view": 1.0, "cart": 4.0, "purchase": 10.0}
# How an event's `value` (a rating or quantity) scales its type's weight: linear = weight * value;
# log1p = weight * log1p(value) / log1p(1), so a value of 1 weighs the same under both.
VALUE_SCALES = ("linear", "log1p")
# Weight of one event per type in a shopper's category and brand affinities (a purchase outweighs a view).
DEFAULT_AFFINITY_WEIGHTS = {"view": 1.0, "cart": 3.0, "purchase": 6.0}


@dataclass(frozen=True)
class BuildConfig:
    """One build: where to read, where to write, how to read the inputs and how to learn."""

    data_dir: Path
    out_root: Path
    dim: int = 64
    iterations: int = 12
    regularization: float = 0.05
    # ALS confidence of a (row, item) pair: 1 + als_alpha * log1p(its summed event weight). MovieLens 100K,
    # ALS index alone, nDCG@10 random / time split: alpha 1 0.392 / 0.207, 2 0.390 / 0.208, 4 0.385 / 0.206,
    # 8 0.379 / 0.199 (docs/evaluation.md).
    als_alpha: float = 2.0
    seed: int = 7
    event_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    value_scale: str = "linear"
    # Distinct items kept per profile, most recent last: the history the item-item model scores from
    # and Recommend excludes (MovieLens 100K, random split, nDCG@10 through the server: 200 -> 0.444,
    # 500 -> 0.486, 1000 -> 0.487; users with more items than kept get their older ones back).
    recent_items: int = 500
    # Item-item model (index_builder/models/item_item.py): EASE with this L2 penalty, each item keeping its
    # `item_neighbors` strongest neighbours (0 = off); only for catalogs up to ease_max_items.
    item_neighbors: int = 200
    ease_lambda: float = 500.0
    ease_max_items: int = 10_000
    # Repurchase cycles (index_builder/models/repurchase.py): a user's purchases of one item closer than
    # repurchase_min_gap_days are one occasion; an item's cycle (median days between occasions) is
    # kept only when at least repurchase_min_buyers users bought it again.
    repurchase_min_gap_days: float = 1.0
    repurchase_min_buyers: int = 3
    # Complements (index_builder/models/complements.py): per item, its complement_neighbors strongest "bought
    # together" and "viewed together" partners (cosine of the items' session sets; 0 = off), among pairs
    # seen together in at least complement_min_support sessions.
    complement_neighbors: int = 20
    complement_min_support: int = 2
    # Successors (index_builder/models/sequences.py): per item, its successor_neighbors strongest successors in
    # shoppers' sequences (0 = off): items up to successor_window steps later, each step successor_decay less,
    # divided by the successor's count^successor_popularity. MovieLens 100K, time split, nDCG@10 through the
    # server (docs/evaluation.md "Successors").
    successor_neighbors: int = 200
    successor_window: int = 100
    successor_decay: float = 0.97
    successor_popularity: float = 0.5
    popularity_half_life_days: float = 14.0
    # Popularity decays from this instant; None = the last event in the data (recorded in the manifest).
    reference_time: datetime | None = None
    popular_list: int = 2000
    # IANA zone in which zone-less ISO timestamps are local time; None = such timestamps are refused.
    timezone: str | None = None
    # Events without a session_id: a user's session ends after this much inactivity.
    session_gap_minutes: float = 30.0
    # Consent of users who appear in events but not in users.csv. False: consent must be explicit,
    # so they get no profile and their events train nothing (README "Input files").
    default_consent: bool = False
    # Index (index_builder/models/index.py): from 10,000 items the builder times exact search against IVF
    # indexes, each at the smallest nprobe (at most ivf_max_nprobe) whose recall@256 against exact
    # search reaches ivf_target_recall, and keeps the cheapest per query; catalogs of at least
    # ivf_threshold items get IVF without timing exact search. ALS factors' spread of norms caps IVF
    # recall near 0.92 until nearly every list is probed (docs/benchmarks.md), hence 0.90.
    ivf_threshold: int = 200_000
    ivf_target_recall: float = 0.90
    ivf_max_nprobe: int = 64
    # Profiles (index_builder/shoppers/facts.py, docs/segments.md): category and brand affinities weigh each event
    # by its type's affinity weight, halved every affinity_half_life_days before the reference time; the
    # profile keeps the profile_top strongest categories and brands.
    affinity_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_AFFINITY_WEIGHTS))
    affinity_half_life_days: float = 90.0
    profile_top: int = 8
    # RFM over the rfm_window_days before the reference time; lifecycle: new = first seen within
    # lifecycle_new_days, active = last seen within lifecycle_active_days, lapsing up to
    # lifecycle_lapsed_days, lapsed after.
    rfm_window_days: float = 365.0
    lifecycle_new_days: float = 30.0
    lifecycle_active_days: float = 30.0
    lifecycle_lapsed_days: float = 90.0
    # Predicted lifetime value: expected purchases over clv_horizon_days (BG/NBD) x expected order value
    # (Gamma-Gamma) x clv_margin, discounted at clv_annual_discount a year.
    clv_horizon_days: float = 90.0
    clv_margin: float = 1.0
    clv_annual_discount: float = 0.0
    # A cold item (no interactions) is linked into the item-item lists of the cold_links warm items nearest it
    # by content vector, weighing cold_link_weight x cosine x their typical neighbour weight (0 links: never
    # recommended from a history, only reranked and found by the index).
    cold_links: int = 20
    cold_link_weight: float = 6.0
    # Fold in the live store's events (TrackEvents): live_dir, or OUT_ROOT/live when not given; false = the
    # input files alone.
    live_dir: Path | None = None
    fold_live: bool = True
    # Versions kept in the output root after a build publishes: the new current and the newest older ones (what
    # a rollback switches to); older ones are deleted. 0 = keep every version.
    keep_versions: int = 3
    # The learned ranker (index_builder/ranker/, docs/ranker.md): LightGBM lambdarank trained on up to
    # ranker_shoppers shoppers' logs cut as ranker_cut says (auto: each shopper's last basket where the log has
    # purchases, else their last 25 % by time; time, last-basket, random, session), ranker_validation of them
    # held out for early stopping and the validation figures; at most ranker_trees trees of ranker_leaves
    # leaves, ranker_learning_rate. false = no ranker: the server serves the hand blend.
    ranker: bool = True
    ranker_cut: str = "auto"
    ranker_shoppers: int = 4000
    ranker_validation: float = 0.2
    ranker_trees: int = 500
    ranker_leaves: int = 15
    ranker_learning_rate: float = 0.02
    show_progress: bool = True

    def __post_init__(self) -> None:
        checks = {
            "dim": self.dim >= 2,
            "iterations": self.iterations >= 1,
            "regularization": self.regularization >= 0,
            "value_scale": self.value_scale in VALUE_SCALES,
            "recent_items": 0 <= self.recent_items <= 1000,
            "item_neighbors": 0 <= self.item_neighbors <= 2000,
            "ease_lambda": self.ease_lambda > 0,
            "als_alpha": self.als_alpha >= 0,
            "ease_max_items": self.ease_max_items >= 0,
            "repurchase_min_gap_days": self.repurchase_min_gap_days >= 0,
            "repurchase_min_buyers": self.repurchase_min_buyers >= 1,
            "complement_neighbors": 0 <= self.complement_neighbors <= 1000,
            "complement_min_support": self.complement_min_support >= 1,
            "successor_neighbors": 0 <= self.successor_neighbors <= 2000,
            "keep_versions": self.keep_versions >= 0,
            "successor_window": 0 <= self.successor_window <= 1000,
            "successor_decay": 0 < self.successor_decay <= 1,
            "successor_popularity": 0 <= self.successor_popularity <= 2,
            "popularity_half_life_days": self.popularity_half_life_days > 0,
            "reference_time": self.reference_time is None or self.reference_time.tzinfo is not None,
            "popular_list": self.popular_list >= 1,
            "timezone": self.timezone is None or _known_zone(self.timezone),
            "session_gap_minutes": self.session_gap_minutes > 0,
            "ivf_threshold": self.ivf_threshold >= 1000,
            "ivf_target_recall": 0.0 < self.ivf_target_recall <= 1.0,
            "ivf_max_nprobe": self.ivf_max_nprobe >= 1,
            "affinity_half_life_days": self.affinity_half_life_days > 0,
            "profile_top": 0 <= self.profile_top <= 255,
            "rfm_window_days": self.rfm_window_days > 0,
            "lifecycle_new_days": self.lifecycle_new_days >= 0,
            "lifecycle_active_days": self.lifecycle_active_days >= 0,
            "lifecycle_lapsed_days": self.lifecycle_lapsed_days >= self.lifecycle_active_days,
            "clv_horizon_days": self.clv_horizon_days > 0,
            "clv_margin": 0 <= self.clv_margin <= 1,
            "clv_annual_discount": self.clv_annual_discount >= 0,
            "cold_links": self.cold_links >= 0,
            "cold_link_weight": self.cold_link_weight >= 0,
            "ranker_cut": self.ranker_cut in CUTS,
            "ranker_shoppers": self.ranker_shoppers >= 10,
            "ranker_validation": 0.0 < self.ranker_validation < 1.0,
            "ranker_trees": 1 <= self.ranker_trees <= 5000,
            "ranker_leaves": 2 <= self.ranker_leaves <= 255,
            "ranker_learning_rate": 0.0 < self.ranker_learning_rate <= 1.0,
        }
        for key, ok in checks.items():
            if not ok:
                raise ValueError(f"BuildConfig.{key}: invalid value {getattr(self, key)!r}")
        for key in ("event_weights", "affinity_weights"):
            weights = getattr(self, key)
            if {"view", "cart", "purchase"} - set(weights) or any(w < 0 for w in weights.values()):
                raise ValueError(f"BuildConfig.{key}: need non-negative view, cart, purchase; got {weights}")


def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_event_weights(text: str) -> dict[str, float]:
    """`view=1,cart=4,purchase=10` -> {"view": 1.0, ...}."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, number = part.partition("=")
        if not sep:
            raise ValueError(f"expected TYPE=WEIGHT, got {part!r}")
        weights[name.strip()] = float(number)
    return weights


def parse_reference_time(value: object) -> datetime:
    """An ISO-8601 instant with a zone, epoch seconds or epoch milliseconds (as for event timestamps)."""
    if isinstance(value, datetime):
        moment = value
    elif (isinstance(value, int | float) and not isinstance(value, bool)) or str(value).strip().isdigit():
        number = float(value)  # type: ignore[arg-type]
        moment = datetime.fromtimestamp(number if number < 1e11 else number / 1000, UTC)
    else:
        moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no zone (add Z or +02:00)")
    return moment


def _integer(value: object) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"not an integer: {value!r}")
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValueError(f"not an integer: {value!r}") from None


def _weights(value: object) -> dict[str, float]:
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    return parse_event_weights(str(value))


_CONVERT: dict[str, Callable[[Any], object]] = {
    "data_dir": Path, "out_root": Path, "dim": _integer, "iterations": _integer, "regularization": float,
    "seed": _integer, "event_weights": _weights, "value_scale": str, "recent_items": _integer,
    "popularity_half_life_days": float, "reference_time": parse_reference_time, "popular_list": _integer,
    "timezone": str, "session_gap_minutes": float, "default_consent": parse_boolean, "ivf_threshold": _integer,
    "ivf_target_recall": float, "ivf_max_nprobe": _integer, "show_progress": parse_boolean,
    "item_neighbors": _integer, "ease_lambda": float, "ease_max_items": _integer, "als_alpha": float,
    "repurchase_min_gap_days": float, "repurchase_min_buyers": _integer, "complement_neighbors": _integer,
    "complement_min_support": _integer, "successor_neighbors": _integer, "successor_window": _integer,
    "successor_decay": float, "successor_popularity": float,
    "affinity_weights": _weights, "affinity_half_life_days": float, "profile_top": _integer,
    "rfm_window_days": float, "lifecycle_new_days": float, "lifecycle_active_days": float,
    "lifecycle_lapsed_days": float, "clv_horizon_days": float, "clv_margin": float, "clv_annual_discount": float,
    "live_dir": Path, "fold_live": parse_boolean, "cold_links": _integer, "cold_link_weight": float,
    "keep_versions": _integer, "ranker": parse_boolean, "ranker_cut": str, "ranker_shoppers": _integer,
    "ranker_validation": float, "ranker_trees": _integer, "ranker_leaves": _integer, "ranker_learning_rate": float,
}
# What the [build] table (and TAILOR_BUILD_<KEY>) may set: everything but the terminal's progress bars (`--quiet`).
FILE_KEYS = tuple(f.name for f in fields(BuildConfig) if f.name != "show_progress")
ENV_PREFIX_BUILD = f"{ENV_PREFIX}BUILD_"


def _convert(key: str, value: object, source: str) -> object:
    try:
        return _CONVERT[key](value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{source}: {exc}") from exc


def _from_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read config: {exc}") from exc
    table = document.get("build", {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: build: must be a table")
    unknown = sorted(set(table) - set(FILE_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown key build.{unknown[0]}{nearest(unknown[0], FILE_KEYS)}")
    return {k: _convert(k, v, f"{path}: build.{k}") for k, v in table.items()}


def _from_env(environ: Mapping[str, str]) -> dict[str, object]:
    """TAILOR_BUILD_<KEY> for every [build] key; a TAILOR_BUILD_ variable naming none is an error."""
    return environment_values(environ, ENV_PREFIX_BUILD, FILE_KEYS, lambda key, text, name: _convert(key, text, name))


def load_build_config(file: Path | None = None, flags: Mapping[str, object] | None = None,
                      environ: Mapping[str, str] | None = None) -> BuildConfig:
    """Defaults < `file`'s [build] table < TAILOR_BUILD_* `environ` (default os.environ) < `flags` (None
    values ignored); errors name the key or variable."""
    values = _from_file(file) if file is not None else {}
    values.update(_from_env(os.environ if environ is None else environ))
    values.update({k: _convert(k, v, f"--{k.replace('_', '-')}") for k, v in (flags or {}).items() if v is not None})
    for key, flag in (("data_dir", "--data"), ("out_root", "--artifacts")):
        if key not in values:
            raise ValueError(f"{key}: required ({flag}, {ENV_PREFIX_BUILD}{key.upper()} or build.{key} in the "
                             "config file)")
    return BuildConfig(**values)  # type: ignore[arg-type]
