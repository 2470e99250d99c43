"""A rules file on a real multi-worker server: an invalid edit is refused by every worker while the old
rules keep answering, and the fixed file is then in force on every worker (proven per worker with the
`x-tailor-worker` trailer), with the rules metrics aggregated by the supervisor."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from clients.client import RETRY_OPTIONS
from protos import decision_pb2 as pb
from protos import decision_pb2_grpc
from server.merchandising.schema import rules_version
from tests.conftest import Built
from tests.support import LOYAL_USER, ServeProcess
from tests.waiting import wait_until

_FRESH = [("grpc.use_local_subchannel_pool", 1), *RETRY_OPTIONS]  # a new connection: any worker may answer
_PATIENCE = 120.0


def _answer(target: str) -> tuple[int, str, str]:
    """(worker pid, rules_version, first item) of one Recommend over a fresh connection."""
    with grpc.insecure_channel(target, options=_FRESH) as channel:
        reply, call = decision_pb2_grpc.DecisionStub(channel).Recommend.with_call(
            pb.RecommendRequest(user_id=LOYAL_USER, n=5, context=pb.Context(page=pb.PAGE_HOME)), timeout=10)
    return int(dict(call.trailing_metadata() or ())["x-tailor-worker"]), reply.rules_version, reply.items[0].item_id


def _every_worker_says(server: ServeProcess, version: str, count: int = 2) -> dict[int, str]:
    """Wait until `count` workers have each answered with rules `version`; their first items."""
    seen: dict[int, str] = {}

    def all_say_it() -> bool:
        pid, answered, first = _answer(server.target)
        if answered == version:
            seen[pid] = first
        return len(seen) >= count and set(seen) <= server.worker_pids()

    wait_until(all_say_it, _PATIENCE, lambda: f"every worker answers with rules {version} (so far {seen})")
    return seen


def _refused_by(server: ServeProcess) -> set[int]:
    pids = set()
    for line in list(server.log):
        if "rules_refused" in line:
            entry = json.loads(line)
            assert re.search(r"problems=2\b", entry["msg"]), entry["msg"]
            pids.add(entry["pid"])
    return pids


def _metric(server: ServeProcess, name: str) -> float:
    port = server.logged(r"metrics_started port=(\d+)")
    assert port, "no metrics port logged"
    with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=10) as reply:
        lines = reply.read().decode().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(name))


@pytest.fixture
def rules_file(tmp_path: Path, built: Built) -> Path:
    pinned = next(i for i in sorted(built.store.items_in("coffee")) if built.store.in_stock[i])
    path = tmp_path / "rules.toml"
    path.write_text(f'[[rule]]\nname = "first-version"\npage = "home"\npin = "{pinned}"\nslot = 1\n')
    return path


@pytest.fixture
def server(built: Built, rules_file: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(built.root, "--workers", "2", "--threads", "2", "--metrics-port", "0",
                           "--rules", str(rules_file))
    yield process
    process.stop()


def test_an_invalid_edit_is_refused_on_every_worker_and_a_fix_is_picked_up(server: ServeProcess, rules_file: Path,
                                                                         built: Built) -> None:
    old = rules_version(rules_file.read_text())
    pinned = rules_file.read_text().split('pin = "')[1].split('"')[0]
    workers = _every_worker_says(server, old)
    assert set(workers.values()) == {pinned}

    rules_file.write_text('[[rule]]\nname = "broken"\nboost = 0.5\nsegment = "vip"\n')
    wait_until(lambda: _refused_by(server) >= workers.keys(), _PATIENCE, "every worker refuses the broken file")
    assert set(_every_worker_says(server, old).values()) == {pinned}, "the old rules stay in force"
    assert _metric(server, 'tailor_rules_loads_total{outcome="refused"}') >= 2

    other = [i for i in sorted(built.store.items_in("coffee")) if built.store.in_stock[i]][1]
    fixed = f'[[rule]]\nname = "fixed"\npage = "home"\npin = "{other}"\nslot = 1\n'
    rules_file.write_text(fixed)
    assert set(_every_worker_says(server, rules_version(fixed)).values()) == {other}
    assert _metric(server, f'tailor_rules_version_info{{version="{rules_version(fixed)}"}}') == 1


def test_serve_refuses_to_start_with_an_invalid_rules_file(built: Built, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "x"\ncategory = "no-such-category"\nbury = 2\n')
    out = subprocess.run([sys.executable, "-m", "clients.tailor", "serve", "--artifacts", str(built.root), "--port",
                          "0", "--rules", str(bad)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "2 problem(s)" in out.stderr and "rule x: bury" in out.stderr and "rule x: category" in out.stderr
