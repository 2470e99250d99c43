"""`tailor bench` runs end to end on a tiny store: both servers measured, swap seen, nothing left behind.

A smoke test of the machinery only: no timing is asserted (the figures belong in docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from index_builder import BuildConfig, build_artifacts
from index_builder.demo import write_demo_store
from protos.live import LIVE_DIR

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_bench_end_to_end_on_a_tiny_store(tmp_path: Path) -> None:
    figures = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "clients.tailor", "bench", "--users", "300", "--items", "200", "--events", "5000",
         "--duration", "2", "--warmup", "0.5", "--workers", "1", "--rate", "200", "--low-rate", "50",
         "--cache", str(tmp_path / "cache"), "--json-out", str(figures)],
        capture_output=True, text=True, timeout=150, cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout
    assert "floor" in table and "Tailor" in table and "Tailor ÷ floor" in table, table
    for phase in ("low 50/s", "open 200/s", "max c=8"):
        assert phase in table, table

    data = json.loads(figures.read_text())
    for server in ("floor", "tailor"):
        for phase in ("low", "open", "max"):
            figures_of = data[server]["phases"][phase]
            assert figures_of["all"]["calls"] > 0, (server, phase)
            assert figures_of["all"]["errors"] == 0, (server, phase, figures_of["errors_by_code"])
        assert data[server]["uss_mib"] and all(u > 0 for u in data[server]["uss_mib"])

    swap = data["tailor"]["swap"]
    assert swap["phase"]["errors"] == 0
    assert swap["new_after"] > 0 and swap["old_after"] == 0
    assert re.search(rf"after the swap: (\d+) of \1 sampled answers name {re.escape(swap['version'])}", table), table

    # The copied version is gone and `current` points where it did before the run.
    artifacts = tmp_path / "cache" / "300x200x5000" / "artifacts"
    # (the bench's server keeps a live store beside the versions)
    versions = [p.name for p in artifacts.iterdir()
                if not p.name.startswith(".") and p.name not in ("current", LIVE_DIR)]
    assert len(versions) == 1
    assert (artifacts / "current").resolve() == artifacts / versions[0]


def test_bench_rejects_a_missing_artifact_root(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clients.tailor", "bench", "--artifacts", str(tmp_path / "nothing"), "--duration", "1"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert result.returncode == 2
    assert "--artifacts" in result.stderr and "does not exist" in result.stderr


def test_bench_reports_a_server_that_cannot_start(tmp_path: Path) -> None:
    data, root = tmp_path / "data", tmp_path / "artifacts"
    write_demo_store(data, users=300, items=200, events=5000)
    build_artifacts(BuildConfig(data_dir=data, out_root=root, dim=8, iterations=2, show_progress=False))
    price = (root / "current").resolve() / "item_price.npy"
    price.write_bytes(price.read_bytes()[:-4] + b"\xff\xff\xff\xff")  # same size, checksum no longer matches
    result = subprocess.run(
        [sys.executable, "-m", "clients.tailor", "bench", "--artifacts", str(root), "--duration", "1",
         "--cache", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 2
    assert "floor exited with 2" in result.stderr, result.stderr[-2000:]
    assert "sha256" in (tmp_path / "cache" / "logs" / "floor.log").read_text()
