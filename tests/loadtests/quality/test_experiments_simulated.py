"""`tailor experiments report`'s intervals and verdicts held against simulated experiments: shoppers with
several lists each (their lists correlated through the shopper's own click and buy propensities), many
lists without a purchase and a heavy-tailed (lognormal) basket value. In A/A experiments the 95 % interval
of the relative difference must hold 0 about 95 % of the time; with a real difference the verdict must
point the right way most of the time and the wrong way almost never."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from loadtests.quality.experiments import METRICS, Outcomes, Report, VariantReport, compare, format_report, summarize
from loadtests.quality.stats import Z95, Estimate, lift, verdict

_SIMULATIONS = 400


def _arm(rng: np.random.Generator, shoppers: int, buy: float = 1.0, click: float = 1.0) -> Outcomes:
    """One arm's lists: 1 + NB(1, 0.25) lists per shopper (mean 4, a long tail), per-shopper click and buy
    propensities (Beta(0.8, 2) and Beta(0.3, 6): most shoppers almost never buy), per-shopper spend
    exp(N(3, 1.2)) times exp(N(0, 0.5)) per purchase; `buy`, `click`: the treatment's multipliers."""
    lists = 1 + rng.negative_binomial(1, 0.25, shoppers)
    clicks_p, buy_p = rng.beta(0.8, 2.0, shoppers), rng.beta(0.3, 6.0, shoppers)
    spend = np.exp(rng.normal(3.0, 1.2, shoppers))
    unit = np.repeat(np.arange(shoppers), lists)
    bought = rng.random(len(unit)) < np.minimum(buy_p[unit] * buy, 1.0)
    clicked = rng.random(len(unit)) < np.minimum(clicks_p[unit] * click, 1.0)
    revenue = np.where(bought, spend[unit] * np.exp(rng.normal(0.0, 0.5, len(unit))), 0.0)
    return Outcomes(unit.tolist(), clicked.astype(int).tolist(), bought.astype(int).tolist(), revenue.tolist())


