"""Experiments: ranking variants side by side on live traffic, each shopper in one of them for good.

The `[experiments]` table of the server config (docs/experiments.md) names the experiment and its
variants. A variant is a traffic share and a policy: ranking overrides over `[ranking]` (an experiment
arm is just another RankingPolicy, built once at start) or `popular`, the non-personal control (the
answer of an anonymous visitor without a session: nothing about the shopper is used).

Assignment hashes the experiment's name (the salt) and the shopper's user_id, else the session_id of an
anonymous visitor, else the request_id, with blake2b into [0, 1), and takes the variant whose cumulative
share covers it: the same on every worker and after every restart (never Python's salted `hash`).
Renaming the experiment reshuffles everyone; changing shares moves only the shoppers at the boundaries.

`Arms` is what the servicer calls: `pick` chooses the call's variant, policy and query and counts the
call per variant (metric tailor_experiment_calls_total); `remember` hands what the answer held to the
worker's impression log (server/experiments/impressions.py) for `tailor experiments report`.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from protos.impressions import UNIT_BUCKETS
from server.experiments.impressions import ImpressionLog
from server.ranking.policy import RankingPolicy

if TYPE_CHECKING:  # server.api.queries imports server.runtime.config, which imports this module
    from server.api.queries import Query

__all__ = ["MAX_VARIANTS", "NAME", "POLICIES", "Arms", "Experiment", "Variant", "parse_experiment", "unit_interval"]

# Experiment and variant names: file names (ROOT/live/impressions) and metric labels.
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# A variant's `policy`: "ranking" (the default: [ranking] with the variant's overrides) or "popular".
POLICIES = ("ranking", "popular")
_SHARE_TOLERANCE = 1e-6
MAX_VARIANTS = 64  # an impression record stores the variant's index in one byte
_VARIANT_KEYS = frozenset({"name", "share", "policy", "ranking"})


@dataclass(frozen=True)
class Variant:
    name: str
    share: float
    policy: RankingPolicy
    popular: bool = False  # the non-personal control: answered as for an anonymous visitor


@dataclass(frozen=True)
class Experiment:
    name: str
    variants: tuple[Variant, ...]
    # Each variant's cumulative share, the last exactly 1.
    bounds: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name):
            raise ValueError(f"experiments.name: must be 1-64 letters, digits, '_', '-' or '.', got {self.name!r}")
        if not 1 <= len(self.variants) <= MAX_VARIANTS:
            raise ValueError(f"experiments.variants: 1 to {MAX_VARIANTS} variants, got {len(self.variants)}")
        names = [v.name for v in self.variants]
        for i, v in enumerate(self.variants):
            if not NAME.fullmatch(v.name):
                raise ValueError(f"experiments.variants[{i}].name: must be 1-64 letters, digits, '_', '-' or '.', "
                                 f"got {v.name!r}")
            if names.index(v.name) != i:
                raise ValueError(f"experiments.variants[{i}].name: {v.name!r} is used twice")
            if not (math.isfinite(v.share) and 0.0 <= v.share <= 1.0):
                raise ValueError(f"experiments.variants[{i}].share: must be in [0, 1], got {v.share}")
        total = sum(v.share for v in self.variants)
        if abs(total - 1.0) > _SHARE_TOLERANCE:
            raise ValueError(f"experiments.variants: shares must sum to 1, got {total:g}")
        bounds = np.cumsum([v.share for v in self.variants]).tolist()
        bounds[-1] = 1.0  # float sums: the last variant takes what is left
        object.__setattr__(self, "bounds", tuple(bounds))

    @property
    def control(self) -> Variant:
        """What the others are compared with: the variant named `control`, else the first."""
        return next((v for v in self.variants if v.name == "control"), self.variants[0])

    def assign(self, user_id: str, session_id: str = "", request_id: str = "") -> Variant:
        """The shopper's variant: by user_id, else session_id, else request_id; a call with none of them
        (nothing to keep it stable by) draws one at random with the configured shares."""
        unit = user_id or session_id or request_id
        point = unit_interval(self.name, unit) if unit else random.random()
        return self.variants[min(bisect.bisect_right(self.bounds, point), len(self.variants) - 1)]


def unit_interval(salt: str, unit: str) -> float:
    """blake2b of `unit` keyed with `salt` (at most 64 bytes: a NAME), as a number in [0, 1): stable across
    processes, machines and restarts."""
    digest = hashlib.blake2b(unit.encode(), digest_size=8, key=salt.encode()).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def unit_bucket(salt: str, unit: str) -> int:
    """The unit's impression bucket, one of protos.impressions.UNIT_BUCKETS (4,096: a bucket names nobody),
    so the report can keep one shopper's correlated lists together."""
    digest = hashlib.blake2b(unit.encode(), digest_size=2, key=salt.encode(), person=b"unit-bucket").digest()
    return int.from_bytes(digest, "big") % UNIT_BUCKETS


