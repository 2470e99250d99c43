"""Merchandising rules compiled to arrays (docs/rules.md); server/merchandising/stage.py is the stage that applies them.

`compile_rules` turns a checked RuleFile (server/merchandising/schema.py) into a RuleSet against one Snapshot:

- per item, one bit per rule of whether the item meets the rule's candidate conditions (category,
  brand, price, item ids), packed in uint64 words (`bits`: [items, ceil(rules / 64)]); newness
  (`new_within_days`) depends on the request's time and is compared per call against first_seen;
- per rule, its request conditions as codes: bit sets over segments, lifecycles, tags, channels
  and pages (0 = any), [rules, countries] and [rules, age bands] tables, the window in epoch ms,
  and its query terms.

A request finds its active rules with a dozen compares over the rule arrays (`_holding`), cached per
distinct request facts (segment, lifecycle, tags, country, age band, channel, page, query, window
interval). Each distinct set of active rules becomes, once, an `ActiveRules` of catalog-wide arrays
(`_activate`): the `allowed` mask of its exclude / include_only rules, the product of its boost / bury
factors per item and the first rule behind it, and per cap dimension each item's group and limit. The
stages then gather from those arrays: a fixed number of array operations per call whatever the number
of rules (server/merchandising/stage.py).

Precedence (docs/rules.md): exclude beats include_only beats everything else; factors multiply; a pin
of an item an earlier-listed pin already places is ignored, then of two pins on one slot the rule
listed first wins; a pin is placed only where its item
could be recommended (in stock, passing the filters and the rules, not the page's own product or in
the cart or bought); a pin beyond the answer's length comes last; Rerank pins only its candidates.
"""

from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from protos.artifact import CHANNELS, LIFECYCLES, SEGMENTS, TAGS
from server.api.queries import Query
from server.merchandising.schema import PAGES, Rule, RuleFile, Vocabulary
from server.ranking import reasons
from server.ranking.scoring import Shopper

if TYPE_CHECKING:
    from server.runtime.snapshot import Snapshot

__all__ = ["ActiveRules", "NO_RULES", "RuleSet", "compile_rules", "vocabulary_of", "facts_of", "active_rules"]

_DAY_S = 86_400
_HOUR_MS = 3_600_000
_CACHE = 4096
_NO_LIMIT = np.iinfo(np.int32).max
_RULE_BIT = reasons.bit(reasons.RULE)
_ACTIONS = ("boost", "bury", "pin", "include_only", "exclude", "cap")
_VERBS = {"boost": "Promoted", "bury": "Demoted", "pin": "Pinned", "include_only": "Selected",
          "exclude": "Excluded", "cap": "Capped"}


class RequestFacts(NamedTuple):
    """What rules condition on, as codes (-1 = unknown); with the window interval, the cache key of the
    active rules (a tuple: built per call, it must be cheap)."""

    segment: int
    lifecycle: int
    tags: int
    country: int
    age_band: int
    channel: int
    page: int
    query: str
    time_ms: int


@dataclass(frozen=True, eq=False)
class ActiveRules:
    """The rules in force for one set of active rules, as catalog-wide arrays (row = item) the stages gather
    from; rule indices are into the RuleSet. One object per distinct set, shared by every request it serves."""

    version: str = ""
    labels: tuple[tuple[str, str], ...] = ()  # per rule of the set: (name, reason text)
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # the rules in force
    allowed: np.ndarray | None = None  # bool: not excluded by an exclude / include_only rule
    factor: np.ndarray | None = None  # float: product of the matching boost / bury factors (1 = none)
    # int32: the rule an item's reason names (the first matching boost / bury, else the first include_only;
    # -1 = none), and uint32: the RULE reason bit where there is one.
    rule_of: np.ndarray | None = None
    rule_bits: np.ndarray | None = None
    caps: tuple[tuple[np.ndarray, np.ndarray], ...] = ()  # per brand / category cap: (group code or -1, limit)
    pins: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # rows, 1-based slots, rule indices
    ruleset: RuleSet | None = None
    # int32 per item: the limit of the brand cap rule in force for the item's brand, which replaces the
    # default brand cap of diversity (server/ranking/diversity.py) for every item of that brand; -1 = none (the
    # default holds); None = no brand cap rule.
    brand_limits: np.ndarray | None = None

    @property
    def empty(self) -> bool:
        return self.allowed is None and self.rule_of is None and not self.caps and self.pins is None


