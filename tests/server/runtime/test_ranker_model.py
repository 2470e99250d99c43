"""A version's learned ranker is checked at load like every file, and serves through the real server."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from clients import TailorClient
from protos import artifact
from protos.ranker.features import FEATURES
from server import ServerConfig, start_server
from server.errors import ArtifactError
from server.ranking.policy import RankingPolicy
from server.runtime.snapshot import load_snapshot
from tests.conftest import Built


def _rewritten(root: Path, edit: str) -> Path:
    """ROOT's current version with its manifest (and, for "arrays", one tree array) edited, checksums kept true."""
    version = artifact.resolve_current(root)
    manifest = artifact.read_manifest(version)
    if edit == "table":
        manifest.ranker.features[0] = "search_score"
    elif edit == "version":
        manifest.ranker.features_version += 1
    elif edit == "arrays":  # trees that no longer say what the model text says
        name = artifact.RANKER_ARRAY.format("leaf_value")
        leaves = np.load(version / name)
        np.save(version / name, leaves + 1.0)
        entry = next(f for f in manifest.files if f.path == name)
        entry.size_bytes, entry.sha256 = (version / name).stat().st_size, artifact.file_sha256(version / name)
    artifact.write_manifest(version, manifest)
    return version


@pytest.mark.parametrize(("edit", "says"), [("table", "feature table"), ("version", "feature table"),
                                            ("arrays", "disagree")])
def test_a_model_whose_table_or_trees_do_not_match_is_refused(own_root: Path, edit: str, says: str) -> None:
    version = _rewritten(own_root, edit)
    with pytest.raises(ArtifactError, match=says):
        load_snapshot(version)


def test_the_built_version_loads_its_model_with_the_servers_table(own_root: Path) -> None:
    snapshot = load_snapshot(artifact.resolve_current(own_root))
    try:
        assert snapshot.ranker is not None and tuple(snapshot.ranker.info.features) == FEATURES
        assert snapshot.ranker.forest.depth >= 1
    finally:
        snapshot.close()


def _answers(root: Path, users: list[str], ranker: str) -> list[list[str]]:
    server = start_server(replace(ServerConfig(artifacts=root, port=0), ranking=RankingPolicy(ranker=ranker)))
    try:
        with TailorClient(f"127.0.0.1:{server.port}", timeout=5.0) as client:
            return [[i.item_id for i in client.recommend(10, user_id=u, no_exploration=True).items] for u in users]
    finally:
        server.stop(grace=None)


def test_learned_and_hand_blend_answer_through_the_real_server(built: Built, own_root: Path) -> None:
    shoppers = sorted(u for u, items in built.store.touched.items() if built.store.consent.get(u) and items)[:40]
    learned, hand = _answers(own_root, shoppers, "learned"), _answers(own_root, shoppers, "hand")
    assert all(len(items) == 10 and len(set(items)) == 10 for items in learned + hand)
    assert sum(a != b for a, b in zip(learned, hand, strict=True)) >= len(shoppers) // 2  # two different rankers
    assert all(item in built.store.category for items in learned for item in items)
