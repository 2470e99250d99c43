"""Vectorised building blocks of the demo store: column bundles, weighted group draws, stable hashes.

Part of :mod:`index_builder.demo`; nothing here knows about shops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Self

import numpy as np


class Columns:
    """Equal-length numpy columns of a dataclass that are filtered and stacked together."""

    def take(self, index: np.ndarray | slice) -> Self:
        return type(self)(**{f.name: getattr(self, f.name)[index] for f in fields(self)})  # type: ignore[arg-type]

    @classmethod
    def concat(cls, parts: Sequence[Self]) -> Self:
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        return cls(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})


class GroupSampler:
    """Draws a member of a group with probability proportional to its weight.

    Members are sorted by group once and their weights accumulated, so a draw for
    any mix of groups is a single vectorised ``searchsorted``. Groups must be non-empty.
    """

    def __init__(self, group: np.ndarray, weight: np.ndarray, n_groups: int) -> None:
        self._order = np.argsort(group, kind="stable")
        self._cum = np.cumsum(weight[self._order])
        bounds = np.searchsorted(group[self._order], np.arange(n_groups + 1))
        edges = np.concatenate(([0.0], self._cum))[bounds]
        self._first, self._last = bounds[:-1], bounds[1:] - 1
        self._base, self.mass = edges[:-1], np.diff(edges)

    def draw(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One member for each ``group`` entry; ``u`` holds uniforms in [0, 1)."""
        target = self._base[group] + u * self.mass[group]
        pos = np.searchsorted(self._cum, target, side="right")
        return self._order[np.clip(pos, self._first[group], self._last[group])]


def unit_hash(key: np.ndarray, salt: int) -> np.ndarray:
    """A fixed uniform in [0, 1) per key (splitmix64), so a user's favourite brand never changes."""
    z = key.astype(np.uint64) + np.uint64(salt) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
