"""The buy_again stage on an in-memory snapshot: due cycles come back with their reason, others stay excluded."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap

import numpy as np
import pytest

from protos import artifact
from server.api.queries import Filter, Query
from server.ranking import reasons, stages
from server.ranking.pipelines import recommend
from server.ranking.policy import RankingPolicy
from server.ranking.request import RequestArrays
from server.ranking.signals import gather_signals, request_now
from server.runtime.snapshot import Snapshot, memory_snapshot

NO_FILTER = Filter(frozenset(), frozenset(), 0.0, 0.0, False)
POLICY = RankingPolicy()
NOW = 1_800_000_000
DAY = 86_400
IDS = ["coffee", "rare", "gone", "tea", "pan", "soap"]
# Repurchase rate and cycle (days) per item: "rare" is rarely rebought, "gone" is out of stock,
# "soap" has no learned cycle.
RATE = [0.6, 0.05, 0.9, 0.5, 0.0, 0.5]
DAYS = [30.0, 20.0, 30.0, 10.0, 0.0, 0.0]


def _snapshot(days_ago: list[float], policy_now: float = NOW) -> Snapshot:
    bought = np.array([0, 1, 2, 3, 5], dtype=np.int32)
    at = (policy_now - np.array(days_ago) * DAY).astype(np.int64)
    shopper = artifact.Profile(True, np.array([1.0, 0.0], np.float32), np.zeros(0, np.int32), bought, at,
                               np.zeros(0, np.int32))
    vectors = np.array([[1, 0], [0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4], [0.5, 0.5]], dtype=np.float32)
    return memory_snapshot(vectors, IDS, ["a"] * 6, ["x"] * 6, [1.0] * 6, [True, True, False, True, True, True],
                           profiles={"shopper": shopper}, repurchase=(RATE, DAYS), reference_time=NOW)


def _query(anchor: str = "", session: tuple[str, ...] = ()) -> Query:
    return Query(user_id="shopper", session_ids=session, session_types=np.full(len(session), 1, dtype=np.int8),
                 anchor_item_id=anchor, n=6, filters=NO_FILTER, candidate_ids=(), candidate_scores=np.zeros(0))


def _rebought(snap: Snapshot, query: Query, policy: RankingPolicy = POLICY) -> dict[str, int]:
    ranked = recommend(snap, policy, RequestArrays(gather_signals(snap, policy, query), 6, NO_FILTER))
    return {snap.catalog.item_id(int(r)): int(m) for r, m in zip(ranked.rows, ranked.reasons, strict=True)
            if snap.catalog.item_id(int(r)) in ("coffee", "rare", "gone", "tea", "soap")}


def test_a_due_purchase_comes_back_first_with_reason_buy_again() -> None:
    snap = _snapshot([31, 40, 31, 1, 31])
    signals = gather_signals(snap, POLICY, _query())
    ranked = recommend(snap, POLICY, RequestArrays(signals, 6, NO_FILTER))
    assert snap.catalog.item_id(int(ranked.rows[0])) == "coffee"
    assert int(ranked.reasons[0]) == reasons.bit(reasons.BUY_AGAIN)
    # Not due (tea, bought yesterday), rarely rebought (rare), out of stock (gone), no cycle (soap): excluded.
    assert _rebought(snap, _query()) == {"coffee": reasons.bit(reasons.BUY_AGAIN)}
    assert reasons.TEXT[reasons.BUY_AGAIN] == "Time to restock?" and reasons.name(reasons.BUY_AGAIN) == "buy_again"


def test_right_after_buying_nothing_is_due() -> None:
    assert _rebought(_snapshot([1, 1, 1, 1, 1]), _query()) == {}


def test_due_window_follows_the_policy() -> None:
    snap = _snapshot([31, 40, 31, 6, 31])  # tea: 0.6 of its 10-day cycle
    assert set(_rebought(snap, _query())) == {"coffee", "tea"}
    assert set(_rebought(snap, _query(), RankingPolicy(buy_again_due_share=0.8))) == {"coffee"}
    assert _rebought(_snapshot([400, 40, 31, 1, 31]), _query(), RankingPolicy(buy_again_max_cycles=3.0)) == {}
    assert _rebought(snap, _query(), RankingPolicy(buy_again_weight=0.0)) == {}
    assert set(_rebought(snap, _query(), RankingPolicy(buy_again_min_rate=0.01))) == {"coffee", "rare", "tea"}


def test_not_on_a_product_page_nor_for_what_is_in_the_session() -> None:
    snap = _snapshot([31, 40, 31, 6, 31])
    assert _rebought(snap, _query(anchor="pan")) == {}
    assert set(_rebought(snap, _query(session=("coffee",)))) == {"tea"}


def test_score_is_weight_times_rate_times_timeliness_times_the_best_candidate() -> None:
    snap = _snapshot([30, 40, 31, 20, 31])  # coffee exactly due (1 cycle), tea two cycles: timeliness 1/2
    top = stages.Candidates(np.array([4]), np.array([2.0]), np.array([0], dtype=reasons.MASK_DTYPE),
                            np.array([True]))
    rows = np.array([0, 3], dtype=np.int64)
    at = np.array([NOW - 30 * DAY, NOW - 20 * DAY], dtype=np.int64)
    c = stages.buy_again(snap.catalog, top, rows, at, NOW, POLICY, NO_FILTER)
    assert c.rows.tolist() == [4, 0, 3]
    assert c.scores.tolist() == pytest.approx([2.0, 10 * 0.6 * 1.0 * 2.0, 10 * 0.5 * 0.5 * 2.0])
    assert c.reasons.tolist()[1:] == [reasons.bit(reasons.BUY_AGAIN)] * 2


def test_the_stage_has_no_python_loop() -> None:
    tree = ast.parse(textwrap.dedent(inspect.getsource(stages.buy_again)))
    loops = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    assert not [node for node in ast.walk(tree) if isinstance(node, loops)]


def test_the_clock_is_the_request_then_the_artifact_or_the_wall() -> None:
    snap = _snapshot([31, 40, 31, 1, 31])
    query = _query()
    assert request_now(snap, POLICY, query) == NOW
    assert abs(request_now(snap, RankingPolicy(clock="wall"), query) - __import__("time").time()) < 60
    as_of = dataclasses.replace(query, time_ms=1_700_000_000_000)
    assert request_now(snap, POLICY, as_of) == 1_700_000_000.0


def test_a_request_at_the_time_of_the_last_purchase_gets_nothing_due() -> None:
    snap = _snapshot([31, 40, 31, 1, 31])
    query = _query()
    assert _rebought(snap, query)  # 31 days after the purchases, at the artifact's clock: due
    then = dataclasses.replace(query, time_ms=int((NOW - 31 * 86_400) * 1000))
    assert not _rebought(snap, then)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("clock", "moon", "ranking.clock"), ("buy_again_weight", -1.0, "ranking.buy_again_weight"),
    ("buy_again_min_rate", 1.5, "ranking.buy_again_min_rate"),
])
def test_bad_buy_again_knobs_name_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RankingPolicy(**{key: value})  # type: ignore[arg-type]


def test_due_needs_a_rebuy_rate_and_half_a_cycle_or_no_cycle_when_asked() -> None:
    snap = _snapshot([31, 40, 31, 1, 31])
    bought = np.array([0, 1, 3, 5])  # coffee (30 d cycle), rare (rate 0.05), tea (10 d, bought 1 day ago), soap
    at = NOW - np.array([31, 40, 1, 31]) * DAY
    assert stages.due(snap.catalog, bought, at, NOW, POLICY).tolist() == [True, False, False, False]
    # soap is rebought (rate 0.5) but by too few for a cycle: due when a store lets such items come back
    assert stages.due(snap.catalog, bought, at, NOW, POLICY, without_cycle=True).tolist() == [True, False, False, True]
