"""cap_groups on pure arrays: limits per group in the top n, -1 never capped, demotion stable."""

from __future__ import annotations

import numpy as np

from server.ranking import reasons
from server.ranking.caps import cap_groups
from server.ranking.diversity import group_ranks
from server.ranking.stages import Candidates, top_n


def _candidates(scores: list[float], keep: list[bool] | None = None) -> Candidates:
    n = len(scores)
    return Candidates(np.arange(n, dtype=np.int64), np.array(scores, dtype=np.float64),
                      np.full(n, reasons.bit(reasons.POPULAR), dtype=reasons.MASK_DTYPE),
                      np.array(keep if keep is not None else [True] * n))


def _top(c: Candidates, n: int) -> list[int]:
    return top_n(c, n).rows.tolist()


def test_group_ranks_count_earlier_members_of_each_group() -> None:
    assert group_ranks(np.array([3, 1, 3, -1, 3, 1, -1])).tolist() == [0, 0, 1, 0, 2, 1, 1]
    assert group_ranks(np.zeros(0, dtype=np.int64)).tolist() == []


def test_items_past_their_group_limit_go_below_all_others_in_order() -> None:
    c = _candidates([9, 8, 7, 6, 5, 4, 3, 2])
    groups = np.array([0, 0, 0, 0, 1, 2, 0, 3])
    capped = cap_groups(c, groups, np.full(8, 2), 4)
    # Group 0 keeps its two best (0, 1); 2, 3 and 6 fall below everything, keeping their order.
    assert _top(capped, 8) == [0, 1, 4, 5, 7, 2, 3, 6]
    assert _top(capped, 4) == [0, 1, 4, 5]


def test_minus_one_is_never_capped() -> None:
    c = _candidates([5, 4, 3, 2, 1])
    capped = cap_groups(c, np.array([-1, -1, -1, 0, 0]), np.zeros(5, dtype=np.int64), 5)
    assert _top(capped, 5) == [0, 1, 2, 3, 4]  # limit 0 demotes group 0, and nothing is below it


def test_limits_are_per_candidate() -> None:
    c = _candidates([6, 5, 4, 3, 2, 1])
    groups = np.array([0, 0, 0, 1, 1, 1])
    limits = np.array([1, 1, 1, 3, 3, 3])  # a cap on group 0 only
    assert _top(cap_groups(c, groups, limits, 4), 4) == [0, 3, 4, 5]


def test_within_every_limit_the_candidates_come_back_unchanged() -> None:
    c = _candidates([5, 4, 3, 2, 1])
    same = cap_groups(c, np.array([0, 1, 0, 1, 2]), np.full(5, 2), 3)
    assert same is c


def test_the_order_is_by_score_not_by_position_and_dropped_candidates_do_not_count() -> None:
    c = _candidates([1, 9, 8, 7, 6], keep=[True, True, False, True, True])
    groups = np.array([0, 0, 0, 0, 1])
    capped = cap_groups(c, groups, np.full(5, 1), 3)
    assert _top(capped, 4) == [1, 4, 3, 0]  # 2 is not kept; group 0 past 1 (3, then 0) demoted in score order


def test_not_enough_others_still_fills_the_answer() -> None:
    c = _candidates([4, 3, 2, 1])
    capped = cap_groups(c, np.zeros(4, dtype=np.int64), np.ones(4, dtype=np.int64), 4)
    assert _top(capped, 4) == [0, 1, 2, 3]
    assert np.isfinite(capped.scores).all()
