"""Group caps: at most k candidates of one group (a brand, a category) in the top n.

`cap_groups` is the one re-ranking step behind merchandising `cap` rules (server/rules.py) and
per-brand diversity: each candidate has a group code (-1 = never capped) and its group's limit;
walking the kept candidates best first, those beyond their group's limit are demoted below every
other candidate (their relative order kept), so the top n holds at most `limit` of each group
whenever there are enough others. A fixed number of array operations: a stable sort by group
gives each candidate its rank within its group.
"""

from __future__ import annotations

import numpy as np

from server.stages import Candidates

__all__ = ["cap_groups"]


def _rank_in_group(groups: np.ndarray) -> np.ndarray:
    """Per entry (given best first): how many entries of its group come before it."""
    by_group = np.argsort(groups, kind="stable")
    sorted_groups = groups[by_group]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    run = np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[by_group] = np.arange(len(groups)) - run
    return ranks


def cap_groups(c: Candidates, groups: np.ndarray, limits: np.ndarray, n: int) -> Candidates:
    """Demote the candidates beyond their group's limit (per candidate: `groups` code, -1 = never
    capped, and `limits` the most of that group allowed in the top `n`) below all others."""
    kept = np.flatnonzero(c.keep)
    if not len(kept) or not (groups[kept] >= 0).any():
        return c
    order = kept[np.argsort(-c.scores[kept], kind="stable")]
    ranks = _rank_in_group(groups[order])
    over = (groups[order] >= 0) & (ranks >= limits[order])
    if not over.any():
        return c
    demoted = order[over]
    floor = float(c.scores[order[~over]].min()) if (~over).any() else float(c.scores[kept].min())
    scores = c.scores.astype(np.float64, copy=True)
    scores[demoted] = floor - 1.0 - np.arange(len(demoted)) / len(demoted)
    return c.with_(scores=scores.astype(c.scores.dtype))
