"""Ranking stages as pure functions over arrays."""

from __future__ import annotations

import numpy as np

from server.stages import member


def test_member_matches_isin_on_both_paths() -> None:
    rng = np.random.default_rng(0)
    for n_values, n_of in ((50, 0), (50, 7), (300, 200), (5000, 40)):
        values = rng.integers(0, 500, n_values)
        of = rng.integers(0, 500, n_of)
        assert (member(values, of) == np.isin(values, of)).all()
