"""Group caps: at most k candidates of one group (a brand, a category) in the top n.

`cap_groups` is the one re-ranking step behind merchandising `cap` rules (server/merchandising/compiler.py) and
per-brand diversity: each candidate has a group code (-1 = never capped) and its group's limit;
walking the kept candidates best first, those beyond their group's limit are demoted below every
other candidate (their relative order kept), so the top n holds at most `limit` of each group
whenever there are enough others. A fixed number of array operations: a stable sort by group of
the candidates in score order gives each its rank within its group.
"""

from __future__ import annotations

import numpy as np

from server.ranking.stages import Candidates, best_first

__all__ = ["cap_groups"]


def cap_groups(c: Candidates, groups: np.ndarray, limits: np.ndarray, n: int) -> Candidates:
    """Demote the candidates beyond their group's limit (per candidate: `groups` code, -1 = never
    capped, and `limits` the most of that group allowed in the top `n`) below all others."""
    if not len(c.rows):
        return c
    order = best_first(c)  # dropped candidates count in no group
    ordered = groups[order]
    by_group = np.argsort(ordered, kind="stable")  # score order within each group
    grouped = ordered[by_group]
    rank = np.arange(len(grouped)) - np.searchsorted(grouped, grouped)
    over = (grouped >= 0) & (rank >= limits[order][by_group])
    if not over.any():
        return c
    demoted = order[np.sort(by_group[over])]  # best first
    rest = c.keep.copy()
    rest[demoted] = False
    scores = c.scores.astype(np.float64)
    floor = float(scores[rest].min()) if rest.any() else float(scores[demoted].min())
    scores[demoted] = floor - 1.0 - np.arange(len(demoted)) / len(demoted)
    return c.with_(scores=scores.astype(c.scores.dtype))
