"""`tailor experiments report`: the statistics as pure functions, the impression file format, and a
simulated stream end to end — answers from the real server, attributed events through TrackEvents with
a known lift planted in one variant, then the report."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from clients import TailorClient
from loadtests.quality.experiments import main, report
from loadtests.quality.stats import Estimate, lift, mean_estimate, rate_estimate, verdict, wilson
from protos import decision_pb2 as pb
from protos import impressions
from server import ServerConfig, start_server
from server.experiments.arms import Experiment, Variant, unit_bucket
from server.ranking.policy import RankingPolicy
from tests.conftest import Built

# --- statistics ------------------------------------------------------------------------------------------------


def test_wilson_interval_matches_the_textbook_value() -> None:
    # 10 of 100: 0.0552 to 0.1744 (Newcombe 1998, method 3).
    assert wilson(10, 100) == pytest.approx((0.05523, 0.17437), abs=1e-4)
    assert wilson(0, 50)[0] == pytest.approx(0.0, abs=1e-12) and 0 < wilson(0, 50)[1] < 0.08
    assert wilson(0, 0) == (0.0, 1.0)


def test_mean_interval_of_symmetric_values_is_normal_with_the_sample_variance() -> None:
    values = np.array([10.0, 0.0, 10.0, 20.0])
    e = mean_estimate(values)
    half = 1.959964 * values.std(ddof=1) / 2
    assert (e.value, e.low, e.high) == pytest.approx((10.0, 10.0 - half, 10.0 + half))


def _hall_t(skew: float, n: int, x: float) -> float:
    """The T with T + skew/(6 sqrt n) + skew T^2/(3 sqrt n) + skew^2 T^3/(27 n) = x (its one real root)."""
    roots = np.roots([skew**2 / (27 * n), skew / (3 * math.sqrt(n)), 1.0, skew / (6 * math.sqrt(n)) - x])
    [real] = [r.real for r in roots if abs(r.imag) < 1e-9]
    return float(real)


def test_mean_interval_of_skewed_values_is_halls_and_cut_at_zero() -> None:
    values = np.array([0.0] * 15 + [5.0, 10.0, 20.0, 40.0, 200.0])
    e = mean_estimate(values)
    d = values - values.mean()
    skew, se = np.mean(d**3) / np.mean(d**2) ** 1.5, values.std(ddof=1) / math.sqrt(20)
    assert (e.value, e.low, e.high) == pytest.approx(
        (13.75, max(0.0, 13.75 - se * _hall_t(skew, 20, 1.959964)), 13.75 - se * _hall_t(skew, 20, -1.959964)))
    assert e.high - e.value > 1.959964 * se  # further up than a normal interval
    few = mean_estimate(np.array([0.0, 0.0, 0.0, 0.0, 500.0]))  # 100 - 1.96 * 100 < 0: revenue is never negative
    assert few.low == 0.0 and few.high > 100.0 + 1.959964 * 100.0


def test_lift_interval_is_fiellers() -> None:
    control, treatment = rate_estimate(100, 1000), rate_estimate(150, 1000)
    change = lift(treatment, control)
    z, vt, vc = 1.959964, 0.15 * 0.85 / 999, 0.1 * 0.9 / 999  # unit variances, n - 1 divisor
    # The ratios r with (t - r c)^2 = z^2 (vt + r^2 vc), by the textbook quadratic.
    roots = sorted(np.roots([0.1**2 - z * z * vc, -2 * 0.15 * 0.1, 0.15**2 - z * z * vt]))
    assert change.value == pytest.approx(0.5)
    assert (change.low, change.high) == pytest.approx((roots[0] - 1, roots[1] - 1), rel=1e-5)
    assert change.significant
    assert verdict("treatment", "conversion", change) == (
        f"treatment +50.0 % conversion, 95 % CI +{change.low * 100:.1f} %…+{change.high * 100:.1f} %")


def test_the_interval_holds_no_difference_exactly_when_the_difference_is_not_significant() -> None:
    control = Estimate(10.0, 0.0, 0.0, 4.0, 100)
    for t in (15.0, 15.6, 16.0, 20.0, 5.0, 4.4, 3.9):
        treatment = Estimate(t, 0.0, 0.0, 1.0, 100)
        change = lift(treatment, control)
        assert change.significant == (abs(t - 10.0) > 1.959964 * math.sqrt(5.0)), t


def test_an_uncertain_control_leaves_the_interval_open_above() -> None:
    control = Estimate(1.0, 0.0, 2.0, 0.36, 100)  # 1.0 +- 1.18: not told apart from 0
    far_above = lift(Estimate(10.0, 9.0, 11.0, 0.25, 100), control)
    # Fieller's set is two rays; of ratios >= 0 it keeps [r, +inf), r > 1: higher, by an unknown amount.
    assert far_above.significant and 0 < far_above.low < 9.0 and math.isinf(far_above.high)
    assert verdict("b", "revenue", far_above) == f"b +900.0 % revenue, 95 % CI +{far_above.low * 100:.1f} %…+∞"
    near = lift(Estimate(1.5, 0.5, 2.5, 0.25, 100), control)
    z = 1.959964
    upper_root = max(np.roots([1.0 - z * z * 0.36, -2 * 1.5, 1.5**2 - z * z * 0.25]))  # the ray [0.41, +inf)
    assert not near.significant and near.low == pytest.approx(upper_root - 1, rel=1e-5) and math.isinf(near.high)
    assert verdict("b", "revenue", near) == ("b: no clear difference in revenue (+50.0 %, 95 % CI -59.1 %…+∞: "
                                             "control's revenue is not told apart from 0)")
    nowhere = lift(Estimate(1.0, 0.0, 3.0, 1.0, 100), control)  # neither side told apart from 0: any ratio
    assert (nowhere.low, nowhere.high) == (-1.0, math.inf)


def test_no_difference_and_no_data_are_said_plainly() -> None:
    same = lift(rate_estimate(100, 1000), rate_estimate(100, 1000))
    assert not same.significant and (same.low < 0 < same.high)
    assert verdict("b", "conversion", same).startswith("b: no clear difference in conversion (+0.0 %, 95 % CI -")
    none_yet = lift(rate_estimate(0, 10), rate_estimate(3, 10))  # 0 of 10 is no proof of a lower rate
    assert not none_yet.significant and none_yet.low == -1.0
    assert lift(rate_estimate(0, 1000), rate_estimate(30, 1000)).high < 0  # 0 of 1000 is
    nothing = lift(rate_estimate(3, 10), rate_estimate(0, 10))
    assert verdict("b", "conversion", nothing) == "b: not enough data to compare conversion with control"
    no_spread = lift(mean_estimate(np.zeros(10)), mean_estimate(np.array([0.0] * 9 + [500.0])))
    assert verdict("b", "revenue", no_spread) == "b: not enough data to compare revenue with control"
    assert not lift(Estimate(1.0, 0.5, 1.5, math.nan, 1), rate_estimate(3, 10)).significant


# --- impression files ------------------------------------------------------------------------------------------


def test_impression_records_read_back_and_a_cut_tail_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / impressions.file_name("exp", 1, 2)
    records = [impressions.pack_impression(1000 + k, f"r{k}", k % 2, [f"i{k}", "i9"][:k % 3]) for k in range(5)]
    path.write_bytes(impressions.file_header("exp", [{"name": "a"}, {"name": "b"}], 1) + b"".join(records)
                     + records[0][:7])
    meta, back = impressions.read_impressions(path)
    read = list(back)
    assert meta["experiment"] == "exp" and [v["name"] for v in meta["variants"]] == ["a", "b"]
    assert [(r.request_id, r.variant, r.time_ms, r.item_ids) for r in read] == [
        (f"r{k}", k % 2, 1000 + k, tuple([f"i{k}", "i9"][:k % 3])) for k in range(5)]
    assert [r.unit for r in read] == [-1] * 5  # written without a unit bucket
    with_units = tmp_path / impressions.file_name("exp", 2, 2)
    with_units.write_bytes(impressions.file_header("exp", [{"name": "a"}], 2) + b"".join(
        impressions.pack_impression(5, f"u{k}", 0, ["i1"], unit=unit)
        for k, unit in enumerate([0, 4095, 4096, impressions.NO_UNIT])))
    assert [r.unit for r in impressions.read_impressions(with_units)[1]] == [0, 4095, -1, -1]
    # a version 1 file (before unit buckets): records without the bucket field, read as unit -1
    v1 = struct.Struct("<IqBBH")
    old = tmp_path / impressions.file_name("exp", 3, 2)
    old.write_bytes(impressions.MAGIC + b'{"experiment":"exp","variants":[{"name":"a"}],"started_ms":3,"version":1}\n'
                    + v1.pack(v1.size + 2 + 2, 7, 2, 0, 1) + b"r1i1")
    assert [(r.request_id, r.item_ids, r.unit) for r in impressions.read_impressions(old)[1]] == [("r1", ("i1",), -1)]
    (tmp_path / "other.imp").write_bytes(b"not one")
    with pytest.raises(ValueError, match="not an impressions file"):
        impressions.read_impressions(tmp_path / "other.imp")


def test_report_without_impressions_says_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiments", "report", "--artifacts", str(tmp_path), "--quiet"]) == 1
    assert "no impressions under" in capsys.readouterr().err


# --- a simulated stream, end to end ----------------------------------------------------------------------------

_LISTS = 1600
_CLICK = {"control": 0.30, "treatment": 0.36}  # planted lift +20 %
# planted lift +100 %: with ~700 shoppers sharing the lists (the unit is the shopper), +50 % left the
# significance assertion below at ~80 % power, so a change of the demo data could flip it
_BUY = {"control": 0.10, "treatment": 0.20}
_PRICE = 20.0


def _events(answers: list[tuple[str, str, list[str]]], rng: np.random.Generator) -> list[pb.Event]:
    """Attributed clicks and purchases drawn per answer with its variant's probabilities, plus noise that
    must not count: a purchase naming no shown answer, and one of an item the answer did not hold."""
    events = []
    ts = 1_790_000_000_000
    for k, (request_id, variant, items) in enumerate(answers):
        session = f"sim-{k}"
        if rng.random() < _CLICK[variant]:
            events.append(pb.Event(event_id=f"c-{k}", timestamp_ms=ts, session_id=session, request_id=request_id,
                                   item_id=items[int(rng.integers(len(items)))], type=pb.INTERACTION_TYPE_VIEW))
        if rng.random() < _BUY[variant]:
            events.append(pb.Event(event_id=f"p-{k}", timestamp_ms=ts, session_id=session, request_id=request_id,
                                   item_id=items[0], type=pb.INTERACTION_TYPE_PURCHASE, qty=1, price=_PRICE))
    events.append(pb.Event(event_id="stray-1", timestamp_ms=ts, session_id="x", request_id="never-answered",
                           item_id=answers[0][2][0], type=pb.INTERACTION_TYPE_PURCHASE, qty=1, price=_PRICE))
    return events


def test_a_planted_lift_is_reported_inside_its_interval(own_root: Path, built: Built,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    experiment = Experiment("sim", (Variant("control", 0.5, RankingPolicy(), popular=True),
                                    Variant("treatment", 0.5, RankingPolicy())))
    server = start_server(ServerConfig(artifacts=own_root, port=0, experiment=experiment))
    users = sorted(built.store.purchased)
    answers: list[tuple[str, str, list[str]]] = []
    try:
        with TailorClient(f"127.0.0.1:{server.port}", timeout=30) as client:
            for k in range(_LISTS):
                decision = client.recommend(5, user_id=users[k % len(users)], request_id=f"sim-req-{k}")
                answers.append((decision.request_id, experiment.assign(users[k % len(users)]).name,
                                [i.item_id for i in decision.items]))
            events = _events(answers, np.random.default_rng(7))
            bad = pb.Event(event_id="bad-rid", timestamp_ms=events[0].timestamp_ms, session_id="x",
                           item_id=answers[0][2][0], type=pb.INTERACTION_TYPE_VIEW, request_id="no spaces allowed")
            rejected = []
            for start in range(0, len(events), 500):
                batch = events[start:start + 500] + ([bad] if start == 0 else [])
                answer = client.track(batch, timeout=30)
                assert answer.accepted == len(batch) - (start == 0)
                rejected += [(r.index, r.field) for r in answer.rejected]
            assert rejected == [(min(500, len(events)), "request_id")]
    finally:
        server.stop(grace=None)  # writes the buffered impressions; closes the live store for the report
    result = report(own_root, progress=False)
    by_name = {v.name: v for v in result.variants}
    assert result.experiment == "sim" and result.control == "control"
    assert sum(v.lists for v in result.variants) == _LISTS
    assert result.attributed_events == len(events) - 1 and result.unmatched_events == 1
    # The unit is the shopper: the lists of one user share their unit bucket.
    buckets = {v: {unit_bucket("sim", u) for u in users if experiment.assign(u).name == v} for v in by_name}
    assert {v: by_name[v].conversion.n for v in by_name} == {v: len(b) for v, b in buckets.items()}
    assert by_name["control"].conversion.n < by_name["control"].lists
    treated = by_name["treatment"]
    assert treated.lifts is not None
    # Each lift is the realised one (the drawn events per list, treatment over control), inside its interval;
    # whether the interval covers the planted lift 95 % of the time is tests/.../test_experiments_simulated.py.
    lists = {v: sum(1 for a in answers if a[1] == v) for v in by_name}
    shown = {a[0]: a[1] for a in answers}
    for metric, prefix, weight in (("click-through", "c-", 1.0), ("conversion", "p-", 1.0),
                                   ("revenue per list", "p-", _PRICE)):
        per_list = {v: weight * sum(1 for e in events if e.event_id.startswith(prefix) and shown[e.request_id] == v)
                    / lists[v] for v in by_name}
        realised = per_list["treatment"] / per_list["control"] - 1
        change = treated.lifts[metric]
        assert change.value == pytest.approx(realised, rel=1e-9), metric
        assert change.low < change.value < change.high, (metric, change)
    assert treated.lifts["conversion"].significant
    assert any(line.startswith("treatment +") and "conversion, 95 % CI" in line for line in treated.verdicts)

    assert main(["experiments", "report", "--artifacts", str(own_root), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "control (control)" in text and "conversion, 95 % CI" in text and "sim-req" not in text
    assert main(["experiments", "report", "--artifacts", str(own_root), "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert [v["name"] for v in parsed["variants"]] == ["control", "treatment"]
    assert parsed["variants"][1]["lifts"]["conversion"]["low"] > 0


def test_tailor_track_attributes_a_csv_by_its_request_id_column(own_root: Path, built: Built, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from clients.tailor import main as tailor

    experiment = Experiment("cli", (Variant("only", 1.0, RankingPolicy()),))
    server = start_server(ServerConfig(artifacts=own_root, port=0, experiment=experiment))
    try:
        with TailorClient(f"127.0.0.1:{server.port}", timeout=30) as client:
            items = [i.item_id for i in client.recommend(4, request_id="cli-req-1").items]
        events = tmp_path / "events.csv"
        events.write_text("event_id,ts,user_id,session_id,item_id,type,qty,price,channel,request_id\n"
                          f"cli-1,2026-11-01T10:00:00Z,,s1,{items[1]},view,1,0,web,cli-req-1\n"
                          f"cli-2,2026-11-01T10:01:00Z,,s1,{items[1]},purchase,2,0,web,cli-req-1\n"
                          f"cli-3,2026-11-01T10:01:00Z,,s1,{items[1]},purchase,1,5,web,bad request id\n")
        assert tailor(["track", str(events), "--target", f"127.0.0.1:{server.port}", "--quiet"]) == 1
        out, err = capsys.readouterr()
        assert "accepted 2" in out and "line 4: rejected: request_id" in err
    finally:
        server.stop(grace=None)
    [only] = report(own_root, progress=False).variants
    # price 0: the catalog's price of the item, times the quantity.
    assert (only.lists, only.clicks, only.conversion.value) == (1, 1, 1.0)
    assert only.revenue_per_list.value == pytest.approx(2 * built.store.price[items[1]], rel=1e-6)
