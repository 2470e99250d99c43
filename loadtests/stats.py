"""Confidence intervals and verdicts for comparing experiment variants (pure functions).

- a rate (click-through, conversion): Wilson score interval;
- a mean per list (revenue): normal interval, standard error from the sample variance;
- relative lift of a variant over the control: the delta method on the log of the ratio of the two
  estimates, var(log x) ~ var(x) / x^2, so the interval exp(log ratio +- z se) - 1 is asymmetric, as a
  ratio's should be; significant when it excludes 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Z95", "Estimate", "Lift", "lift", "mean_estimate", "rate_estimate", "verdict", "wilson"]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A per-list metric of one variant: its value, 95 % interval, and the variance of the estimate."""

    value: float
    low: float
    high: float
    variance: float
    n: int


@dataclass(frozen=True)
class Lift:
    """A variant's relative difference to the control (0.041 = +4.1 %) with its 95 % interval; NaN where a
    side has nothing to compare (no lists, or a metric of 0)."""

    value: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return not math.isnan(self.low) and (self.low > 0 or self.high < 0)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion; (0, 1) for n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_estimate(successes: int, n: int) -> Estimate:
    p = successes / n if n else 0.0
    low, high = wilson(successes, n)
    return Estimate(p, low, high, p * (1 - p) / n if n else math.nan, n)


def mean_estimate(values: np.ndarray) -> Estimate:
    n = len(values)
    if n == 0:
        return Estimate(0.0, math.nan, math.nan, math.nan, 0)
    mean = float(values.mean())
    variance = float(values.var(ddof=1)) / n if n > 1 else math.nan
    half = Z95 * math.sqrt(variance) if not math.isnan(variance) else math.nan
    return Estimate(mean, mean - half, mean + half, variance, n)


def lift(treatment: Estimate, control: Estimate, z: float = Z95) -> Lift:
    """Relative lift treatment / control - 1 with its delta-method interval on the log ratio."""
    if treatment.value <= 0 or control.value <= 0 or math.isnan(treatment.variance) or math.isnan(control.variance):
        return Lift(math.nan, math.nan, math.nan)
    log_ratio = math.log(treatment.value / control.value)
    se = math.sqrt(treatment.variance / treatment.value**2 + control.variance / control.value**2)
    return Lift(math.expm1(log_ratio), math.expm1(log_ratio - z * se), math.expm1(log_ratio + z * se))


def _percent(x: float) -> str:
    return f"{x * 100:+.1f} %"


def verdict(variant: str, metric: str, change: Lift, control: str = "control") -> str:
    """One plain line: "treatment +4.1 % conversion, 95 % CI +1.2…+7.0 %" when the interval excludes 0."""
    if math.isnan(change.value):
        return f"{variant}: not enough data to compare {metric} with {control}"
    interval = f"95 % CI {_percent(change.low)}…{_percent(change.high)}"
    if change.significant:
        return f"{variant} {_percent(change.value)} {metric}, {interval}"
    return f"{variant}: no significant difference in {metric} ({_percent(change.value)}, {interval})"
