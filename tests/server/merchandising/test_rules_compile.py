"""The rules compiler and stage on plain arrays: activation by request facts, and each action's effect."""

from __future__ import annotations

import numpy as np
import pytest

from protos import artifact
from server.api.queries import Filter
from server.merchandising.compiler import RequestFacts, RuleSet, compile_rules
from server.merchandising.schema import Rule, RuleFile, parse_rules
from server.merchandising.stage import apply, restrict
from server.ranking import reasons
from server.ranking.caps import cap_groups
from server.ranking.stages import Candidates
from server.runtime.snapshot import Snapshot, memory_snapshot

NO_FILTER = Filter(frozenset(), frozenset(), 0.0, 0.0, False)
NOW = 1_780_000_000_000  # epoch ms
RULE = reasons.bit(reasons.RULE)
NONE = np.zeros(0, dtype=np.int64)
# Rows 0-7: categories a a a b b b c c, brands x y x y x y x y, prices 10..80.
IDS = [f"i{k}" for k in range(8)]


@pytest.fixture
def snap() -> Snapshot:
    return memory_snapshot(np.eye(8, 4), IDS, list("aaabbbcc"), list("xyxyxyxy"), [10, 20, 30, 40, 50, 60, 70, 80],
                           [True] * 8, reference_time=NOW / 1000)


def _compiled(snap: Snapshot, text: str) -> RuleSet:
    rule_file, problems = parse_rules(text)
    assert problems == []
    return compile_rules(rule_file, snap)


def _facts(**given: object) -> RequestFacts:
    values: dict[str, object] = {"segment": -1, "lifecycle": -1, "tags": 0, "country": -1, "age_band": -1,
                                 "channel": 0, "page": 0, "query": "", "time_ms": NOW}
    values.update(given)
    return RequestFacts(**values)  # type: ignore[arg-type]


def _candidates(rows: list[int], scores: list[float] | None = None) -> Candidates:
    scores = scores if scores is not None else [1.0 - 0.1 * k for k in range(len(rows))]
    return Candidates(np.array(rows, dtype=np.int64), np.array(scores), np.zeros(len(rows), dtype=np.uint32),
                      np.ones(len(rows), dtype=bool))


def _run(ruleset: RuleSet, rows: list[int], n: int, facts: RequestFacts | None = None,
         scores: list[float] | None = None, add_pins: bool = True) -> Candidates:
    active = ruleset.active(facts or _facts())
    f = restrict(NO_FILTER, active)
    c = _candidates(rows, scores)
    if f.allowed is not None:
        c = c.with_(keep=f.allowed[c.rows])
    return apply(c, active, n, NONE, f, add_pins=add_pins)


def test_boost_and_bury_multiply_and_name_the_first_matching_rule(snap: Snapshot) -> None:
    ruleset = _compiled(snap, """
[[rule]]
name = "up-b"
category = "b"
boost = 4
[[rule]]
name = "down-x"
brand = "x"
bury = 0.5
""")
    out = _run(ruleset, [0, 1, 2, 3, 4, 5], 6, scores=[1.0, 0.9, 0.8, 0.7, 0.6, -0.5])
    by_row = dict(zip(out.rows.tolist(), out.scores.tolist(), strict=True))
    assert by_row[3] == pytest.approx(2.8) and by_row[4] == pytest.approx(1.2)  # b; 4 also x: 4 x 0.5
    assert by_row[0] == pytest.approx(0.5) and by_row[1] == pytest.approx(0.9)
    assert by_row[5] == pytest.approx(-0.125)  # a negative score is divided: a boost still moves it up
    assert out.rows.tolist()[:2] == [3, 4]
    named = dict(zip(out.rows.tolist(), out.rules.tolist(), strict=True))  # type: ignore[union-attr]
    assert named == {3: 0, 4: 0, 5: 0, 0: 1, 2: 1, 1: -1}
    assert all(bool(m & RULE) == (named[r] >= 0) for r, m in zip(out.rows.tolist(), out.reasons.tolist(),
                                                                 strict=True))


