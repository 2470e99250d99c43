"""Confidence intervals and verdicts for comparing experiment variants (pure functions).

The experiment's unit is the shopper (the assignment's unit): one shopper's lists are correlated, so
every metric is a ratio of per-unit sums — lists clicked / lists shown, revenue / lists shown — and its
variance is the cluster-robust (delta-method) one over units, never the per-list one:

  R = sum(y_u) / sum(l_u),   var(R) ~ sum((y_u - R l_u)^2) / (n (n - 1) mean(l)^2)

(with one list per unit this is the sample variance over n). Then:

- a rate (click-through, conversion): the Wilson score interval at the effective sample size
  R (1 - R) / var(R) (the lists over the design effect, at most the lists shown); a rate of 0 or 1
  has no spread to measure, so Wilson over the units, and the variance that interval implies;
- a mean per list (revenue): Hall's skewness-corrected interval (revenue is a few large baskets among
  many zeros: a normal interval misses high), cut at 0 (revenue is never negative);
- the relative difference of a variant to the control, ratio - 1: Fieller's interval, the set of ratios
  r with (t - r c)^2 <= z^2 (var t + r^2 var c). It holds 1 exactly when the difference t - c is not
  significant, so the verdict and the interval cannot disagree, and it is unbounded when the control's
  own value is not distinguishable from 0 (there is then nothing to divide by). The log-ratio delta
  method it replaces claimed -92 % [-98.8, -51.3] for two means whose intervals both reached below 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Z95", "Estimate", "Lift", "lift", "mean_estimate", "rate_estimate", "ratio_estimate", "verdict",
           "wilson"]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A per-list metric of one variant: its value, 95 % interval, the variance of the estimate and the
    number of units (shoppers) it rests on."""

    value: float
    low: float
    high: float
    variance: float
    n: int


@dataclass(frozen=True)
class Lift:
    """A variant's relative difference to the control (0.041 = +4.1 %) with its 95 % interval (high may be
    +inf: unbounded); NaN where a side has nothing to compare (no lists, or a control of 0)."""

    value: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return not math.isnan(self.low) and (self.low > 0 or self.high < 0)


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (n may be an effective, fractional size);
    (0, 1) for n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, float, float, int]:
    """sum(y) / sum(l) over units, its cluster-robust variance (NaN below two units) and the skewness of
    the units' linearised values (y - R l) / mean(l), whose mean over units the ratio moves like."""
    n = len(denominator)
    total = float(denominator.sum())
    if n == 0 or total <= 0:
        return 0.0, math.nan, 0.0, n
    ratio = float(numerator.sum()) / total
    if n < 2:
        return ratio, math.nan, 0.0, n
    residual = (numerator - ratio * denominator) / (total / n)
    second = float(residual @ residual) / n
    skew = float(np.mean(residual**3)) / second**1.5 if second > 0 else 0.0
    return ratio, second / (n - 1), skew, n


def _hall(value: float, variance: float, skew: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Hall's (1992) skewness-corrected interval for a mean: the studentised T = (mean - mu) / se is
    mapped by the monotone g(T) = T + skew / (6 sqrt n) + skew T^2 / (3 sqrt n) + skew^2 T^3 / (27 n),
    which is about normal; the interval inverts g at -z and z. Right-skewed values (revenue: many
    zeros, a few large baskets) get an interval reaching further up than down."""
    se = math.sqrt(variance)
    a, shift = skew / (3 * math.sqrt(n)), skew / (6 * math.sqrt(n))

    def inverse(x: float) -> float:
        return x - shift if a == 0 else (float(np.cbrt(1 + 3 * a * (x - shift))) - 1) / a

    return value - se * inverse(z), value - se * inverse(-z)


def ratio_estimate(numerator: np.ndarray, denominator: np.ndarray, rate: bool) -> Estimate:
    """sum(numerator) / sum(denominator), one entry per unit (numerator: lists clicked, or revenue;
    denominator: lists shown), with its 95 % interval: Wilson at the effective size for a rate, Hall's
    skewness-corrected one cut at 0 for a mean."""
    value, variance, skew, n = _ratio(np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float))
    if math.isnan(variance):
        low, high = wilson(value, 1.0) if rate and n else (math.nan, math.nan)
        return Estimate(value, low, high, variance, n)
    if rate:
        lists = float(np.sum(denominator))
        spread = value * (1 - value)
        if variance > 0 and spread > 0:
            low, high = wilson(value * min(lists, spread / variance), min(lists, spread / variance))
            return Estimate(value, low, high, variance, n)
        # No spread to measure (a rate of 0 or 1): Wilson over the units, and the variance its width implies.
        low, high = wilson(value * n, n)
        return Estimate(value, low, high, ((high - low) / (2 * Z95)) ** 2, n)
    low, high = _hall(value, variance, skew, n)
    return Estimate(value, max(0.0, low), high, variance, n)


def rate_estimate(successes: int, n: int) -> Estimate:
    """A rate over n independent units (one list each)."""
    flags = np.zeros(n)
    flags[:successes] = 1.0
    return ratio_estimate(flags, np.ones(n), rate=True)


def mean_estimate(values: np.ndarray) -> Estimate:
    """A mean over independent units (one list each)."""
    return ratio_estimate(values, np.ones(len(values)), rate=False)


def _fieller(t: float, vt: float, c: float, vc: float, z: float) -> tuple[float, float]:
    """The hull of Fieller's set of ratios t / c over r >= 0 (both metrics are non-negative)."""
    a = c * c - z * z * vc
    half_disc = z * z * (vc * t * t + vt * a)  # (b^2 - 4ac) / 4 with b = -2tc
    if a > 0:
        root = math.sqrt(max(half_disc, 0.0))
        return max(0.0, (t * c - root) / a), (t * c + root) / a
    if a < 0 and half_disc > 0:  # outside the two roots: (-inf, lo] and [hi, +inf)
        root = math.sqrt(half_disc)
        lo, hi = sorted(((t * c - root) / a, (t * c + root) / a))
        return (max(hi, 0.0), math.inf) if lo < 0 else (0.0, math.inf)
    return 0.0, math.inf  # the control's value is not told apart from 0: every ratio is possible


def lift(treatment: Estimate, control: Estimate, z: float = Z95) -> Lift:
    """Relative difference treatment / control - 1 with Fieller's 95 % interval."""
    if treatment.value < 0 or control.value <= 0 or not treatment.variance > 0 or not control.variance > 0:
        return Lift(math.nan, math.nan, math.nan)  # no lists, a control of 0, or a side with no spread at all
    low, high = _fieller(treatment.value, treatment.variance, control.value, control.variance, z)
    return Lift(treatment.value / control.value - 1, low - 1, high - 1)


def _percent(x: float) -> str:
    return "+∞" if math.isinf(x) else f"{x * 100:+.1f} %"


def verdict(variant: str, metric: str, change: Lift, control: str = "control") -> str:
    """One plain line: "treatment +4.1 % conversion, 95 % CI +1.2 %…+7.0 %" when the interval excludes 0,
    "no clear difference" when it holds 0."""
    if math.isnan(change.value):
        return f"{variant}: not enough data to compare {metric} with {control}"
    interval = f"95 % CI {_percent(change.low)}…{_percent(change.high)}"
    if change.significant:
        return f"{variant} {_percent(change.value)} {metric}, {interval}"
    why = f": {control}'s {metric} is not told apart from 0" if math.isinf(change.high) else ""
    return f"{variant}: no clear difference in {metric} ({_percent(change.value)}, {interval}{why})"
