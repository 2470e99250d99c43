"""Group caps: at most so many items of one group (a brand, a category) in the top n.

`cap_groups` is the one re-ranking primitive behind the diversity stage (server/diversity.py) and a
merchandiser's `cap` rule: each candidate carries a group code (-1 = never capped) and the most items
of its group allowed in the top n. Walking the kept candidates best first, the items of a group past
its limit are demoted below every other candidate, keeping their order among themselves (stable); they
still fill the answer when nothing else is left. A fixed number of array operations: one sort by
score, one stable sort by group, a rank within each group.
"""

from __future__ import annotations

import numpy as np

from server.stages import Candidates

__all__ = ["cap_groups", "group_ranks", "best_first", "past_limits", "demote"]


def group_ranks(groups: np.ndarray) -> np.ndarray:
    """Per entry (in the order given): how many earlier entries share its group."""
    if not len(groups):
        return np.zeros(0, dtype=np.int64)
    by_group = np.argsort(groups, kind="stable")
    sorted_groups = groups[by_group]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[by_group] = np.arange(len(groups)) - first
    return ranks


def best_first(c: Candidates) -> np.ndarray:
    """The indices of the kept candidates, best score first (ties in their order)."""
    order = np.flatnonzero(c.keep)
    return order[np.argsort(-c.scores[order], kind="stable")]


def past_limits(order: np.ndarray, groups: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Per entry of `order` (candidate indices, best first): whether its group already has its limit before it."""
    group = groups[order]
    return (group >= 0) & (group_ranks(group) >= limits[order])


def demote(c: Candidates, demoted: np.ndarray) -> Candidates:
    """`demoted` (candidate indices, in their order) scored below every other kept candidate, in that order."""
    kept = c.scores[c.keep]
    floor = float(kept.min()) if len(kept) else 0.0
    scores = c.scores.astype(np.float64)
    scores[demoted] = floor - 1.0 - np.arange(len(demoted)) / max(len(demoted), 1)
    return c.with_(scores=scores)


def cap_groups(c: Candidates, groups: np.ndarray, limits: np.ndarray, n: int) -> Candidates:
    """The candidates with every item past its group's limit demoted below all others (module docstring).

    `groups` and `limits` have one entry per candidate (limits may differ per candidate: the limit that
    counts for an item is its own). When the top n already keep every limit the candidates come back
    unchanged; else the demoted items get scores below the lowest kept one, in their order."""
    order = best_first(c)
    over = past_limits(order, groups, limits)
    if not over[:n].any():
        return c
    return demote(c, order[over])