NO_RULES = ActiveRules()


def vocabulary_of(snapshot: Snapshot) -> Vocabulary:
    """The names a snapshot knows, to check a rules file against it."""
    catalog, names = snapshot.catalog, snapshot.names
    return Vocabulary(frozenset(catalog.category_codes), frozenset(catalog.brand_codes), frozenset(names.countries),
                      frozenset(names.age_bands), lambda ids: (catalog.rows_of(tuple(ids)) >= 0).tolist())


def _bitset(values: tuple[str, ...], vocabulary: tuple[str, ...]) -> int:
    return sum(1 << vocabulary.index(v) for v in values if v in vocabulary)


def _codes(values: tuple[str, ...], table: dict[str, int] | object) -> np.ndarray:
    codes: dict[str, int] = table  # type: ignore[assignment]
    return np.array([codes[v] for v in values if v in codes], dtype=np.int64)


def _item_mask(snapshot: Snapshot, rule: Rule) -> np.ndarray:
    """Which catalog items meet the rule's candidate conditions (newness aside); names the artifact does
    not know match nothing. A pin's mask is its item."""
    catalog = snapshot.catalog
    if rule.action == "pin":
        rule = Rule(rule.name, rule.action, items=(rule.pin,))
    mask = np.ones(catalog.n_items, dtype=bool)
    if rule.categories:
        mask &= np.isin(catalog.category, _codes(rule.categories, catalog.category_codes))
    if rule.brands:
        mask &= np.isin(catalog.brand, _codes(rule.brands, catalog.brand_codes))
    if rule.price_min is not None:
        mask &= catalog.price >= rule.price_min
    if rule.price_max is not None:
        mask &= catalog.price <= rule.price_max
    if rule.items:
        rows = catalog.rows_of(rule.items)
        listed = np.zeros(catalog.n_items, dtype=bool)
        listed[rows[rows >= 0]] = True
        mask &= listed
    return mask


