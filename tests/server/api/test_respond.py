"""The response encoder (server/api/respond.py) on a snapshot from plain arrays, without a server."""

from __future__ import annotations

import numpy as np

from protos import decision_pb2 as pb
from server.api.respond import fill_items
from server.ranking import reasons
from server.ranking.stages import Candidates
from server.runtime.snapshot import Names, memory_snapshot


def test_an_item_without_a_brand_gets_no_brand_reason_even_from_an_older_artifact() -> None:
    # An artifact built before "unbranded" stopped counting as a brand marks its items brand_affinity too.
    snapshot = memory_snapshot(np.eye(3), ["a", "b", "c"], ["x", "x", "y"], ["acme", "unbranded", "unbranded"],
                               [1.0, 2.0, 3.0], [True] * 3)
    brand, category = reasons.bit(reasons.BRAND_AFFINITY), reasons.bit(reasons.CATEGORY_AFFINITY)
    ranked = Candidates(np.array([0, 1, 2]), np.array([3.0, 2.0, 1.0]),
                        np.array([brand | category, brand | category, brand], dtype=reasons.MASK_DTYPE),
                        np.ones(3, dtype=bool))
    response = pb.RecommendResponse()
    fill_items(response.items, snapshot.catalog, ranked, names=Names(("x", "y"), ("acme", "unbranded")))
    texts = [[r.text for r in item.reasons] for item in response.items]
    assert texts == [["A brand you buy often: acme", "One of your favourite categories: x"],
                     ["One of your favourite categories: x"], []]
