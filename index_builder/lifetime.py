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

A fit returns None when the data cannot identify the model: fewer than two customers, nobody
repeating (BG/NBD), fewer than two repeat customers or one order value for all (Gamma-Gamma), or an
optimum at a bound of log-parameter +-12 (after rescaling). Without a model the builder publishes no
forecast: expected purchases, p_alive and CLV are absent, and the RFM monetary average stands for
the order value. docs/segments.md has the formulas and the CDNOW numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import optimize, special

__all__ = ["RepeatSummary", "repeat_summary", "BgNbdParams", "fit_bgnbd", "expected_purchases", "p_alive",
           "GammaGammaParams", "fit_gamma_gamma", "expected_order_value", "clv"]

_DAY_MS = 86_400_000
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
    keep = ts_ms <= end_ms
    u, day = user[keep].astype(np.int64), np.floor_divide(ts_ms[keep].astype(np.int64), _DAY_MS)
    order = np.lexsort((day, u))
    u, day = u[order], day[order]
    new = np.ones(len(u), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (day[1:] != day[:-1])
    u, day = u[new], day[new]
    days = np.bincount(u, minlength=n_users)
    buyer = days > 0
    first_row = np.searchsorted(u, np.arange(n_users))[buyer]
    first, last = day[first_row], day[first_row + days[buyer] - 1]
    t_x, T = np.zeros(n_users), np.zeros(n_users)
    t_x[buyer] = (last - first) / unit_days
    T[buyer] = (end_ms // _DAY_MS - first) / unit_days
    return RepeatSummary(np.maximum(days - 1, 0).astype(np.int64), t_x, T, buyer)


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


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, penalty: float = 0.0) -> BgNbdParams | None:
    """Maximum-likelihood BG/NBD parameters of the customers given, or None when not identified.

    Pass buyers only. `penalty` adds penalty * sum(log-parameter^2) (of time rescaled to max T = 10)
    to the mean negative log-likelihood, pulling a weakly identified fit towards 1.
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if len(x) < 2 or not (x > 0).any():
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
    columns, weight = rows.T, weight / weight.sum()

    def loss(theta: np.ndarray) -> float:
        return float(-(weight @ log_likelihood(theta, *columns)) + penalty * (theta @ theta))

    result = optimize.minimize(loss, np.zeros(n_params), method="L-BFGS-B", bounds=[(-_BOUND, _BOUND)] * n_params)
    theta = result.x
    if not (result.success and np.isfinite(result.fun) and (np.abs(theta) < _BOUND - 1e-3).all()):
        return None
    return np.asarray(theta)


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

    Eq. 10's (1 - z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z), z = t / (alpha + T + t), is evaluated in its
    Euler-transformed form (1 - z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose parameters do not grow
    with x; the denominator of eq. 10 is 1 / p_alive. At a = 1 the formula is 0/0: a is moved 1e-6 off.
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    r, alpha, b = params.r, params.alpha, params.b
    a = params.a if abs(params.a - 1.0) > 1e-6 else 1.0 + 1e-6
    z = t / (alpha + T + t)
    tail = (1.0 - z) ** (a - 1.0) * special.hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    expected = (a + b + x - 1.0) / (a - 1.0) * (1.0 - tail) * p_alive(params, x, t_x, T)
    return np.maximum(expected, 0.0)


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

    Other customers are left out of the fit. q is kept above 1, where the population mean order
    value p v / (q - 1) exists. None when not identified (see the module docstring); `penalty` as
    in `fit_bgnbd`, over ln p, ln(q - 1) and ln v of money rescaled to a mean m of 1.
    """
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    use = (x > 0) & (m > 0) & np.isfinite(m)
    x, m = x[use], m[use]
    if len(m) < 2 or m.min() == m.max():
        return None
    scale = 1.0 / m.mean()
    theta = _fit(_gamma_gamma_log_likelihood, np.column_stack([x, m * scale]), 3, penalty)
    if theta is None:
        return None
    return GammaGammaParams(p=float(np.exp(theta[0])), q=float(1.0 + np.exp(theta[1])),
                            v=float(np.exp(theta[2]) / scale))


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