def _table(rules: tuple[Rule, ...], key: str, vocabulary: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """[rules, vocabulary] of which codes each rule's `key` condition admits, and which rules have none."""
    table = np.zeros((len(rules), len(vocabulary)), dtype=bool)
    for i, rule in enumerate(rules):
        for value in rule.when.get(key, ()):
            if value in vocabulary:
                table[i, vocabulary.index(value)] = True
    return table, np.array([key not in r.when for r in rules], dtype=bool)


class RuleSet:
    """A rules file compiled against one snapshot: the arrays of the module docstring, and the cache of
    active rules per distinct request facts."""

    def __init__(self, rule_file: RuleFile, snapshot: Snapshot) -> None:
        rules = rule_file.rules
        self.snapshot, self.rules, self.version = snapshot, rules, rule_file.version
        self.labels = tuple((r.name, f"{_VERBS[r.action]}: {r.name}") for r in rules)
        self.action = np.array([_ACTIONS.index(r.action) for r in rules], dtype=np.int8)
        self.log_factor = np.log([r.factor for r in rules]) if rules else np.zeros(0)
        self.start = np.array([r.start_ms for r in rules], dtype=np.int64)
        self.end = np.array([r.end_ms for r in rules], dtype=np.int64)
        self._bounds = np.unique(np.concatenate([self.start, self.end])).tolist()
        self.new_ms = np.array([r.new_within_days * _DAY_S * 1000 if r.new_within_days is not None else math.inf
                                for r in rules])
        sets = {"segment": SEGMENTS, "lifecycle": LIFECYCLES, "tag": TAGS, "channel": CHANNELS, "page": PAGES}
        self.sets = {key: np.array([_bitset(r.when.get(key, ()), vocabulary) for r in rules], dtype=np.int64)
                     for key, vocabulary in sets.items()}
        self.countries = _table(rules, "country", snapshot.names.countries)
        self.age_bands = _table(rules, "age_band", snapshot.names.age_bands)
        self.contains = sorted({t for r in rules for t in r.when.get("query_contains", ())})
        self.contains_table = np.array([[t in r.when.get("query_contains", ()) for r in rules]
                                        for t in self.contains], dtype=bool).reshape(len(self.contains), len(rules))
        self.equals = {q: np.array([q in r.when.get("query_equals", ()) for r in rules], dtype=bool)
                       for q in {q for r in rules for q in r.when.get("query_equals", ())}}
        self.has = {key: np.array([key in r.when for r in rules], dtype=bool)
                    for key in ("query_contains", "query_equals")}
        self.pin_rows = np.array([snapshot.catalog.rows_of((r.pin,))[0] if r.pin else -1 for r in rules],
                                 dtype=np.int64)
        self.slots = np.array([r.slot for r in rules], dtype=np.int64)
        self.caps = np.array([r.cap for r in rules], dtype=np.int64)
        self.per = tuple(r.per for r in rules)
        self.bits = np.zeros((snapshot.catalog.n_items, max(1, -(-len(rules) // 64))), dtype=np.uint64)
        for i, rule in enumerate(rules):
            self.bits[:, i // 64] |= _item_mask(snapshot, rule).astype(np.uint64) << np.uint64(i % 64)
        self._timed = bool(np.isfinite(self.new_ms).any())
        self._cache: dict[tuple[object, ...], ActiveRules] = {}
        self._subsets: dict[tuple[bytes, int], ActiveRules] = {}
        # A set's arrays take ~20 bytes per item: at most ~256 MiB of them per worker.
        self._max_subsets = max(4, (256 << 20) // (20 * max(1, snapshot.catalog.n_items)))
        self._lock = threading.Lock()

    def active(self, facts: RequestFacts) -> ActiveRules:
        """The rules in force for a request with these facts: cached per distinct facts (a dozen compares
        over the rule arrays on a miss), and their arrays per distinct set of active rules."""
        interval = bisect.bisect_right(self._bounds, facts.time_ms)
        hour = facts.time_ms // _HOUR_MS if self._timed else 0
        key = (*facts[:-1], interval, hour)
        found = self._cache.get(key)
        if found is None:
            on = self._holding(facts)
            subset = (on.tobytes(), hour)
            found = self._subsets.get(subset)
            if found is None:
                found = self._activate(on, hour * _HOUR_MS if self._timed else facts.time_ms)
            with self._lock:
                if len(self._cache) >= _CACHE or len(self._subsets) >= self._max_subsets:
                    self._cache.clear()  # both: the request cache refers to the sets' arrays
                    self._subsets.clear()
                self._cache[key] = self._subsets[subset] = found
        return found

    def matches(self, rows: np.ndarray, rules: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
        """[len(rows), len(rules)]: which catalog rows meet which rules' candidate conditions."""
        words = self.bits[rows][:, rules // 64]
        hit = ((words >> (rules % 64).astype(np.uint64)) & np.uint64(1)).astype(bool)
        if self._timed:
            hit &= self.snapshot.catalog.first_seen[rows][:, None] * 1000 >= cutoffs[rules][None, :]
        return hit

    def _holding(self, facts: RequestFacts) -> np.ndarray:
        """Which rules hold for the request: window and every request condition."""
        t = facts.time_ms
        on = (self.start <= t) & (t < self.end)
        codes = {"segment": facts.segment, "lifecycle": facts.lifecycle, "channel": facts.channel,
                 "page": facts.page}
        for key, code in codes.items():
            bits = self.sets[key]
            on &= (bits == 0) | ((((bits >> max(code, 0)) & 1) == 1) & (code >= 0))
        on &= (self.sets["tag"] == 0) | ((self.sets["tag"] & facts.tags) != 0)
        for (table, anything), code in ((self.countries, facts.country), (self.age_bands, facts.age_band)):
            on &= anything | (table[:, code] if 0 <= code < table.shape[1] else False)
        return on & self._query_holds(facts.query)

    def _query_holds(self, query: str) -> np.ndarray:
        contains, equals = self.has["query_contains"], self.has["query_equals"]
        if not query:
            return ~contains & ~equals
        found = [t in query for t in self.contains]  # one scan per distinct term of the file
        hit = self.contains_table[np.array(found, dtype=bool)].any(axis=0) if any(found) else np.zeros_like(contains)
        return (~contains | hit) & (~equals | self.equals.get(query, np.zeros_like(equals)))

    def _activate(self, on: np.ndarray, at_ms: int) -> ActiveRules:
        """The catalog-wide arrays of one set of active rules."""
        cutoffs = at_ms - self.new_ms
        kinds = {name: np.flatnonzero(on & (self.action == i)) for i, name in enumerate(_ACTIONS)}
        everything = np.arange(self.snapshot.catalog.n_items)
        allowed = None
        if len(kinds["exclude"]) or len(kinds["include_only"]):
            excluded = self.matches(everything, kinds["exclude"], cutoffs).any(axis=1)
            allowed = np.logical_and(~excluded, self.matches(everything, kinds["include_only"], cutoffs).all(axis=1))
        factor = rule_of = rule_bits = None
        scored, include = np.sort(np.concatenate([kinds["boost"], kinds["bury"]])), kinds["include_only"]
        if len(scored) or len(include):
            rule_of = np.full(len(everything), include[0] if len(include) else -1, dtype=np.int32)
        if len(scored) and rule_of is not None:
            hit = self.matches(everything, scored, cutoffs)
            factor = np.exp(hit @ self.log_factor[scored])
            rule_of = np.where(hit.any(axis=1), scored[hit.argmax(axis=1)], rule_of).astype(np.int32)
        if rule_of is not None:
            rule_bits = np.where(rule_of >= 0, _RULE_BIT, 0).astype(reasons.MASK_DTYPE)
        caps, brand_limits = [], None
        for per in ("brand", "category"):
            rules = np.array([i for i in kinds["cap"] if self.per[i] == per], dtype=np.int64)
            if len(rules):
                hit = self.matches(everything, rules, cutoffs)
                codes = self.snapshot.catalog.brand if per == "brand" else self.snapshot.catalog.category
                groups = np.where(hit.any(axis=1), codes, -1).astype(np.int32)
                limits = np.where(hit, self.caps[rules][None, :], _NO_LIMIT).min(axis=1).astype(np.int32)
                caps.append((groups, limits))
                if per == "brand":
                    brand_limits = _per_group(codes, groups, limits)
        return ActiveRules(self.version, self.labels, np.flatnonzero(on), allowed, factor, rule_of, rule_bits,
                           tuple(caps), self._pins(kinds["pin"], allowed), self, brand_limits)

    def _pins(self, pins: np.ndarray, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Active pins of known, in-stock items the rules allow, the first listed per item and then per slot,
        in slot order."""
        pins = pins[self.pin_rows[pins] >= 0]
        rows = self.pin_rows[pins]
        pins = pins[self.snapshot.catalog.in_stock[rows] & (allowed[rows] if allowed is not None else True)]
        pins = np.sort(pins[np.unique(self.pin_rows[pins], return_index=True)[1]])  # one slot per item
        pins = pins[np.unique(self.slots[pins], return_index=True)[1]]  # one item per slot
        if not len(pins):
            return None
        pins = pins[np.argsort(self.slots[pins], kind="stable")]
        return self.pin_rows[pins], self.slots[pins], pins


def compile_rules(rule_file: RuleFile, snapshot: Snapshot) -> RuleSet:
    """A checked rules file as arrays over `snapshot`'s catalog (names it does not know match nothing)."""
    return RuleSet(rule_file, snapshot)


def facts_of(query: Query, shopper: Shopper | None, now: float) -> RequestFacts:
    """The request's facts rules condition on: the consenting shopper's profile (nothing for a visitor
    without one), the page context, the query text, and its moment `now` (epoch seconds): the one the
    ranking judges the request at (server/ranking/signals.py request_now), so a request has one clock."""
    s = shopper
    return RequestFacts(s.segment if s else -1, s.lifecycle if s else -1, s.tags if s else 0, s.country if s else -1,
                        s.age_band if s else -1, query.channel, query.page, query.query_text.strip().casefold(),
                        round(now * 1000))


def active_rules(ruleset: RuleSet | None, query: Query, shopper: Shopper | None, now: float) -> ActiveRules:
    """The rules of `ruleset` in force for this request at its moment `now` (epoch seconds; NO_RULES without
    a rules file)."""
    return ruleset.active(facts_of(query, shopper, now)) if ruleset is not None else NO_RULES


def _per_group(codes: np.ndarray, groups: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Per item: the smallest limit a cap rule sets for any item of its group (brand), -1 where none does."""
    capped = groups >= 0
    smallest = np.full(int(codes.max(initial=0)) + 1, _NO_LIMIT, dtype=np.int64)
    np.minimum.at(smallest, groups[capped], limits[capped])
    return np.where(smallest[codes] < _NO_LIMIT, smallest[codes], -1).astype(np.int32)