def test_exclude_beats_include_only_in_the_catalog_wide_mask(snap: Snapshot) -> None:
    ruleset = _compiled(snap, """
[[rule]]
name = "only-a-and-b"
category = ["a", "b"]
include_only = true
[[rule]]
name = "cheap-out"
price_max = 20
exclude = true
""")
    active = ruleset.active(_facts())
    assert active.allowed is not None and np.flatnonzero(active.allowed).tolist() == [2, 3, 4, 5]
    out = _run(ruleset, list(range(8)), 8)
    assert sorted(out.rows.tolist()) == [2, 3, 4, 5]
    assert set(out.rules.tolist()) == {0}  # type: ignore[union-attr]  # let through by include_only


def test_a_pin_lands_in_its_slot_whether_or_not_it_was_a_candidate(snap: Snapshot) -> None:
    ruleset = _compiled(snap, '[[rule]]\nname = "hero"\npin = "i7"\nslot = 2\n'
                              '[[rule]]\nname = "again"\npin = "i1"\nslot = 4\n')
    out = _run(ruleset, [0, 1, 2, 3, 4], 5)
    assert out.rows.tolist() == [0, 7, 2, 1, 3]
    assert out.rules.tolist() == [-1, 0, -1, 1, -1]  # type: ignore[union-attr]
    assert (np.diff(out.scores) <= 0).all(), "scores still read best first"


def test_conflicting_pins_the_first_listed_rule_wins(snap: Snapshot) -> None:
    rules = (Rule("first", "pin", pin="i6", slot=1), Rule("second", "pin", pin="i7", slot=1),
             Rule("same-item", "pin", pin="i6", slot=3), Rule("third", "pin", pin="i5", slot=3))
    ruleset = compile_rules(RuleFile(rules, "v"), snap)
    out = _run(ruleset, [0, 1, 2, 3], 4)
    assert out.rows.tolist() == [6, 0, 5, 1]
    assert out.rules.tolist() == [0, -1, 3, -1]  # type: ignore[union-attr]


def test_a_pin_beyond_n_is_skipped_and_beyond_a_short_answer_comes_last(snap: Snapshot) -> None:
    ruleset = _compiled(snap, '[[rule]]\nname = "far"\npin = "i7"\nslot = 9\n')
    assert _run(ruleset, [0, 1, 2], 3).rows.tolist() == [0, 1, 2]
    assert _run(ruleset, [0, 1, 2], 10).rows.tolist() == [0, 1, 2, 7]


def test_a_pin_of_an_excluded_or_filtered_item_is_not_placed(snap: Snapshot) -> None:
    ruleset = _compiled(snap, '[[rule]]\nname = "hero"\npin = "i7"\nslot = 1\n'
                              '[[rule]]\nname = "no-c"\ncategory = "c"\nexclude = true\n')
    assert 7 not in _run(ruleset, [0, 1, 2], 3).rows.tolist()
    pinned = _compiled(snap, '[[rule]]\nname = "hero"\npin = "i7"\nslot = 1\n')
    active = pinned.active(_facts())
    only_a = Filter(frozenset({"a"}), frozenset(), 0.0, 0.0, False)
    assert apply(_candidates([0, 1, 2]), active, 3, NONE, only_a).rows.tolist() == [0, 1, 2]
    assert apply(_candidates([0, 1, 2]), active, 3, np.array([7]), NO_FILTER).rows.tolist() == [0, 1, 2]


def test_rerank_pins_move_only_its_own_candidates(snap: Snapshot) -> None:
    ruleset = _compiled(snap, '[[rule]]\nname = "a"\npin = "i7"\nslot = 1\n'
                              '[[rule]]\nname = "b"\npin = "i2"\nslot = 2\n')
    c = _candidates([0, 1, 2, 3])
    c = Candidates(c.rows, c.scores, c.reasons, c.keep, np.arange(4))
    out = apply(c, ruleset.active(_facts()), 4, NONE, NO_FILTER, add_pins=False)
    assert out.rows.tolist() == [0, 2, 1, 3] and out.positions is not None
    assert out.positions.tolist() == [0, 2, 1, 3]


