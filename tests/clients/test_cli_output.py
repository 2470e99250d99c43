"""What a new user meets at the command line: log levels, --version, readable summaries, clear errors."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor

from clients.flags import verbosity
from clients.tailor import log_level
from protos import decision_pb2 as pb
from tests.conftest import Built
from tests.support import LOYAL_USER, ServeProcess

TAILOR = [sys.executable, "-m", "clients.tailor"]


def _tailor(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TAILOR_TARGET"}
    return subprocess.run([*TAILOR, *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def _levels(stderr: str) -> set[str]:
    return {json.loads(line)["level"] for line in stderr.splitlines() if line.startswith("{")}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("tiny") / "data"
    out = _tailor("demo-data", "--out", str(data), "--users", "60", "--items", "40", "--events", "1500")
    assert out.returncode == 0, out.stderr
    return data


def test_version_prints_the_package_version() -> None:
    out = _tailor("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"tailor {metadata.version('tailor')}"


def test_log_level_per_flag() -> None:
    assert log_level("build", 0, False) == logging.WARNING
    assert log_level("build", 1, False) == logging.INFO
    assert log_level("build", 2, False) == logging.DEBUG
    assert log_level("build", 2, True) == logging.ERROR
    assert log_level("serve", 0, False) == logging.INFO  # a server's log is its output
    assert log_level("serve", 0, True) == logging.ERROR
    assert verbosity(["--data", "d", "-vv", "--quiet"]) == (2, True)
    assert verbosity(["-v", "--verbose", "--", "-q"]) == (2, False)  # nothing after `--` is ours


def test_build_is_quiet_by_default_and_v_after_the_command_shows_info(tiny: Path, tmp_path: Path) -> None:
    quiet = _tailor("build", "--data", str(tiny), "--artifacts", str(tmp_path / "a"), "--dim", "8")
    assert quiet.returncode == 0, quiet.stderr
    assert not _levels(quiet.stderr) & {"INFO", "DEBUG"}, quiet.stderr
    assert quiet.stdout.startswith("built version ")
    loud = _tailor("build", "-v", "--data", str(tiny), "--artifacts", str(tmp_path / "b"), "--dim", "8")
    assert loud.returncode == 0, loud.stderr
    assert "INFO" in _levels(loud.stderr) and "DEBUG" not in _levels(loud.stderr)
    silent = _tailor("--quiet", "build", "--data", str(tiny), "--artifacts", str(tmp_path / "c"), "--dim", "8")
    assert silent.returncode == 0 and silent.stderr == "", silent.stderr  # no log, no progress bar


def test_demo_data_and_import_print_lines_not_reprs(tmp_path: Path) -> None:
    out = _tailor("demo-data", "--out", str(tmp_path / "d"), "--users", "30", "--items", "25", "--events", "400")
    assert out.returncode == 0, out.stderr
    assert "Summary(" not in out.stdout and "PosixPath" not in out.stdout
    lines = out.stdout.splitlines()
    assert lines[0] == f"wrote a demo store to {tmp_path / 'd'}:"
    assert lines[1].split() == ["items.csv", "25", "items"] and lines[2].split() == ["users.csv", "30", "users"]
    orders = tmp_path / "orders.csv"
    orders.write_text("customer,sku,at,qty\nc1,A,2026-05-01T10:00:00Z,1\nc2,A,2026-05-02T10:00:00Z,0\n"
                      "c2,B,2026-05-03T10:00:00Z,2\n")
    out = _tailor("import", "transactions", str(orders), "--map", "user=customer,item=sku,timestamp=at,quantity=qty",
                  "--out", str(tmp_path / "imported"))
    assert out.returncode == 0, out.stderr
    assert "Summary(" not in out.stdout
    assert "3 order lines read: 2 purchase events, 2 items; 1 lines skipped" in out.stdout
    assert "--default-consent true" in out.stdout  # users.csv lists nobody: say how to build from it


def test_serve_on_a_mistyped_root_creates_nothing(tmp_path: Path) -> None:
    typo = tmp_path / "artefacts"
    out = _tailor("serve", "--artifacts", str(typo), "--port", "0")
    assert out.returncode == 2
    assert f"{typo}: no built artifact version there (the directory does not exist)" in out.stderr
    assert "tailor build" in out.stderr and not typo.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    out = _tailor("serve", "--artifacts", str(empty), "--port", "0")
    assert out.returncode == 2 and f"{empty / 'current'} is missing" in out.stderr
    assert list(empty.iterdir()) == []  # no ROOT/live


@pytest.mark.parametrize("command", [["recommend"], ["rerank", "--items", "a,b"], ["profile", "--user", "u1"],
                                     ["forget", "--user", "u1"], ["rules", "preview"], ["track", "EVENTS"]])
def test_no_server_says_how_to_start_one(command: list[str], tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("event_id,ts,user_id,session_id,item_id,type\ne1,2026-05-01T10:00:00Z,u1,s1,i1,view\n")
    args = [str(events) if a == "EVENTS" else a for a in command]
    out = _tailor(*args, "--target", "127.0.0.1:1", "--timeout", "3")
    assert out.returncode == 2
    assert "no Tailor server answers at 127.0.0.1:1" in out.stderr, out.stderr
    assert "make demo" in out.stderr and "tailor serve" in out.stderr


@pytest.fixture(scope="module")
def experiment_target(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("exp") / "tailor.toml"
    config.write_text('[experiments]\nname = "cli-json"\n[[experiments.variants]]\nname = "control"\nshare = 0.5\n'
                      'policy = "popular"\n[[experiments.variants]]\nname = "treatment"\nshare = 0.5\n')
    server = ServeProcess(built.root, "--workers", "1", "--config", str(config))
    yield server.target
    assert server.stop() == 0


def _missing(message: dict[str, Any], descriptor: Any, where: str) -> list[str]:
    """Fields of `descriptor` absent from the JSON object `message`, recursively through messages."""
    missing = []
    for f in descriptor.fields:
        if f.name not in message:
            missing.append(f"{where}{f.name}")
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            value = message[f.name]
            for k, element in enumerate(value if isinstance(value, list) else [value]):
                missing += _missing(element, f.message_type, f"{where}{f.name}[{k}].")
    return missing


@pytest.mark.parametrize("command", [["recommend", "--n", "5"], ["rerank", "--items", "ITEMS"]])
def test_json_holds_every_field_of_the_answer(command: list[str], experiment_target: str, built: Built) -> None:
    items = ",".join(list(built.store.category)[:4])
    args = [items if a == "ITEMS" else a for a in command]
    out = _tailor(*args, "--target", experiment_target, "--user", LOYAL_USER, "--request-id", "r-1", "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    descriptor = pb.RecommendResponse.DESCRIPTOR if command[0] == "recommend" else pb.RerankResponse.DESCRIPTOR
    assert _missing(answer, descriptor, "") == []
    assert answer["variant"] in ("control", "treatment") and answer["request_id"] == "r-1"
    assert all(r["kind"].startswith("REASON_CODE_") for item in answer["items"] for r in item["reasons"])


def test_a_target_that_never_answers_gets_a_hint_not_a_bare_deadline(capsys: pytest.CaptureFixture[str]) -> None:
    """A socket that never speaks HTTP/2 is 'no server'; an endpoint that takes the call and never answers (a
    hung or overloaded server: here a gRPC server whose every method blocks) ends in a deadline with a hint."""
    import socket
    import threading
    from concurrent import futures

    import grpc

    from clients.tailor import main as tailor_main

    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        assert tailor_main(["recommend", "--user", "u0001", "--target", f"127.0.0.1:{port}", "--timeout", "1"]) != 0
    assert "no Tailor server answers at 127.0.0.1:" in capsys.readouterr().err

    release = threading.Event()

    class Hung(grpc.GenericRpcHandler):
        def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(lambda request, context: release.wait(10) and b"")

    hung = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[Hung()])
    port = hung.add_insecure_port("127.0.0.1:0")
    hung.start()
    try:
        assert tailor_main(["recommend", "--user", "u0001", "--target", f"127.0.0.1:{port}", "--timeout", "1"]) != 0
    finally:
        release.set()
        hung.stop(grace=None)
    err = capsys.readouterr().err
    assert "no answer from 127.0.0.1:" in err and "--timeout" in err and "make demo" in err
