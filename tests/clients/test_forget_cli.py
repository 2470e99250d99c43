"""`tailor forget` and `tailor track --token-file` end to end against a real server with a write token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clients.tailor import main
from server import RunningServer, ServerConfig, start_server
from tests.conftest import Built
from tests.support import LOYAL_USER

_TOKEN = "cli-write-token"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(_TOKEN + "\n")
    return path


@pytest.fixture
def guarded(own_root: Path, token_file: Path) -> Iterator[RunningServer]:
    server = start_server(ServerConfig(artifacts=own_root, port=0, write_token_file=token_file))
    yield server
    server.stop(grace=None)


def test_forget_with_the_token_file_then_again(guarded: RunningServer, token_file: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    target = ["--target", f"127.0.0.1:{guarded.port}"]
    assert main(["forget", "--user", LOYAL_USER, "--token-file", str(token_file), *target]) == 0
    assert "forgotten: 0 live events deleted" in capsys.readouterr().out
    assert main(["forget", "--user", LOYAL_USER, "--token-file", str(token_file), *target]) == 0
    assert "already forgotten" in capsys.readouterr().out
    assert main(["profile", "--user", LOYAL_USER, *target]) != 0  # NOT_FOUND now


def test_forget_without_the_token_or_with_a_bad_id_fails_with_the_reason(
        guarded: RunningServer, token_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAILOR_WRITE_TOKEN_FILE", raising=False)
    target = ["--target", f"127.0.0.1:{guarded.port}"]
    assert main(["forget", "--user", LOYAL_USER, *target]) == 2
    assert "UNAUTHENTICATED" in capsys.readouterr().err
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    assert main(["forget", "--user", LOYAL_USER, "--token-file", str(wrong), *target]) == 2
    assert "UNAUTHENTICATED" in capsys.readouterr().err
    assert main(["forget", "--user", "bad id", "--token-file", str(token_file), *target]) == 2
    assert "user_id:" in capsys.readouterr().err
    assert main(["forget", "--user", LOYAL_USER, "--token-file", str(tmp_path / "missing"), *target]) == 2
    assert "missing" in capsys.readouterr().err
    guarded_live = guarded.live
    assert guarded_live is not None and not guarded_live.is_forgotten(LOYAL_USER)


def test_track_takes_the_token_from_the_environment(guarded: RunningServer, token_file: Path, built: Built,
                                                    tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    item = next(iter(built.store.category))
    events = tmp_path / "events.csv"
    events.write_text("event_id,ts,user_id,session_id,item_id,type\n"
                      f"tk1,2026-11-01T10:00:00Z,{LOYAL_USER},s1,{item},view\n")
    target = ["--target", f"127.0.0.1:{guarded.port}", "--quiet"]
    monkeypatch.delenv("TAILOR_WRITE_TOKEN_FILE", raising=False)
    assert main(["track", str(events), *target]) == 2
    assert "UNAUTHENTICATED" in capsys.readouterr().err
    monkeypatch.setenv("TAILOR_WRITE_TOKEN_FILE", str(token_file))
    assert main(["track", str(events), *target]) == 0
    assert "accepted 1" in capsys.readouterr().out
