"""The GetProfile message of a stored record (server/api/profile_view.py), without a server."""

from __future__ import annotations

import numpy as np

from protos import artifact
from server.api.profile_view import profile_message
from server.runtime.snapshot import Names


def test_a_record_from_an_older_build_answers_without_unbranded_among_its_brands() -> None:
    # Builds before "unbranded" stopped counting as a brand stored it among a shopper's top brands.
    empty_i = np.zeros(0, np.int32)
    profile = artifact.Profile(True, np.zeros(0, np.float32), empty_i, empty_i, np.zeros(0, np.int64), empty_i,
                               brands=np.array([1, 0, 2], np.int32),
                               brand_weights=np.array([0.7, 0.2, 0.1], np.float32))
    message = profile_message("u1", "v1", profile, Names(brands=("acme", "unbranded", "zeta")))
    assert [(a.name, round(a.weight, 6)) for a in message.top_brands] == [("acme", 0.2), ("zeta", 0.1)]