def test_a_cap_keeps_at_most_k_per_brand_in_the_top_n(snap: Snapshot) -> None:
    ruleset = _compiled(snap, '[[rule]]\nname = "variety"\ncap = 1\nper = "brand"\nbrand = "x"\n')
    out = _run(ruleset, list(range(8)), 4)
    assert out.rows.tolist() == [0, 1, 3, 5]  # x: 0 only; y is not capped


def test_cap_groups_demotes_beyond_each_groups_limit() -> None:
    c = _candidates([10, 11, 12, 13, 14, 15])
    groups = np.array([0, 0, 0, 1, -1, 1])
    out = cap_groups(c, groups, np.array([2, 2, 2, 1, 9, 1]), 4)
    order = out.rows[np.argsort(-out.scores, kind="stable")].tolist()
    assert order == [10, 11, 13, 14, 12, 15]


def test_a_date_window_turns_a_rule_on_and_off(snap: Snapshot) -> None:
    ruleset = _compiled(snap, """
[[rule]]
name = "sale"
start = "2026-06-01T00:00:00Z"
end = "2026-06-02T00:00:00Z"
category = "c"
boost = 10
""")
    def at(text: str) -> int:
        from datetime import datetime
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    assert len(ruleset.active(_facts(time_ms=at("2026-06-01T12:00:00+00:00"))).indices) == 1
    assert len(ruleset.active(_facts(time_ms=at("2026-05-31T23:59:59+00:00"))).indices) == 0
    assert len(ruleset.active(_facts(time_ms=at("2026-06-02T00:00:00+00:00"))).indices) == 0


def test_request_conditions_select_the_rules_that_hold(snap: Snapshot) -> None:
    ruleset = _compiled(snap, """
[[rule]]
name = "loyal-web-home"
segment = "loyal"
channel = "web"
page = "home"
boost = 2
[[rule]]
name = "high-value"
tag = ["high value", "deal-driven"]
lifecycle = "active"
boost = 2
[[rule]]
name = "coffee-search"
query_contains = "coffee"
boost = 2
[[rule]]
name = "exact"
query_equals = "Tea"
boost = 2
""")
    def holding(**facts: object) -> list[int]:
        return ruleset.active(_facts(**facts)).indices.tolist()
    loyal = artifact.SEGMENTS.index("loyal")
    assert holding(segment=loyal, channel=1, page=1) == [0]
    assert holding(segment=loyal, channel=2, page=1) == []
    assert holding(channel=1, page=1) == []  # a visitor without a profile has no segment
    active, deal = artifact.LIFECYCLES.index("active"), 1 << artifact.TAGS.index("deal-driven")
    assert holding(lifecycle=active, tags=deal) == [1]
    assert holding(lifecycle=active, tags=0) == []
    assert holding(query="cold brew coffee beans") == [2]
    assert holding(query="tea") == [3] and holding(query="green tea") == []


def test_newness_is_judged_at_the_requests_time(snap: Snapshot) -> None:
    snap.catalog.first_seen[6] = NOW // 1000 - 5 * 86_400
    ruleset = _compiled(snap, '[[rule]]\nname = "new"\nnew_within_days = 10\nexclude = true\n')
    active = ruleset.active(_facts())
    assert active.allowed is not None and np.flatnonzero(~active.allowed).tolist() == [6]
    later = ruleset.active(_facts(time_ms=NOW + 30 * 86_400_000))
    assert later.allowed is not None and later.allowed.all()


def test_the_active_rules_are_computed_once_per_distinct_request(snap: Snapshot) -> None:
    ruleset = _compiled(snap, '[[rule]]\nname = "a"\nchannel = "web"\nboost = 2\n')
    assert ruleset.active(_facts(channel=1)) is ruleset.active(_facts(channel=1, time_ms=NOW + 1))
    assert ruleset.active(_facts(channel=1)) is not ruleset.active(_facts(channel=2))
