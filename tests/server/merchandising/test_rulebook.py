"""The rules file's schema: what parses, and every problem named with its rule and key at once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from server.merchandising.schema import Problem, Vocabulary, check_vocabulary, parse_rules, rules_version

ROOT = Path(__file__).resolve().parents[3]


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _problems(text: str) -> set[tuple[str, str]]:
    _, problems = parse_rules(text)
    return {(p.rule, p.key) for p in problems}


def test_a_clean_file_parses_with_its_window_conditions_and_action() -> None:
    text = """
timezone = "Europe/Berlin"
[[rule]]
name = "coats"
start = 2026-11-15
end = "2026-11-30T12:00:00Z"
segment = ["champions", "loyal"]
channel = "web"
query_contains = "Winter COAT"
category = "jackets"
price_max = 200
boost = 2.5
"""
    rule_file, problems = parse_rules(text)
    assert problems == []
    (rule,) = rule_file.rules
    assert (rule.name, rule.action, rule.factor) == ("coats", "boost", 2.5)
    assert rule.start_ms == _ms("2026-11-15T00:00:00+01:00")  # a date: the day's start in the file's zone
    assert rule.end_ms == _ms("2026-11-30T12:00:00+00:00")
    assert rule.when == {"segment": ("champions", "loyal"), "channel": ("web",), "query_contains": ("winter coat",)}
    assert (rule.categories, rule.price_max) == (("jackets",), 200.0)
    assert rule_file.version == rules_version(text) != rules_version(text + "\n")


def test_an_end_date_closes_the_window_at_the_end_of_that_day() -> None:
    rule_file, _ = parse_rules('[[rule]]\nname = "a"\nend = 2026-03-01\nboost = 2\n')
    assert rule_file.rules[0].end_ms == int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)


def test_every_problem_is_named_with_its_rule_and_key() -> None:
    found = _problems("""
colour = "red"
[[rule]]
name = "two-actions"
boost = 2
bury = 0.5
segmnet = "loyal"
[[rule]]
name = "no-action"
segment = "vip"
channel = ["web", "fax"]
[[rule]]
name = "bad-types"
boost = "lots"
category = 3
price_min = -1
start = "soon"
[[rule]]
name = "impossible"
start = 2026-05-01
end = 2026-04-01
bury = 1.5
[[rule]]
name = "impossible"
exclude = false
[[rule]]
boost = 2
[[rule]]
name = "cap-without-per"
cap = 0
[[rule]]
name = "pin-without-slot"
pin = "i1"
category = "x"
""")
    assert found == {
        ("", "colour"), ("two-actions", "action"), ("two-actions", "segmnet"), ("no-action", "action"),
        ("no-action", "segment"), ("no-action", "channel"), ("bad-types", "boost"), ("bad-types", "category"),
        ("bad-types", "price_min"), ("bad-types", "start"), ("impossible", "end"), ("impossible", "bury"),
        ("impossible", "exclude"), ("impossible", "name"), ("rule[5]", "name"), ("cap-without-per", "cap"),
        ("cap-without-per", "per"), ("pin-without-slot", "slot"), ("pin-without-slot", "category")}


def test_a_toml_syntax_error_is_one_problem_naming_the_place() -> None:
    _, problems = parse_rules("[[rule]\nname = 'x'")
    assert len(problems) == 1 and problems[0].key == "toml" and "line 1" in problems[0].message


def test_pins_beyond_max_slot_and_overlapping_pins_are_problems() -> None:
    found = _problems("""
max_slot = 5
[[rule]]
name = "first"
pin = "i1"
slot = 2
page = ["home", "search"]
[[rule]]
name = "same-slot-other-page"
pin = "i2"
slot = 2
page = "cart"
[[rule]]
name = "same-slot-overlapping"
pin = "i3"
slot = 2
channel = "app"
[[rule]]
name = "far"
pin = "i5"
slot = 6
""")
    assert found == {("same-slot-overlapping", "slot"), ("far", "slot")}


def test_pins_in_disjoint_windows_do_not_overlap() -> None:
    assert _problems("""
[[rule]]
name = "january"
pin = "i1"
slot = 1
start = 2026-01-01
end = 2026-01-31
[[rule]]
name = "february"
pin = "i2"
slot = 1
start = 2026-02-01
""") == set()


def test_query_conditions_that_cannot_meet_do_not_overlap() -> None:
    assert _problems("""
[[rule]]
name = "a"
pin = "i1"
slot = 1
query_equals = "tea"
[[rule]]
name = "b"
pin = "i2"
slot = 1
query_contains = "coffee"
""") == set()


def test_names_are_checked_against_the_artifacts_vocabulary() -> None:
    rule_file, problems = parse_rules("""
[[rule]]
name = "a"
category = ["coffee", "cofee"]
brand = "Acme"
country = "XX"
items = ["i1", "nope"]
boost = 2
[[rule]]
name = "b"
pin = "ghost"
slot = 1
""")
    assert problems == []
    vocabulary = Vocabulary(frozenset({"coffee"}), frozenset({"Other"}), frozenset({"DE"}), frozenset(),
                            lambda ids: [i == "i1" for i in ids])
    assert check_vocabulary(rule_file.rules, vocabulary) == [
        Problem("a", "category", "unknown category 'cofee' (not in the artifact's catalog)"),
        Problem("a", "brand", "unknown brand 'Acme' (not in the artifact's catalog)"),
        Problem("a", "country", "unknown country 'XX' (not in the artifact's catalog)"),
        Problem("a", "items", "unknown item 'nope' (not in the artifact's catalog)"),
        Problem("b", "pin", "unknown item 'ghost' (not in the artifact's catalog)")]


def test_the_example_file_is_valid() -> None:
    _, problems = parse_rules((ROOT / "rules.example.toml").read_text())
    assert problems == []
