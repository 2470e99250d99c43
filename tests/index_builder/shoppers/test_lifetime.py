"""BG/NBD, Gamma-Gamma and CLV: hand-made summaries, sanity of the forecasts, and the published CDNOW fits.

The CDNOW sample (2,357 customers of the 1997 first-quarter cohort, purchases to June 1998) ships in
the `lifetimes` package, installed by `make install` for its data and never imported.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from index_builder.shoppers.lifetime import (
    BgNbdParams,
    GammaGammaParams,
    RepeatSummary,
    bgnbd_log_likelihood,
    clv,
    expected_order_value,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    mean_repeat_value,
    p_alive,
    repeat_summary,
)

DAY = 86_400_000
CDNOW_PARAMS = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)  # Fader, Hardie & Lee (2005), table 1


def cdnow() -> Path:
    """The datasets folder of lifetimes, found without importing the package."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lifetimes (CDNOW data) is not installed: make install, or in an older .venv "
                    ".venv/bin/pip install --no-deps lifetimes")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


@cache
def cdnow_calibration() -> tuple[RepeatSummary, np.ndarray, np.ndarray]:
    """Tailor's (x, t_x, T) in weeks and m of the raw CDNOW purchases to 1997-09-30; the shipped summary."""
    raw = np.loadtxt(cdnow() / "CDNOW_sample.txt")  # id, id in sample, YYYYMMDD, CDs, dollars
    ymd = raw[:, 2].astype(np.int64)
    dates = np.array([f"{d // 10000}-{d // 100 % 100:02d}-{d % 100:02d}" for d in ymd], dtype="datetime64[D]")
    ts_ms = dates.astype(np.int64) * DAY
    end_ms = int(np.datetime64("1997-09-30", "D").astype(np.int64)) * DAY
    user = raw[:, 1].astype(np.int64) - 1
    n_users = int(user.max()) + 1
    summary = repeat_summary(user, ts_ms, n_users, end_ms=end_ms, unit_days=7)
    m = mean_repeat_value(user, ts_ms, raw[:, 4], n_users, end_ms=end_ms)
    # ID, x, t_x, T, zbar (the mean of the repeat transactions), each rounded to 2 decimals
    shipped = np.loadtxt(cdnow() / "cdnow_customers_summary_with_transactions.csv", delimiter=",", skiprows=1)
    return summary, m, shipped


def test_repeat_summary_by_hand() -> None:
    log = [  # (user, day)
        (0, 10.0), (0, 10.9), (0, 3.5), (0, 17.2),  # days 3, 10, 17: two repeats; same-day orders are one
        (1, 5.99), (1, 6.01),  # either side of midnight UTC: two days
        (2, 30.0),  # after the end: ignored
        (3, 21.0),  # one purchase on the end day
    ]
    user, day = (np.array(column) for column in zip(*log, strict=True))
    ts_ms = (day * DAY).astype(np.int64)
    s = repeat_summary(user, ts_ms, 5, end_ms=21 * DAY + 5, unit_days=7)
    assert s.buyer.tolist() == [True, True, False, True, False]
    assert s.x.tolist() == [2, 1, 0, 0, 0]
    assert s.t_x.tolist() == [2.0, 1 / 7, 0.0, 0.0, 0.0]
    assert s.T.tolist() == [18 / 7, 16 / 7, 0.0, 0.0, 0.0]
    days = repeat_summary(user, ts_ms, 5, end_ms=21 * DAY, unit_days=1)
    assert days.t_x.tolist() == [14.0, 1.0, 0.0, 0.0, 0.0] and days.T.tolist() == [18.0, 16.0, 0.0, 0.0, 0.0]
    amount = np.array([4.0, 6.0, 100.0, -3.0, 1.0, 2.0, 9.0, 5.0])
    # user 0: day 3 (first, left out), day 10 = 4 + 6, day 17 = 0 (a refund counts 0); user 1: day 6 = 2
    assert mean_repeat_value(user, ts_ms, amount, 5, end_ms=21 * DAY).tolist() == [5.0, 2.0, 0.0, 0.0, 0.0]


def test_cdnow_summary_matches_the_shipped_one() -> None:
    summary, m, shipped = cdnow_calibration()
    assert len(summary.x) == 2357 and summary.buyer.all()
    assert summary.x.tolist() == shipped[:, 1].astype(np.int64).tolist()
    np.testing.assert_allclose(summary.t_x, shipped[:, 2], atol=0.005)
    np.testing.assert_allclose(summary.T, shipped[:, 3], atol=0.005)
    np.testing.assert_allclose(m, shipped[:, 4], atol=0.005)


