"""The rules file: its schema, parsed into `Rule`s, with every problem found at once (docs/rules.md).

A rules file is TOML: optional top-level `max_slot` (default 10: the largest slot a pin may name)
and `timezone` (IANA, default "UTC": the zone of dates and zone-less datetimes), then `[[rule]]`
tables. A rule has a unique `name`, an optional `note`, an optional window (`start`, `end`),
request conditions (REQUEST_KEYS), candidate conditions (CANDIDATE_KEYS) and exactly one action
(ACTIONS). `parse_rules` never stops at the first problem: it returns every one it finds, each
naming the rule and the key, so a merchandiser fixes a file in one round. `check_vocabulary` then
checks the names a rule uses against an artifact's catalog (`Vocabulary`).

Pure Python (tomllib): `tailor rules check` runs it without a server; the server compiles the
parsed rules into arrays (server/merchandising/compiler.py).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from protos import artifact, enums
from protos.artifact import CHANNELS, LIFECYCLES, SEGMENTS, TAGS

__all__ = ["PAGES", "REQUEST_KEYS", "CANDIDATE_KEYS", "ACTIONS", "Problem", "Rule", "RuleFile", "Vocabulary",
           "parse_rules", "check_vocabulary", "rules_version", "artifact_vocabulary", "check_rules_file"]

# The wire contract's Page values, in order (index = Page value; 0 = unspecified).
PAGES = enums.PAGES  # decision.proto's Page values, in order: unknown, home, product, cart, search
# Request conditions, each a value or a list of values (any of them holds); fixed vocabularies where known.
_FIXED: dict[str, tuple[str, ...]] = {
    "segment": SEGMENTS, "tag": TAGS, "lifecycle": LIFECYCLES, "channel": CHANNELS[1:], "page": PAGES[1:]}
REQUEST_KEYS = ("segment", "tag", "lifecycle", "channel", "page", "query_contains", "query_equals", "country",
                "age_band")
# Candidate conditions: which items the action applies to.
CANDIDATE_KEYS = ("category", "brand", "price_min", "price_max", "items", "new_within_days")
# Exactly one per rule; `pin` needs `slot`, `cap` needs `per`.
ACTIONS = ("boost", "bury", "pin", "include_only", "exclude", "cap")
_OTHER_KEYS = ("name", "note", "start", "end", "slot", "per")
_TOP_KEYS = ("max_slot", "timezone", "rule")
_PER = ("brand", "category")
_NEVER = (-(2**62), 2**62)  # a missing start / end, epoch ms


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rules file: the rule (its name, or rule[i] without one; "" = the file) and key."""

    rule: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"rule {self.rule}: " if self.rule else ""
        return f"{where}{self.key}: {self.message}" if self.key else f"{where}{self.message}"


@dataclass(frozen=True)
class Rule:
    """One checked rule. Request conditions map a key of REQUEST_KEYS to its values (query values
    case-folded); a missing key holds for every request. Candidate conditions: empty / None = any."""

    name: str
    action: str
    start_ms: int = _NEVER[0]
    end_ms: int = _NEVER[1]
    when: dict[str, tuple[str, ...]] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    items: tuple[str, ...] = ()
    new_within_days: float | None = None
    factor: float = 1.0  # boost (> 1) or bury (in (0, 1))
    pin: str = ""  # pin: the item id, at 1-based `slot`
    slot: int = 0
    cap: int = 0  # cap: at most this many items per `per`
    per: str = ""

    @property
    def has_candidate_conditions(self) -> bool:
        return bool(self.categories or self.brands or self.items or self.price_min is not None
                    or self.price_max is not None or self.new_within_days is not None)


@dataclass(frozen=True)
class RuleFile:
    """A parsed rules file: its rules in file order (earlier = higher precedence) and content version."""

    rules: tuple[Rule, ...]
    version: str
    max_slot: int = 10


@dataclass(frozen=True)
class Vocabulary:
    """The names an artifact knows, for `check_vocabulary`; `known_items` answers per id."""

    categories: frozenset[str]
    brands: frozenset[str]
    countries: frozenset[str]
    age_bands: frozenset[str]
    known_items: Callable[[Sequence[str]], Sequence[bool]]


