"""Old versions are pruned after a build publishes (index_builder/publish.py `prune`)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from index_builder import build_artifacts
from index_builder.publish import prune
from protos import artifact
from tests.conftest import Built, small_config


def _versions(root: Path, names: list[str]) -> None:
    """Version directories with a manifest each, written in the given order (oldest first)."""
    for age, name in enumerate(reversed(names)):
        (root / name).mkdir(parents=True)
        manifest = root / name / artifact.MANIFEST
        manifest.write_text("{}")
        stamp = 1_700_000_000 - age * 60
        os.utime(manifest, (stamp, stamp))


def test_prune_keeps_the_newest_and_the_current_version(tmp_path: Path) -> None:
    _versions(tmp_path, ["v1", "v2", "v3", "v4", "v5"])
    (tmp_path / "live").mkdir()  # the live store and hidden staging are never versions
    (tmp_path / ".staging-x").mkdir()
    artifact.switch_current(tmp_path, tmp_path / "v1")  # rolled back to the oldest
    assert prune(tmp_path, 2) == ["v3", "v2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".staging-x", "current", "live", "v1", "v4", "v5"]
    assert prune(tmp_path, 0) == [] and prune(tmp_path, 10) == []


def test_a_build_leaves_keep_versions_versions(built: Built, tmp_path: Path) -> None:
    root = tmp_path / "out"
    config = dataclasses.replace(small_config(built.data, root), keep_versions=1)
    first = build_artifacts(config)
    second = build_artifacts(config)
    assert not (root / first.version).exists()
    assert (root / artifact.CURRENT_LINK).resolve().name == second.version
    assert [p.name for p in root.iterdir() if (p / artifact.MANIFEST).is_file() and not p.is_symlink()] == \
        [second.version]