def test_cdnow_bgnbd_fit_is_the_published_one() -> None:
    summary, _, _ = cdnow_calibration()
    params = fit_bgnbd(summary.x, summary.t_x, summary.T)
    assert params is not None
    assert params.r == pytest.approx(0.243, abs=0.005)
    assert params.alpha == pytest.approx(4.414, abs=0.005)
    assert params.a == pytest.approx(0.793, abs=0.005)
    assert params.b == pytest.approx(2.426, abs=0.005)
    ll = bgnbd_log_likelihood(params, summary.x, summary.t_x, summary.T).sum()
    assert ll == pytest.approx(-9582.4, abs=0.05)  # the paper's LL


def test_cdnow_gamma_gamma_fit_is_the_published_one() -> None:
    summary, m, shipped = cdnow_calibration()
    x, zbar = shipped[:, 1], shipped[:, 4]
    params = fit_gamma_gamma(x, zbar)
    assert params is not None
    assert (params.p, params.q, params.v) == pytest.approx((6.25, 3.74, 15.44), abs=0.05)
    # lifetimes' documented conditional expected order values of customers 1-3 (x = 2, 1, 0)
    assert expected_order_value(params, x[:3], zbar[:3]) == pytest.approx([24.66, 18.91, 35.17], abs=0.01)
    own = fit_gamma_gamma(summary.x, m)  # from Tailor's m of the raw purchases: the same fit
    assert own is not None and (own.p, own.q, own.v) == pytest.approx((params.p, params.q, params.v), rel=2e-3)


def eq10(p: BgNbdParams, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The paper's eq. 10 as printed (no Euler transformation)."""
    z = t / (p.alpha + T + t)
    hyp = ((p.alpha + T) / (p.alpha + T + t)) ** (p.r + x) * special.hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, z)
    alive = 1 + (x > 0) * p.a / (p.b + x - 1) * ((p.alpha + T) / (p.alpha + t_x)) ** (p.r + x)
    return np.asarray((p.a + p.b + x - 1) / (p.a - 1) * (1 - hyp) / alive)


def test_expected_purchases_is_eq10_on_cdnow() -> None:
    summary, _, _ = cdnow_calibration()
    for t in (1.0, 39.0, 52.0):
        expected = expected_purchases(CDNOW_PARAMS, t, summary.x, summary.t_x, summary.T)
        np.testing.assert_allclose(expected, eq10(CDNOW_PARAMS, t, summary.x, summary.t_x, summary.T), rtol=1e-9)


def test_a_new_customers_forecast_is_the_unconditional_eq9() -> None:
    p, t = CDNOW_PARAMS, np.array([0.5, 10.0, 78.0])
    eq9 = (p.a + p.b - 1) / (p.a - 1) * (1 - (p.alpha / (p.alpha + t)) ** p.r
                                         * special.hyp2f1(p.r, p.b, p.a + p.b - 1, t / (p.alpha + t)))
    zero = np.zeros(3)
    np.testing.assert_allclose(expected_purchases(p, t, zero, zero, zero), eq9, rtol=1e-9)


def test_forecasts_are_finite_and_sane() -> None:
    x = np.array([0, 0, 1, 1, 5, 5, 40, 1000])
    t_x = np.array([0.0, 0.0, 1.0, 30.0, 10.0, 39.0, 38.0, 39.0])
    T = np.array([0.0, 39.0, 39.0, 39.0, 39.0, 39.0, 39.0, 39.0])
    alive = p_alive(CDNOW_PARAMS, x, t_x, T)
    assert ((alive >= 0) & (alive <= 1)).all() and alive[:2].tolist() == [1.0, 1.0]
    assert alive[3] > alive[2] and alive[5] > alive[4]  # a later last purchase, same x and T: likelier alive
    soon, later = (expected_purchases(CDNOW_PARAMS, t, x, t_x, T) for t in (10.0, 52.0))
    assert np.isfinite(later).all() and (soon >= 0).all() and (later > soon).all()
    assert later[3] > later[2] and later[5] > later[4]
    assert expected_purchases(CDNOW_PARAMS, 0.0, x, t_x, T).tolist() == [0.0] * 8


