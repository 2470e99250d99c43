"""The one popularity decay (protos/decay.py): halving per half-life, an event after the reference counts
as of it, and weights relative to the newest so a years-old log (or an idle trending record) does not
underflow to a tie at 0."""

from __future__ import annotations

import numpy as np

from protos import live
from protos.decay import DAY_MS, decay, halving

_REF = 1_777_680_000_000


def test_decay_halves_every_half_life_relative_to_the_newest() -> None:
    ts = np.array([_REF, _REF - 14 * DAY_MS, _REF - 28 * DAY_MS, _REF + DAY_MS], dtype=np.int64)
    assert decay(ts, _REF, 14.0).tolist() == [1.0, 0.5, 0.25, 1.0]
    # Relative to the newest: a log whose last event is a half-life old gives that event weight 1.
    assert decay(ts[1:3], _REF, 14.0).tolist() == [1.0, 0.5]
    assert decay(np.zeros(0, dtype=np.int64), _REF, 14.0).tolist() == []


def test_a_years_old_log_keeps_its_order() -> None:
    """Fifty years before the reference with a 14-day half-life: absolute factors below 2^-1074
    are 0, the relative ones keep every ratio."""
    years = np.array([50, 50.0 + 14 / 365, 51], dtype=np.float64)
    ts = (_REF - years * 365 * DAY_MS).astype(np.int64)
    assert halving(float(_REF - ts[0]), 14.0 * DAY_MS) == 0.0  # what a plain 2^-age gives
    weights = decay(ts, _REF, 14.0)
    assert weights[0] == 1.0 and abs(weights[1] - 0.5) < 1e-6 and weights[0] > weights[1] > weights[2] >= 0


def test_halving_is_the_absolute_factor() -> None:
    assert halving(0, 10.0) == 1.0 and halving(10.0, 10.0) == 0.5 and halving(-5, 10.0) == 1.0


def test_idle_trending_records_rank_by_weight_not_tie_at_zero() -> None:
    """A year without events at a 6-hour half-life is ~1,460 halvings: `trend_now` is 0 for both records,
    `rank_trends` still puts the heavier first, and a fresh record first of all."""
    year = 365 * DAY_MS
    heavy, light = live.add_trend(None, 5.0, _REF - year), live.add_trend(None, 1.0, _REF - year)
    assert live.trend_now(heavy, _REF) == live.trend_now(light, _REF) == 0.0
    scores, at = zip(live.unpack_trend(heavy), live.unpack_trend(light), strict=True)
    ranked = live.rank_trends(np.array(scores), np.array(at, dtype=np.int64), _REF)
    assert ranked.tolist() == [5.0, 1.0]
    fresh = live.rank_trends(np.array([5.0, 0.001]), np.array([_REF - year, _REF]), _REF)
    assert fresh[1] > fresh[0]


def test_add_trend_decays_the_older_weight_to_the_newer_time() -> None:
    half = live.TRENDING_HALF_LIFE_MS
    record = live.add_trend(live.add_trend(None, 4.0, _REF), 2.0, _REF + half)
    assert live.unpack_trend(record) == (4.0 * 0.5 + 2.0, _REF + half)
    late = live.add_trend(record, 8.0, _REF)  # an older event adds its weight decayed to the record's time
    assert live.unpack_trend(late) == (4.0 + 8.0 * 0.5, _REF + half)