Convert = Callable[[str, object, str], object]


def _variant(i: int, raw: object, base: RankingPolicy, convert: Convert, source: str) -> Variant:
    where = f"experiments.variants[{i}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: {where}: must be a table")
    unknown = sorted(set(raw) - _VARIANT_KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown key {where}.{unknown[0]}")
    for key in ("name", "share"):
        if key not in raw:
            raise ValueError(f"{source}: {where}.{key}: required")
    policy = raw.get("policy", "ranking")
    if policy not in POLICIES:
        raise ValueError(f"{source}: {where}.policy: must be one of {', '.join(POLICIES)}, got {policy!r}")
    overrides = raw.get("ranking", {})
    if not isinstance(overrides, dict):
        raise ValueError(f"{source}: {where}.ranking: must be a table")
    if overrides and policy == "popular":
        raise ValueError(f"{source}: {where}.ranking: a popular variant takes no ranking overrides")
    share = raw["share"]
    if isinstance(share, bool) or not isinstance(share, int | float):
        raise ValueError(f"{source}: {where}.share: must be a number, got {share!r}")
    values: dict[str, Any] = {k: convert(k, v, f"{source}: {where}.ranking.{k}") for k, v in overrides.items()}
    try:
        ranking = replace(base, **values)
    except TypeError as exc:
        raise ValueError(f"{source}: {where}.ranking: {exc}") from exc
    except ValueError as exc:  # RankingPolicy's own check, e.g. "ranking.category_weight: must be >= 0"
        raise ValueError(f"{source}: {where}.{exc}") from exc
    if policy == "popular":  # what the store showed without Tailor: no exploration (rules and diversity hold)
        ranking = replace(ranking, explore_share=0.0)
    return Variant(str(raw["name"]), float(share), ranking, popular=policy == "popular")


def parse_experiment(table: Mapping[str, object], base: RankingPolicy, convert: Convert,
                     source: str = "config") -> Experiment:
    """The [experiments] table as an Experiment, each variant's RankingPolicy built over `base`;
    `convert(key, value, where)` checks a ranking key (unknown keys raise KeyError). Errors name the key."""
    unknown = sorted(set(table) - {"name", "variants"})
    if unknown:
        raise ValueError(f"{source}: unknown key experiments.{unknown[0]}")
    if "name" not in table:
        raise ValueError(f"{source}: experiments.name: required (the salt of the assignment hash)")
    raw = table.get("variants")
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{source}: experiments.variants: required, a list of tables ([[experiments.variants]])")

    def checked(key: str, value: object, where: str) -> object:
        try:
            return convert(key, value, where)
        except KeyError:
            raise ValueError(f"{where}: unknown key") from None

    variants = tuple(_variant(i, v, base, checked, source) for i, v in enumerate(raw))
    try:
        return Experiment(str(table["name"]), variants)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc


class Arms:
    """One servicer's experiment: the variant of each call, its counter, and the answers to remember.

    Without an experiment, `pick` answers the default policy and the query as they are, and `remember`
    does nothing."""

    def __init__(self, experiment: Experiment | None, default: RankingPolicy, metrics: Any,
                 root: Path | None = None) -> None:
        self._experiment = experiment
        self._default = default
        self._metrics = metrics
        self._counters: dict[tuple[str, str], Any] = {}
        self._index = {v.name: i for i, v in enumerate(experiment.variants)} if experiment else {}
        self._log = ImpressionLog(root, experiment, metrics) if experiment is not None and root is not None else None

    def pick(self, rpc: str, query: Query, request_id: str) -> tuple[RankingPolicy, Query, str]:
        """(the call's policy, its query — anonymous for the popular control —, its variant name or "")."""
        if self._experiment is None:
            return self._default, query, ""
        variant = self._experiment.assign(query.experiment_unit, "", request_id)
        counter = self._counters.get((rpc, variant.name))
        if counter is None:
            counter = self._counters[(rpc, variant.name)] = self._metrics.variant_calls.labels(rpc, variant.name)
        counter.inc()
        return variant.policy, query.without_shopper(anchor=False) if variant.popular else query, variant.name

    def remember(self, request_id: str, variant: str, item_ids: Sequence[str], unit: str = "") -> None:
        """Keep what an answer with a request_id held, and the bucket of its unit (the query's
        experiment_unit, else the request_id, as assigned), for attribution (buffered: no disk write here)."""
        if self._log is not None and self._experiment is not None and request_id:
            bucket = unit_bucket(self._experiment.name, unit or request_id)
            self._log.add(request_id, self._index[variant], item_ids, bucket)

    def close(self) -> None:
        """Write what is still buffered (at shutdown)."""
        if self._log is not None:
            self._log.close()
