"""The ranking boundary: `recommend(snapshot, policy, RequestArrays)` and the same for Rerank (that ranking
loads neither gRPC nor LMDB, even indirectly, is tests/server/test_rooms.py)."""

from __future__ import annotations

import inspect

from server.ranking import pipelines as ranking
from server.ranking.request import RequestArrays


def test_both_pipelines_take_the_snapshot_the_policy_and_the_requests_arrays() -> None:
    for pipeline in (ranking.recommend, ranking.rerank):
        assert list(inspect.signature(pipeline).parameters) == ["snapshot", "policy", "request"]
    assert RequestArrays.__dataclass_params__.frozen  # type: ignore[attr-defined]
