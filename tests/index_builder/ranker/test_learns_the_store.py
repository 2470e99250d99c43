"""The learned ranker learns each store's own behaviour from its log, not from a setting: a store whose shoppers
only rebuy gets a model that puts their own items first, a store with no rebuys one that never does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index_builder import BuildConfig, build_artifacts
from protos import artifact
from protos.ranker.candidates import history_of, pool
from protos.ranker.features import FEATURES
from server.runtime.snapshot import Snapshot, load_snapshot
from tests.index_builder.ranker.stores import write_store

OWN = FEATURES.index("own_count")


def _build(tmp_path: Path, rebuy: bool) -> Snapshot:
    data = write_store(tmp_path / "data", rebuy=rebuy)
    config = BuildConfig(data_dir=data, out_root=tmp_path / "artifacts", dim=8, iterations=2, show_progress=False,
                         ranker_cut="time")
    manifest = build_artifacts(config)
    assert manifest.ranker.trained, manifest.ranker.verdict
    return load_snapshot(artifact.resolve_current(tmp_path / "artifacts"))


def _own_share_of_top(snapshot: Snapshot, users: int = 60) -> float:
    """Over some shoppers, the share of the model's top 5 over their candidates that are their own items."""
    model = snapshot.ranker
    assert model is not None
    now_ms = int(snapshot.reference_time * 1000) + 7 * 86_400_000
    shares = []
    for u in range(users):
        profile = snapshot.profiles.read(f"u{u:03d}")
        assert profile is not None
        h = history_of(profile.recent, profile.recent_touches, profile.recent_at, profile.purchased,
                       profile.purchased_at, profile.purchase_counts, now_ms)
        found = pool(model.items, h, now_ms)
        top = np.argsort(-model.score(found.features), kind="stable")[:5]
        shares.append(float((found.features[top, OWN] > 0).mean()))
    return float(np.mean(shares))


@pytest.mark.parametrize("rebuy", [True, False], ids=["rebuy-only", "no-rebuy"])
def test_the_model_learns_whether_shoppers_rebuy(tmp_path: Path, rebuy: bool) -> None:
    snapshot = _build(tmp_path, rebuy)
    try:
        share = _own_share_of_top(snapshot)
        # Every shopper has 6 own items among ~100+ candidates: either they fill the top, or none is in it.
        if rebuy:
            assert share >= 0.9, share
        else:
            assert share <= 0.1, share
        assert snapshot.ranker is not None and snapshot.ranker.serves, snapshot.ranker.info.verdict if \
            snapshot.ranker else ""
    finally:
        snapshot.close()
