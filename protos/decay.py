"""Popularity decay: the one rule by which an event's weight halves with its age, shared by the builder
(the popular, channel, segment and cell lists: `BuildParams.popularity_half_life_days`) and the live
store (the trending weights: `live.TRENDING_HALF_LIFE_MS`).

An event `age` before the instant it is judged at weighs 2^-(age / half_life) of a fresh one; an event
after that instant counts as of it. `decay` gives each event's weight relative to the newest one's
(in float64, shifted by the smallest exponent), so that a years-old log does not underflow: with a
14-day half-life an event three years old weighs 2^-78, and in float32 every item whose events were
that old used to tie at exactly 0; with the trending half-life of 6 hours, plain 2^-age reaches 0 after
nine months of silence. The shift scales every weight alike, so every order they give is unchanged.
`halving` is the absolute factor, for a single record updated in place (a TREND record).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DAY_MS", "halvings", "decay", "halving"]

DAY_MS = 86_400_000


def halvings(ts_ms: np.ndarray, reference_ms: int, half_life_days: float) -> np.ndarray:
    """Half-lives (float64) between each instant and `reference_ms`; 0 for an instant after it."""
    return np.maximum(reference_ms - np.asarray(ts_ms, dtype=np.int64), 0) / DAY_MS / half_life_days


def decay(ts_ms: np.ndarray, reference_ms: int, half_life_days: float) -> np.ndarray:
    """Each instant's decay weight as of `reference_ms`, relative to the newest (which weighs 1)."""
    exponent = halvings(ts_ms, reference_ms, half_life_days)
    return np.exp2((float(exponent.min()) if len(exponent) else 0.0) - exponent)


def halving(age_ms: float, half_life_ms: float) -> float:
    """The absolute factor 2^-(age / half_life) of one weight `age_ms` old (0 for a negative age)."""
    return float(2.0 ** (-max(age_ms, 0) / half_life_ms))