def _experiments(seed: int, shoppers: int, buy: float = 1.0, click: float = 1.0) -> list[VariantReport]:
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(_SIMULATIONS):
        control = summarize("control", _arm(rng, shoppers // 2))
        results.append(compare(summarize("treatment", _arm(rng, shoppers // 2, buy, click)), control))
    return results


@pytest.mark.parametrize("shoppers", [300, 2000])
def test_in_aa_experiments_the_interval_holds_no_difference_about_95_percent_of_the_time(shoppers: int) -> None:
    results = _experiments(2026, shoppers)
    for metric in METRICS:
        lifts = [r.lifts[metric] for r in results if r.lifts is not None]
        assert len(lifts) == _SIMULATIONS
        covered = np.mean([change.low <= 0 <= change.high for change in lifts])
        assert 0.90 <= covered <= 0.99, (metric, covered)
        said = [line for r in results for line in r.verdicts if metric in line]
        assert np.mean([": no clear difference in " in line for line in said]) == pytest.approx(covered)


# The generator's true per-list means: E[propensity] (lists and propensities are independent), times the
# mean purchase value exp(3 + 1.2^2 / 2) exp(0.5^2 / 2) for revenue.
_TRUE = {"click-through": 0.8 / 2.8, "conversion": 0.3 / 6.3,
         "revenue per list": 0.3 / 6.3 * math.exp(3.0 + 1.2**2 / 2) * math.exp(0.5**2 / 2)}


@pytest.mark.parametrize("shoppers", [150, 1000])
def test_each_variants_interval_holds_its_true_value_about_95_percent_of_the_time(shoppers: int) -> None:
    rng = np.random.default_rng(5)
    held = {metric: 0 for metric in METRICS}
    for _ in range(_SIMULATIONS):
        r = summarize("a", _arm(rng, shoppers))
        for metric, e in zip(METRICS, (r.click_through, r.conversion, r.revenue_per_list), strict=True):
            held[metric] += e.low <= _TRUE[metric] <= e.high
    assert 0.90 <= held["click-through"] / _SIMULATIONS <= 0.99
    assert 0.90 <= held["conversion"] / _SIMULATIONS <= 0.99
    # A mean of few large baskets among many zeros: Hall's interval holds it 0.91 and 0.905 of the time here
    # (a normal one over units: 0.80 and 0.87; the per-list one before: 0.77 and 0.78).
    assert 0.88 <= held["revenue per list"] / _SIMULATIONS <= 0.99


def test_a_real_difference_gets_a_verdict_the_right_way() -> None:
    results = _experiments(12, 2000, buy=1.5, click=1.2)
    for metric, least in (("click-through", 0.8), ("conversion", 0.8), ("revenue per list", 0.25)):
        lifts = [r.lifts[metric] for r in results if r.lifts is not None]
        assert np.mean([change.low > 0 for change in lifts]) >= least, metric
        assert np.mean([change.high < 0 for change in lifts]) <= 0.01, metric
    said = [line for r in results for line in r.verdicts if "conversion" in line]
    assert np.mean([line.startswith("treatment +") for line in said]) >= 0.8


def test_one_shoppers_lists_count_as_one_unit() -> None:
    # The same 40 lists: 4 shoppers of 10 lists each (all bought or none) against 40 independent lists.
    flags = [1] * 20 + [0] * 20
    clustered = summarize("a", Outcomes([k // 10 for k in range(40)], flags, flags, [10.0 * f for f in flags]))
    independent = summarize("b", Outcomes(list(range(40)), flags, flags, [10.0 * f for f in flags]))
    assert clustered.conversion.value == independent.conversion.value == 0.5
    assert (clustered.conversion.n, independent.conversion.n) == (4, 40)
    assert clustered.conversion.variance == pytest.approx(10 * independent.conversion.variance * 39 / 30)
    width = clustered.revenue_per_list.high - clustered.revenue_per_list.low
    assert width > 3 * (independent.revenue_per_list.high - independent.revenue_per_list.low)


def _reported(value: float, low: float, high: float) -> Estimate:
    half = (high - low) / 2
    return Estimate(value, low, high, (half / Z95) ** 2, 100)


def test_the_reported_case_overlapping_intervals_is_no_clear_difference() -> None:
    # A new user's report: 510.94 [-27.31, 1049.18] (control) against 39.78 [-19.92, 99.49], and the
    # verdict "-92.2 %, 95 % CI -98.8 %…-51.3 %" from the log-ratio delta method.
    control, treatment = _reported(510.94, -27.31, 1049.18), _reported(39.78, -19.92, 99.49)
    change = lift(treatment, control)
    assert change.value == pytest.approx(-0.922, abs=5e-4)
    assert not change.significant and change.low <= 0 <= change.high and math.isinf(change.high)
    line = verdict("treatment", "revenue per list", change)
    assert line.startswith("treatment: no clear difference in revenue per list (-92.2 %, 95 % CI -100.0 %…+∞")
    assert "control's revenue per list is not told apart from 0" in line
    as_json = Report("x", "control", [VariantReport("treatment", 100, 0, control, control, treatment,
                                                    {"revenue per list": change}, (line,))], 0, 0).to_json()
    assert json.loads(json.dumps(as_json, allow_nan=False))["variants"][0]["lifts"]["revenue per list"] == {
        "value": pytest.approx(-0.922, abs=5e-4), "low": -1.0, "high": None}


def test_per_variant_revenue_interval_stays_at_or_above_zero() -> None:
    out = Outcomes([0, 1, 2, 3, 4], [0] * 5, [0, 0, 0, 0, 1], [0.0, 0.0, 0.0, 0.0, 500.0])
    report = summarize("a", out)
    assert report.revenue_per_list.low == 0.0 < report.revenue_per_list.value < report.revenue_per_list.high
    text = format_report(Report("x", "a", [report], 1, 0))
    assert "100.00 [0.00, " in text