def rules_version(text: str) -> str:
    """A short content hash of a rules file: what responses name as `rules_version`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class _Reader:
    """Reads one rule's keys, noting problems instead of raising."""

    def __init__(self, rule: str, table: dict[str, Any], problems: list[Problem]) -> None:
        self.rule, self.table, self.problems = rule, table, problems

    def bad(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.rule, key, message))

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key)
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.bad(key, f"must be a string or a list of strings, got {_shown(value)}")
            return ()
        if not values or any(not v.strip() for v in values):
            self.bad(key, "must not be empty")
            return ()
        return tuple(values)

    def number(self, key: str, low: float, high: float = math.inf, *, open_low: bool = False,
               open_high: bool = False) -> float | None:
        value = self.table.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.bad(key, f"must be a number, got {_shown(value)}")
            return None
        below = value <= low if open_low else value < low
        above = value >= high if open_high else value > high
        if below or above:
            self.bad(key, f"must be in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}, "
                          f"got {value:g}")
            return None
        return float(value)

    def integer(self, key: str, low: int) -> int:
        value = self.table.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(key, f"must be a whole number, got {_shown(value)}")
            return 0
        if value < low:
            self.bad(key, f"must be >= {low}, got {value}")
            return 0
        return value


def _shown(value: object) -> str:
    return f"{type(value).__name__} {value!r}" if value is not None else "nothing"


def _instant(value: object, zone: ZoneInfo, end: bool) -> int | str:
    """Epoch ms of a start/end value, or a message. A date is that whole day in `zone` (an end date
    is inclusive: the window closes at the end of it); a datetime without a zone is in `zone`."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            return f"not an ISO-8601 date or datetime: {value!r}"
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=zone)
    elif isinstance(value, date):
        moment = datetime.combine(value + timedelta(days=1) if end else value, time(), tzinfo=zone)
    else:
        return f"must be a date or datetime (e.g. 2026-03-01 or 2026-03-01T09:00:00+01:00), got {_shown(value)}"
    return int(moment.timestamp() * 1000)


def _window(r: _Reader, zone: ZoneInfo) -> tuple[int, int]:
    bounds = list(_NEVER)
    for i, key in enumerate(("start", "end")):
        if key in r.table:
            at = _instant(r.table[key], zone, end=key == "end")
            if isinstance(at, str):
                r.bad(key, at)
            else:
                bounds[i] = at
    if bounds[1] <= bounds[0]:
        r.bad("end", "impossible window: the rule would end before it starts")
    return bounds[0], bounds[1]


def _when(r: _Reader) -> dict[str, tuple[str, ...]]:
    when: dict[str, tuple[str, ...]] = {}
    for key in REQUEST_KEYS:
        if key not in r.table:
            continue
        values = r.strings(key)
        known = _FIXED.get(key)
        for v in values:
            if known is not None and v not in known:
                r.bad(key, f"unknown {key} {v!r}; one of: {', '.join(known)}")
        if values:
            when[key] = tuple(v.casefold() for v in values) if key.startswith("query_") else values
    return when


def _action(r: _Reader, max_slot: int) -> dict[str, Any]:
    """The rule's one action and its parameters (as Rule fields); problems for none, several or bad ones."""
    chosen = [key for key in ACTIONS if key in r.table]
    if len(chosen) != 1:
        r.bad("action", f"needs exactly one of {', '.join(ACTIONS)}; got "
                        f"{' and '.join(chosen) if chosen else 'none'}")
        return {"action": chosen[0] if chosen else ""}
    action = chosen[0]
    out: dict[str, Any] = {"action": action}
    if action == "boost":
        out["factor"] = r.number("boost", 1.0, open_low=True) or 1.0
    elif action == "bury":
        out["factor"] = r.number("bury", 0.0, 1.0, open_low=True, open_high=True) or 1.0
    elif action in ("include_only", "exclude"):
        if r.table[action] is not True:
            r.bad(action, f"must be true, got {_shown(r.table[action])}")
    elif action == "pin":
        pin = r.table["pin"]
        if not isinstance(pin, str) or not pin:
            r.bad("pin", f"must be an item id, got {_shown(pin)}")
        out["pin"] = pin if isinstance(pin, str) else ""
        out["slot"] = r.integer("slot", 1) if "slot" in r.table else 0
        if "slot" not in r.table:
            r.bad("slot", "pin needs a slot (1 = the first place)")
        elif out["slot"] > max_slot:
            r.bad("slot", f"slot {out['slot']} is beyond max_slot = {max_slot} (raise max_slot if pages ask "
                          "for more items)")
    else:
        out["cap"] = r.integer("cap", 1)
        if r.table.get("per") not in _PER:
            r.bad("per", f"cap needs per = \"brand\" or \"category\", got {_shown(r.table.get('per'))}")
        out["per"] = r.table.get("per", "")
    for key, owner in (("slot", "pin"), ("per", "cap")):
        if key in r.table and action != owner:
            r.bad(key, f"only a {owner} rule takes {key}")
    return out


