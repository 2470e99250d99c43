"""Customer lifetime value: how many more purchases (BG/NBD), how much each (Gamma-Gamma), what that is worth.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") models a customer as
buying at a Poisson rate, Gamma(r, alpha) across customers, and dropping out after any purchase
with probability p, Beta(a, b) across customers. It sees a customer only as (x, t_x, T):

  x    repeat purchase days (distinct purchase days - 1): several orders on one day are one purchase
  t_x  time from the first to the last purchase day
  T    time from the first purchase day to the end of the calibration period

in units of `unit_days` (7: weeks, as in the paper). Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM
and CLV: Using Iso-value Curves") models a customer's mean order value m over x repeat purchases,
shrunk towards the population mean by how many purchases back it. Both are fitted by maximum
likelihood on the published log-likelihoods (scipy L-BFGS-B over log-parameters, time or money
rescaled first so one set of bounds suits any unit or currency). The `lifetimes` package is not
used: unmaintained. Its CDNOW sample validates the fits (tests/index_builder/test_lifetime.py).

A fit returns None when the data cannot identify the model: fewer than two distinct customers
(none, one, or all alike), nobody repeating (BG/NBD), one order value for all (Gamma-Gamma), an
optimum at a bound of log-parameter +-12 (after rescaling) or an optimiser out of iterations.
There is no made-up prior to fall back on: without a BG/NBD fit a caller has no forecast (no
expected purchases, p_alive or CLV), and without a Gamma-Gamma fit the customer's own mean order
value is the best estimate of the next one. docs/segments.md has the formulas and the CDNOW numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import optimize, special

__all__ = ["RepeatSummary", "repeat_summary", "mean_repeat_value", "BgNbdParams", "fit_bgnbd", "bgnbd_log_likelihood",
           "expected_purchases", "p_alive", "GammaGammaParams", "fit_gamma_gamma", "expected_order_value", "clv"]

_DAY_MS = 86_400_000
# A Gamma-Gamma fit whose population mean order value exceeds the observed mean by more than this is refused.
MAX_MEAN_RATIO = 10.0
_BOUND = 12.0  # |log-parameter| of a fit on rescaled data; reaching it means the data do not identify it


class RepeatSummary(NamedTuple):
    """Per user code: repeat purchase days, recency and age in time units; `buyer` marks users who bought."""

    x: np.ndarray  # int64
    t_x: np.ndarray  # float64
    T: np.ndarray  # float64
    buyer: np.ndarray  # bool


def repeat_summary(user: np.ndarray, ts_ms: np.ndarray, n_users: int, *, end_ms: int,
                   unit_days: float) -> RepeatSummary:
    """(x, t_x, T, buyer) of purchase events (user code, epoch ms) up to end_ms, on UTC days.

    The calibration period ends on the UTC day of end_ms; purchases after end_ms are ignored. Users
    without a purchase have x = t_x = T = 0 and buyer False.
    """
    days = _purchase_days(user, ts_ms, end_ms)
    count = np.bincount(days.user, minlength=n_users)
    buyer = count > 0
    first_row = np.searchsorted(days.user, np.arange(n_users))[buyer]
    first, last = days.day[first_row], days.day[first_row + count[buyer] - 1]
    t_x, T = np.zeros(n_users), np.zeros(n_users)
    t_x[buyer] = (last - first) / unit_days
    T[buyer] = (end_ms // _DAY_MS - first) / unit_days
    return RepeatSummary(np.maximum(count - 1, 0).astype(np.int64), t_x, T, buyer)


def mean_repeat_value(user: np.ndarray, ts_ms: np.ndarray, amount: np.ndarray, n_users: int, *,
                      end_ms: int) -> np.ndarray:
    """Gamma-Gamma's m per user: the mean spend of their repeat purchase days up to end_ms (0 without any).

    A purchase day's spend is the sum of its lines, negative or non-finite amounts counting 0 as in
    RFM; the first purchase day is left out, as Fader & Hardie do (CDNOW's zbar).
    """
    days = _purchase_days(user, ts_ms, end_ms)
    paid = amount[ts_ms <= end_ms].astype(np.float64)[days.order]
    day_spend = np.bincount(days.row, weights=np.where(np.isfinite(paid) & (paid > 0), paid, 0.0),
                            minlength=len(days.user))
    count = np.bincount(days.user, minlength=n_users)
    repeat = count > 1
    first_row = np.searchsorted(days.user, np.arange(n_users))[repeat]
    total = np.bincount(days.user, weights=day_spend, minlength=n_users)[repeat]
    m = np.zeros(n_users)
    m[repeat] = (total - day_spend[first_row]) / (count[repeat] - 1)
    return m


class _PurchaseDays(NamedTuple):
    """The distinct (user, UTC day) pairs of purchases, sorted; `row` maps each sorted event to its pair."""

    user: np.ndarray
    day: np.ndarray
    order: np.ndarray  # the events up to end_ms, sorted by (user, day)
    row: np.ndarray


def _purchase_days(user: np.ndarray, ts_ms: np.ndarray, end_ms: int) -> _PurchaseDays:
    """One lexsort of the events up to end_ms by (user, day), then the starts of each pair."""
    keep = ts_ms <= end_ms
    u, day = user[keep].astype(np.int64), np.floor_divide(ts_ms[keep].astype(np.int64), _DAY_MS)
    order = np.lexsort((day, u))
    u, day = u[order], day[order]
    new = np.ones(len(u), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (day[1:] != day[:-1])
    return _PurchaseDays(user=u[new], day=day[new], order=order, row=np.cumsum(new) - 1)


@dataclass(frozen=True)
class BgNbdParams:
    """Purchase rate ~ Gamma(shape r, rate alpha [per time unit]); dropout probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


def _bgnbd_log_likelihood(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per customer: ln L = ln A1 + ln A2 + ln(A3 + [x > 0] A4), Fader, Hardie & Lee (2005) eq. 6."""
    r, alpha, a, b = np.exp(log_params)
    repeat = x > 0
    ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    ln_a2 = special.betaln(a, b + x) - special.betaln(a, b)
    ln_a3 = -(r + x) * np.log(alpha + T)
    ln_a4 = np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x)
    return ln_a1 + ln_a2 + np.where(repeat, np.logaddexp(ln_a3, ln_a4), ln_a3)


def bgnbd_log_likelihood(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood under `params`: their sum is the fit's LL (CDNOW: -9582.4)."""
    log_params = np.log([params.r, params.alpha, params.a, params.b])
    return _bgnbd_log_likelihood(log_params, *(np.asarray(v, dtype=np.float64) for v in (x, t_x, T)))


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, penalty: float = 0.0) -> BgNbdParams | None:
    """Maximum-likelihood BG/NBD parameters of the customers given, or None when not identified.

    Pass buyers only. `penalty` adds penalty * sum(log-parameter^2) (of time rescaled to max T = 10)
    to the mean negative log-likelihood, pulling a weakly identified fit towards 1.
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if not (x > 0).any():
        return None
    scale = 10.0 / T.max()
    theta = _fit(_bgnbd_log_likelihood, np.column_stack([x, t_x * scale, T * scale]), 4, penalty)
    if theta is None:
        return None
    r, alpha, a, b = np.exp(theta)
    return BgNbdParams(r=float(r), alpha=float(alpha / scale), a=float(a), b=float(b))


def _fit(log_likelihood: Callable[..., np.ndarray], rows: np.ndarray, n_params: int,
         penalty: float) -> np.ndarray | None:
    """Log-parameters maximising the penalised mean log-likelihood, over distinct rows weighted by count."""
    rows, weight = np.unique(rows, axis=0, return_counts=True)
    if len(rows) < 2:
        return None
    columns, weight = rows.T, weight / weight.sum()

    def loss(theta: np.ndarray) -> float:
        return float(-(weight @ log_likelihood(theta, *columns)) + penalty * (theta @ theta))

    result = optimize.minimize(loss, np.zeros(n_params), method="L-BFGS-B", bounds=[(-_BOUND, _BOUND)] * n_params)
    theta = np.asarray(result.x)
    # status 2 (no progress in the line search) is the usual end at the optimum of a flat likelihood
    if result.status == 1 or not np.isfinite(result.fun) or (np.abs(theta) > _BOUND - 1e-3).any():
        return None
    return theta


def p_alive(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(still a customer at T | x, t_x, T): 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    log_odds_dead = (np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0))
                     + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return np.where(repeat, special.expit(-log_odds_dead), 1.0)


def expected_purchases(params: BgNbdParams, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
    """E[purchases in the next t time units | x, t_x, T] (the paper's eq. 10): finite and >= 0.

    Eq. 10 is p_alive times what a customer still alive is expected to buy: (a+b+x-1)/(a-1)
    [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)], z = t / (alpha + T + t). The hypergeometric term is
    evaluated in its Euler-transformed form (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose
    parameters do not grow with x (the overflow of Fader & Hardie's note 027 on Excel's #NUM! error);
    at a = 1 the formula is 0/0 and a is moved 1e-6 off. scipy's hyp2f1 fails near z = 1 on some
    parameters (inf or NaN when b - r is an integer, silently wrong when x + r - a is): those cases,
    and any value not finite or outside its bounds [1 - (1 + s)^-(r+x), (r + x) s], s = t / (alpha + T),
    are computed by quadrature instead (`_alive_purchases_by_quadrature`).
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    r, alpha, b = params.r, params.alpha, params.b
    a = params.a if abs(params.a - 1.0) > 1e-6 else 1.0 + 1e-6
    s = np.broadcast_to(t / (alpha + T), np.broadcast(x, T, t).shape)
    x = np.broadcast_to(x, s.shape)
    z, c = s / (1.0 + s), a + b + x - 1.0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        tail = (1.0 - z) ** (a - 1.0) * special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        alive = c / (a - 1.0) * (1.0 - tail)
    low, high = -np.expm1(-(r + x) * np.log1p(s)), (r + x) * s
    degenerate = np.abs(x + r - a - np.round(x + r - a)) < 1e-6
    wrong = degenerate | ~((alive >= low * (1 - 1e-9)) & (alive <= high * (1 + 1e-9)))  # NaN included
    if wrong.any():
        alive[wrong] = _alive_purchases_by_quadrature(r, a, b, x[wrong], s[wrong])
    return np.maximum(alive, 0.0) * p_alive(params, x, t_x, T)


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(128)
_V = (_NODES + 1.0) / 2.0
_U, _U_WEIGHTS = _V**3, _WEIGHTS / 2.0 * 3.0 * _V**2  # u = v^3 crowds nodes where the Beta quantile is steep


def _alive_purchases_by_quadrature(r: float, a: float, b: float, x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """E over dropout p ~ Beta(a, b + x) of (1 - (1 + p s)^-(r+x)) / p: what a live customer buys.

    Given p, the purchase rate's posterior Gamma(r + x, alpha + T) gives the expected purchases before
    dropping out as that ratio. Integrated over the Beta quantile u (128-node Gauss-Legendre in
    u^(1/3)): relative error below 1e-5 for r, a in [0.05, 10], b in [0.05, 1000], x <= 1000, s <= 1e4.
    """
    p = special.betaincinv(a, b + x[:, None], _U)
    k = (r + x)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(p > 0, -np.expm1(-k * np.log1p(p * s[:, None])) / p, k * s[:, None])
    return np.asarray(g @ _U_WEIGHTS)


@dataclass(frozen=True)
class GammaGammaParams:
    """Order value ~ Gamma(p, nu) per customer, nu ~ Gamma(q, v) across customers (v in money units)."""

    p: float
    q: float
    v: float


def _gamma_gamma_log_likelihood(log_params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per customer: ln f(m | p, q, v, x) of the mean m of x order values; log_params = ln p, ln(q - 1), ln v."""
    p, q, v = np.exp(log_params[0]), 1.0 + np.exp(log_params[1]), np.exp(log_params[2])
    px = p * x
    return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
            + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + m * x))


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray, *, penalty: float = 0.0) -> GammaGammaParams | None:
    """Maximum-likelihood Gamma-Gamma parameters from customers with x > 0 repeat purchases of mean value m > 0.

    Other customers are left out of the fit. Fader & Hardie's m is the mean of the x repeat orders
    (the first order left out), as in the CDNOW summary. q is kept above 1, where the population mean order
    value p v / (q - 1) exists. None when not identified (see the module docstring); `penalty` as
    in `fit_bgnbd`, over ln p, ln(q - 1) and ln v of money rescaled to a mean m of 1.
    """
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    use = (x > 0) & (m > 0) & np.isfinite(m)
    x, m = x[use], m[use]
    if len(m) == 0 or m.min() == m.max():
        return None
    scale = 1.0 / m.mean()
    theta = _fit(_gamma_gamma_log_likelihood, np.column_stack([x, m * scale]), 3, penalty)
    if theta is None:
        return None
    params = GammaGammaParams(p=float(np.exp(theta[0])), q=float(1.0 + np.exp(theta[1])),
                              v=float(np.exp(theta[2]) / scale))
    # q at 1 puts the population mean at infinity: spends too dispersed (or not gamma-shaped) for the
    # model to say anything about a customer without repeat orders. Such a fit is not used.
    if params.p * params.v / (params.q - 1.0) > MAX_MEAN_RATIO * float(m.mean()):
        return None
    return params


def expected_order_value(params: GammaGammaParams, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[order value | x, m] = p (v + x m) / (p x + q - 1): the population mean p v / (q - 1) at x = 0.

    A weighted mean of the population mean and the customer's own m, the weight on m growing with x.
    m is ignored where x = 0 and counts as 0 where negative or not finite.
    """
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    own = np.where((x > 0) & np.isfinite(m) & (m > 0), m, 0.0)
    p, q, v = params.p, params.q, params.v
    return p * (v + x * own) / (p * x + q - 1.0)


def clv(expected_purchases: np.ndarray, expected_value: np.ndarray, *, margin: float, annual_discount: float,
        horizon_days: float) -> np.ndarray:
    """Customer value over the horizon: purchases x order value x margin / (1 + annual_discount)^(horizon / 365).

    The horizon's margin is discounted once, as if earned at its end: a slight underestimate next to
    discounting each purchase, and no purchase dates to forecast. Non-finite or negative inputs count as 0.
    """
    if not 0.0 <= margin <= 1.0:
        raise ValueError(f"margin must be in [0, 1], got {margin}")
    if not annual_discount > -1.0:
        raise ValueError(f"annual_discount must be > -1, got {annual_discount}")
    if not horizon_days >= 0.0:
        raise ValueError(f"horizon_days must be >= 0, got {horizon_days}")
    n, value = (np.asarray(v, dtype=np.float64) for v in (expected_purchases, expected_value))
    n = np.where(np.isfinite(n) & (n > 0), n, 0.0)
    value = np.where(np.isfinite(value) & (value > 0), value, 0.0)
    return n * value * margin / (1.0 + annual_discount) ** (horizon_days / 365.0)
