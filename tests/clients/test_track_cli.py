"""`tailor track FILE` against the real server: batches, the summary, rejections by line, re-runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clients.tailor import main
from server import RunningServer
from tests.conftest import Built
from tests.support import LOYAL_USER, NO_CONSENT_USER


def test_track_sends_a_csv_in_batches_and_summarises(own_server: RunningServer, built: Built, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    item = next(iter(built.store.category))
    lines = ["event_id,ts,user_id,session_id,item_id,type,qty,price,channel"]
    lines += [f"t{k},2026-11-01T10:00:0{k % 10}Z,{LOYAL_USER},s1,{item},view,1,0,web" for k in range(7)]
    lines += [f"t-nc,1793500000,{NO_CONSENT_USER},s2,{item},cart,1,0,app",  # epoch seconds
              f"t-bad,2026-11-01T10:00:00Z,{LOYAL_USER},s1,{item},wishlist,1,0,web",  # unknown type: not sent
              f"t-neg,2026-11-01T10:00:00Z,{LOYAL_USER},s1,{item},purchase,-2,0,web"]  # rejected by the server
    events = tmp_path / "events.csv"
    events.write_text("\n".join(lines) + "\n")
    target = ["--target", f"127.0.0.1:{own_server.port}", "--quiet"]
    assert main(["track", str(events), "--batch", "3", *target]) == 1  # problems were reported
    out, err = capsys.readouterr()
    assert "accepted 7, duplicates 0, not stored (no consent or forgotten) 1, rejected 2" in out
    assert "line 10: not sent: type" in err and "line 11: rejected: qty" in err
    assert main(["track", str(events), *target]) == 1
    assert "accepted 0, duplicates 7" in capsys.readouterr().out


def test_track_reads_json_lines(own_server: RunningServer, built: Built, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    item = next(iter(built.store.category))
    rows = [{"event_id": f"j{k}", "timestamp_ms": 1793500000000 + k, "session_id": "anon-1", "item_id": item,
             "type": "view"} for k in range(3)]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["track", str(events), "--target", f"127.0.0.1:{own_server.port}", "--quiet"]) == 0
    assert "accepted 3, duplicates 0" in capsys.readouterr().out