def _candidates(r: _Reader, action: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, field_name in (("category", "categories"), ("brand", "brands"), ("items", "items")):
        if key in r.table:
            out[field_name] = r.strings(key)
    for key in ("price_min", "price_max", "new_within_days"):
        if key in r.table:
            out[key] = r.number(key, 0.0)
    if out.get("price_min") is not None and out.get("price_max") is not None and out["price_min"] > out["price_max"]:
        r.bad("price_min", "must not exceed price_max")
    if action == "pin" and out:
        r.bad(next(k for k in CANDIDATE_KEYS if k in r.table), "a pin names its item: candidate conditions "
                                                                "do not apply")
    if action in ("include_only", "exclude") and not out:
        r.bad(action, "needs candidate conditions (category, brand, price_min/max, items, new_within_days)")
    return out


def _rule(i: int, table: object, zone: ZoneInfo, max_slot: int, problems: list[Problem]) -> Rule | None:
    if not isinstance(table, dict):
        problems.append(Problem(f"rule[{i}]", "", "must be a table ([[rule]])"))
        return None
    name = table.get("name")
    label = name if isinstance(name, str) and name else f"rule[{i}]"
    r = _Reader(label, table, problems)
    if not isinstance(name, str) or not name.strip():
        r.bad("name", f"required: a non-empty string, got {_shown(name)}")
    for key in sorted(set(table) - set(REQUEST_KEYS) - set(CANDIDATE_KEYS) - set(ACTIONS) - set(_OTHER_KEYS)):
        r.bad(key, f"unknown key; rule keys are: {', '.join((*_OTHER_KEYS, *REQUEST_KEYS, *CANDIDATE_KEYS, *ACTIONS))}")
    if "note" in table and not isinstance(table["note"], str):
        r.bad("note", f"must be a string, got {_shown(table['note'])}")
    start, end = _window(r, zone)
    when = _when(r)
    action = _action(r, max_slot)
    return Rule(name=label, start_ms=start, end_ms=end, when=when, **action, **_candidates(r, action["action"]))


def _top(document: dict[str, Any], problems: list[Problem]) -> tuple[int, ZoneInfo]:
    r = _Reader("", document, problems)
    for key in sorted(set(document) - set(_TOP_KEYS)):
        r.bad(key, f"unknown top-level key; the file has: {', '.join(_TOP_KEYS)} (rules go in [[rule]] tables)")
    max_slot = r.integer("max_slot", 1) or 10 if "max_slot" in document else 10
    zone = ZoneInfo("UTC")
    if "timezone" in document:
        try:
            zone = ZoneInfo(str(document["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            r.bad("timezone", f"unknown IANA zone {document['timezone']!r} (e.g. Europe/Rome)")
    return max_slot, zone


def parse_rules(text: str) -> tuple[RuleFile, list[Problem]]:
    """The rules of a file's text and every problem found. With problems the file must not be used: its
    RuleFile holds only the rules that could be read (so their names can be checked too)."""
    problems: list[Problem] = []
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return RuleFile((), rules_version(text)), [Problem("", "toml", f"not valid TOML: {exc}")]
    max_slot, zone = _top(document, problems)
    tables = document.get("rule", [])
    if not isinstance(tables, list):
        problems.append(Problem("", "rule", "must be an array of tables ([[rule]])"))
        tables = []
    rules = [rule for i, table in enumerate(tables) if (rule := _rule(i, table, zone, max_slot, problems))]
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.name in seen:
            problems.append(Problem(rule.name, "name", f"duplicate: rule[{seen[rule.name]}] has the same name"))
        seen.setdefault(rule.name, i)
    problems.extend(_overlapping_pins(rules))
    return RuleFile(tuple(rules), rules_version(text), max_slot), problems


def _may_hold_together(a: Rule, b: Rule) -> bool:
    """Whether some request could meet both rules' windows and request conditions (conservative: a
    query_contains condition may meet any query; tags are not exclusive, a shopper has several)."""
    if a.end_ms <= b.start_ms or b.end_ms <= a.start_ms:
        return False
    for key in ("segment", "lifecycle", "channel", "page", "country", "age_band", "query_equals"):
        if key in a.when and key in b.when and not set(a.when[key]) & set(b.when[key]):
            return False
    for x, y in ((a, b), (b, a)):
        if "query_equals" in x.when and "query_contains" in y.when and not any(
                t in e for t in y.when["query_contains"] for e in x.when["query_equals"]):
            return False
    return True


def _overlapping_pins(rules: Sequence[Rule]) -> list[Problem]:
    pins = [r for r in rules if r.action == "pin" and r.slot > 0]
    return [Problem(b.name, "slot", f"overlaps rule {a.name}: both pin slot {b.slot} and could hold for the same "
                                    f"request (the rule listed first would win); give them disjoint conditions, "
                                    f"windows or slots")
            for a, b in itertools.combinations(pins, 2) if a.slot == b.slot and _may_hold_together(a, b)]


def check_vocabulary(rules: Sequence[Rule], vocabulary: Vocabulary) -> list[Problem]:
    """Every category, brand, item, country and age band a rule names that the artifact does not know."""
    problems = []
    for rule in rules:
        for key, values, known in (("category", rule.categories, vocabulary.categories),
                                   ("brand", rule.brands, vocabulary.brands),
                                   ("country", rule.when.get("country", ()), vocabulary.countries),
                                   ("age_band", rule.when.get("age_band", ()), vocabulary.age_bands)):
            problems += [Problem(rule.name, key, f"unknown {key} {v!r} (not in the artifact's catalog)")
                         for v in values if v not in known]
        ids = [*rule.items, *([rule.pin] if rule.pin else [])]
        found = vocabulary.known_items(ids) if ids else []
        problems += [Problem(rule.name, "pin" if i == rule.pin and not rule.items else "items",
                             f"unknown item {i!r} (not in the artifact's catalog)")
                     for i, ok in zip(ids, found, strict=True) if not ok]
    return problems


def artifact_vocabulary(root: Path) -> Vocabulary:
    """The names ROOT/current knows, from its manifest and id arrays (nothing else is opened)."""
    version = artifact.resolve_current(root)
    manifest = artifact.read_manifest(version)
    ids_sorted = np.load(version / artifact.ITEM_ARRAYS["ids_sorted"].file, mmap_mode="r")
    rows_by_id = np.load(version / artifact.ITEM_ARRAYS["rows_by_id"].file, mmap_mode="r")
    return Vocabulary(frozenset(manifest.categories), frozenset(manifest.brands), frozenset(manifest.countries),
                      frozenset(manifest.age_bands),
                      lambda ids: (artifact.find_rows(ids_sorted, rows_by_id, tuple(ids)) >= 0).tolist())


def check_rules_file(path: Path, artifacts: Path | None = None) -> tuple[RuleFile | None, list[Problem]]:
    """A rules file read, parsed and (with an artifact root) checked against ROOT/current's catalog."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem("", "file", f"cannot read {path}: {exc}")]
    rule_file, problems = parse_rules(text)
    if artifacts is not None:
        try:
            problems += check_vocabulary(rule_file.rules, artifact_vocabulary(artifacts))
        except (OSError, ValueError, artifact.ManifestMismatch) as exc:
            problems.append(Problem("", "artifacts", f"cannot read the artifact at {artifacts}: {exc}"))
    return (None, problems) if problems else (rule_file, [])
