"""The locust users run headless against the real server and every call succeeds."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server import RunningServer
from tests.conftest import Built

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_locust_headless_run_has_no_failures(running: RunningServer, built: Built, tmp_path: Path) -> None:
    prefix = tmp_path / "stats"
    result = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"), "--headless",
         "--host", f"127.0.0.1:{running.port}", "-u", "4", "-r", "4", "-t", "4s", "--csv", str(prefix),
         "--only-summary", "--stop-timeout", "2"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "TAILOR_ARTIFACTS": str(built.root)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with open(f"{prefix}_stats.csv", newline="") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    assert {"Rerank", "Recommend user", "Recommend session", "Recommend product"} <= set(rows)
    assert int(rows["Aggregated"]["Request Count"]) > 20
    assert int(rows["Aggregated"]["Failure Count"]) == 0
