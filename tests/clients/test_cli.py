"""The `tailor` CLI against a real `tailor serve` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Built
from tests.support import LOYAL_USER, ServeProcess

TAILOR = [sys.executable, "-m", "clients.tailor"]


@pytest.fixture(scope="module")
def target(built: Built) -> Iterator[str]:
    server = ServeProcess(built.root, "--workers", "1")
    yield server.target
    assert server.stop() == 0


def _tailor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TAILOR, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def _assert_item_rows_show_the_catalog(rows: list[str], built: Built) -> None:
    """Each row: rank, item id, its title (cut to 40 characters), category and price, then score and reasons."""
    for rank, row in enumerate(rows, 1):
        got_rank, item, rest = row.split(maxsplit=2)
        assert int(got_rank) == rank
        title = built.store.title[item]
        shown = title if len(title) <= 40 else title[:37] + "..."
        assert rest.startswith(f"{shown:<40} {built.store.category[item]:<18} {built.store.price[item]:>9.2f} "), row


def test_recommend_prints_a_table(target: str, built: Built) -> None:
    out = _tailor("recommend", "--target", target, "--user", LOYAL_USER, "--n", "5")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"version {built.manifest.version}"
    assert lines[1].split() == ["#", "item_id", "title", "category", "price", "score", "reasons"]
    assert len(lines) == 2 + 5
    _assert_item_rows_show_the_catalog(lines[2:], built)
    assert "user_affinity" in out.stdout


def test_recommend_request_id_repeats_the_explore_slots_and_no_exploration_drops_them(target: str) -> None:
    def answer(*flags: str) -> str:
        out = _tailor("recommend", "--target", target, "--user", LOYAL_USER, "--n", "10", "--json", *flags)
        assert out.returncode == 0, out.stderr
        return out.stdout

    first = answer("--request-id", "cli-1")
    assert json.loads(first)["request_id"] == "cli-1" and '"explore"' in first
    assert answer("--request-id", "cli-1") == first
    assert '"explore"' not in answer("--request-id", "cli-1", "--no-exploration")


def test_rerank_table_shows_title_category_and_price(target: str, built: Built) -> None:
    ids = list(built.store.category)[:4]
    out = _tailor("rerank", "--target", target, "--user", LOYAL_USER, "--items", ",".join(ids))
    assert out.returncode == 0, out.stderr
    rows = out.stdout.splitlines()[2:]
    assert sorted(row.split()[1] for row in rows) == sorted(ids)
    _assert_item_rows_show_the_catalog(rows, built)


def test_target_from_environment_and_json(target: str, built: Built) -> None:
    first, second = list(built.store.category)[:2]
    out = _tailor("recommend", "--session", f"{first},{second}:cart", "--n", "3", "--json",
                  env={"TAILOR_TARGET": target})
    assert out.returncode == 0, out.stderr
    items = json.loads(out.stdout)["items"]
    assert len(items) == 3
    assert items[0]["reasons"][0]["code"] == "session_similar"


def test_rerank_keeps_every_candidate(target: str, built: Built) -> None:
    ids = list(built.store.category)[:6]
    out = _tailor("rerank", "--target", target, "--user", LOYAL_USER, "--items", ",".join(ids), "--json")
    assert out.returncode == 0, out.stderr
    assert sorted(i["item_id"] for i in json.loads(out.stdout)["items"]) == sorted(ids)


def test_bad_input_is_a_clear_error(target: str) -> None:
    out = _tailor("recommend", "--target", target, "--n", "0")
    assert out.returncode == 2
    assert "INVALID_ARGUMENT: n:" in out.stderr


def test_no_server_is_unavailable(tmp_path: Path) -> None:
    out = _tailor("recommend", "--target", "127.0.0.1:1", "--n", "3", "--timeout", "2")
    assert out.returncode == 2
    assert "no Tailor server answers at 127.0.0.1:1" in out.stderr


def test_build_reports_bad_input(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("item_id,category,brand,price,in_stock\ni1,shoes,acme,abc,true\n")
    out = _tailor("build", "--data", str(tmp_path), "--artifacts", str(tmp_path / "out"), "--quiet")
    assert out.returncode == 2
    assert "items.csv:2: column 'price'" in out.stderr