@pytest.mark.parametrize("params", [
    BgNbdParams(r=0.5, alpha=2.0, a=1.0, b=3.0),  # a = 1: eq. 10 is 0/0
    BgNbdParams(r=0.5, alpha=1e-3, a=0.5, b=0.5),  # b = r: scipy's hyp2f1 is inf near z = 1
    BgNbdParams(r=0.3, alpha=1e-3, a=1.3, b=50.0),  # x + r - a integer: scipy's hyp2f1 is wrong near z = 1
    BgNbdParams(r=1.0, alpha=1e-3, a=0.8, b=200.0),  # scipy's hyp2f1 is NaN near z = 1
    BgNbdParams(r=30.0, alpha=50.0, a=0.2, b=0.8),  # a + b = 1: eq. 10 is 0/0 at x = 0
])
def test_hard_parameters_give_the_continuous_limit(params: BgNbdParams) -> None:
    x, t_x, T = np.array([0, 1, 3, 0]), np.array([0.0, 0.5, 1.0, 0.0]), np.array([0.0, 1.0, 2.0, 3.0])
    nearby = BgNbdParams(r=params.r * (1 + 1e-5), alpha=params.alpha, a=params.a * (1 + 1e-5), b=params.b * (1 - 1e-5))
    for t in (1.0, 10.0, 52.0):
        value = expected_purchases(params, t, x, t_x, T)
        assert np.isfinite(value).all() and (value > 0).all()
        np.testing.assert_allclose(value, expected_purchases(nearby, t, x, t_x, T), rtol=1e-3)


def test_degenerate_data_fit_nothing() -> None:
    a = np.array
    none = np.zeros(0)
    assert fit_bgnbd(none, none, none) is None
    assert fit_bgnbd(a([2]), a([3.0]), a([5.0])) is None  # one buyer
    assert fit_bgnbd(a([0, 0, 0]), a([0.0, 0.0, 0.0]), a([5.0, 4.0, 3.0])) is None  # nobody repeats
    assert fit_bgnbd(a([1, 1, 1]), a([2.0, 2.0, 2.0]), a([5.0, 5.0, 5.0])) is None  # all alike
    assert fit_gamma_gamma(none, none) is None
    assert fit_gamma_gamma(a([0, 0, 3]), a([10.0, 20.0, 30.0])) is None  # one repeat buyer
    assert fit_gamma_gamma(a([1, 2, 3]), a([25.0, 25.0, 25.0])) is None  # one order value
    assert fit_gamma_gamma(a([1, 2, 0]), a([-1.0, 0.0, 5.0])) is None  # no usable mean


def test_a_small_fit_is_finite() -> None:
    params = fit_bgnbd(np.array([0, 1, 2, 5, 0, 3]), np.array([0.0, 2.0, 3.0, 4.0, 0.0, 1.0]),
                       np.array([5.0, 5.0, 6.0, 5.0, 2.0, 8.0]))
    assert params is not None
    assert np.isfinite([params.r, params.alpha, params.a, params.b]).all()
    forecast = expected_purchases(params, 52.0, np.array([0, 5]), np.array([0.0, 4.0]), np.array([5.0, 5.0]))
    assert np.isfinite(forecast).all() and (forecast >= 0).all()


def test_expected_order_value_shrinks_towards_the_population_mean() -> None:
    params = GammaGammaParams(p=6.0, q=4.0, v=15.0)
    population = 6.0 * 15.0 / 3.0
    values = expected_order_value(params, np.array([0, 0, 1, 10, 10_000]), np.array([np.nan, 99.0, 50.0, 50.0, 50.0]))
    assert values[:2].tolist() == [population, population]  # m is ignored without repeat purchases
    assert values[2] == pytest.approx(6.0 * (15.0 + 50.0) / (6.0 + 3.0))
    assert population < values[2] < values[3] < values[4] < 50.0 and values[4] == pytest.approx(50.0, rel=1e-3)


def test_clv_by_hand() -> None:
    value = clv(np.array([2.0, 0.0, -1.0, np.nan, 1.0]), np.array([50.0, 50.0, 50.0, 50.0, np.inf]), margin=0.3,
                annual_discount=0.1, horizon_days=365)
    assert value.tolist() == pytest.approx([2 * 50 * 0.3 / 1.1, 0.0, 0.0, 0.0, 0.0])
    half = clv(np.array([1.0]), np.array([100.0]), margin=1.0, annual_discount=0.21, horizon_days=182.5)
    assert half.tolist() == pytest.approx([100 / 1.1])


@pytest.mark.parametrize(("setting", "message"), [({"margin": 1.5}, "margin"), ({"annual_discount": -1.0}, "discount"),
                                                  ({"horizon_days": -1.0}, "horizon_days")])
def test_clv_settings_are_checked(setting: dict[str, float], message: str) -> None:
    kwargs = {"margin": 0.3, "annual_discount": 0.1, "horizon_days": 365.0} | setting
    with pytest.raises(ValueError, match=message):
        clv(np.ones(1), np.ones(1), **kwargs)
