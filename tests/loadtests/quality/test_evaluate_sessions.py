"""The session split on a hand-made event log, and `tailor evaluate --split session` on the small demo store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clients.tailor import main as tailor
from loadtests.quality.evaluate.run import TAILOR
from loadtests.quality.evaluate.splits import MAX_SESSION, SESSION_SHARE, read_events, split_events
from tests.conftest import Built

_HEADER = "event_id,ts,user_id,session_id,item_id,type,qty,price,channel"


def _log(tmp_path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """events.csv of (minute, user, session, item, type) rows, event ids e0, e1, ... in that order."""
    lines = [_HEADER] + [f"e{n},2026-01-01T10:{minute}:00Z,{user},{session},{item},{kind},1,1,web"
                         for n, (minute, user, session, item, kind) in enumerate(rows)]
    (tmp_path / "events.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def _eligible_log(tmp_path: Path) -> Path:
    """20 eligible sessions (s0..s19: 4 events on 3 items, the last item first seen earlier, half of them
    anonymous, written out of time order), and sessions that may never be held out."""
    rows = []
    for s in range(20):
        user = f"u{s}" if s % 2 else ""
        rows += [("03", user, f"s{s}", f"i{s}c", "cart"), ("01", user, f"s{s}", f"i{s}a", "view"),
                 ("02", user, f"s{s}", f"i{s}b", "view"), ("00", user, f"s{s}", f"i{s}c", "view")]
    rows += [("00", "u1", "short", "i1", "view"), ("01", "u1", "short", "i2", "view"),  # 2 events
             ("00", "u2", "one-item", "i1", "view"), ("01", "u2", "one-item", "i1", "cart"),
             ("02", "u2", "one-item", "i1", "purchase"),  # 3 events, 1 item
             ("00", "u3", "", "i1", "view"), ("01", "u3", "", "i2", "view"), ("02", "u3", "", "i3", "view")]
    return _log(tmp_path, rows)


def test_session_split_holds_out_a_seeded_share_of_eligible_sessions(tmp_path: Path) -> None:
    events = read_events(_eligible_log(tmp_path))
    cut = split_events(events, "session", seed=3)
    assert len(cut.truth) == round(SESSION_SHARE * 20) == 3
    assert set(cut.truth) <= {f"s{s}" for s in range(20)}
    held = {s for seed in range(10) for s in split_events(events, "session", seed=seed).truth}
    assert {int(s[1:]) % 2 for s in held} == {0, 1}  # anonymous visitors' sessions and users' alike
    assert split_events(events, "session", seed=3) == cut  # deterministic for a seed
    assert {frozenset(split_events(events, "session", seed=s).truth) for s in range(6)} != {frozenset(cut.truth)}


def test_session_truth_is_the_last_item_and_the_request_the_rest(tmp_path: Path) -> None:
    cut = split_events(read_events(_eligible_log(tmp_path)), "session", seed=3)
    for session in cut.truth:
        s = session[1:]
        # The last event (10:03, written first) is a cart of i{s}c; the view of i{s}c at 10:00 leaves the
        # request too, which keeps the other events oldest first with their types.
        assert cut.truth[session] == {f"i{s}c"}
        assert cut.sessions[session] == [(f"i{s}a", "view"), (f"i{s}b", "view")]
        assert cut.as_of[session] == 1767261780000  # 2026-01-01T10:03:00Z


def test_session_split_train_is_every_other_event(tmp_path: Path) -> None:
    events = read_events(_eligible_log(tmp_path))
    cut = split_events(events, "session", seed=3)
    train_sessions = cut.train["session_id"].to_pylist()
    assert not set(cut.truth) & set(train_sessions)
    assert cut.train.num_rows + cut.test_events == events.num_rows == cut.train.num_rows + 4 * len(cut.truth)
    assert {"short", "one-item", ""} <= set(train_sessions)


def test_a_long_session_is_cut_to_its_newest_interactions(tmp_path: Path) -> None:
    lines = [_HEADER] + [f"e{n},2026-01-01T{10 + n // 60:02d}:{n % 60:02d}:00Z,,long,i{n},view,1,1,web"
                         for n in range(MAX_SESSION + 5)]
    lines += [f"f{n},2026-01-02T10:00:0{n % 3}Z,,x{n // 3},i{n % 3},view,1,1,web" for n in range(3 * 19)]
    (tmp_path / "events.csv").write_text("\n".join(lines) + "\n")
    events = read_events(tmp_path)
    cut = next(c for c in (split_events(events, "session", seed=s) for s in range(100)) if "long" in c.truth)
    last = MAX_SESSION + 4
    assert cut.truth["long"] == {f"i{last}"}
    assert cut.sessions["long"] == [(f"i{m}", "view") for m in range(4, last)]


def test_session_split_needs_session_ids(tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text("event_id,ts,user_id,item_id,type\ne1,2026-01-01T10:00:00Z,u1,i1,view\n")
    with pytest.raises(ValueError, match="session_id"):
        split_events(read_events(tmp_path), "session")


def test_tailor_beats_popularity_on_held_out_sessions(built: Built, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Anonymous sessions of the small demo store (60,000 events), end to end through the CLI: Tailor's
    answer to the session against the baselines given the same session."""
    out = tmp_path / "report.json"
    assert tailor(["evaluate", "--data", str(built.data), "--split", "session", "--json-out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "split=session" in printed and "test sessions" in printed
    report = json.loads(out.read_text())
    scores = {r["name"]: r["scores"] for r in report["results"]}
    assert report["rerank"] is None and report["users"] > 100
    assert {"popularity", "ItemKNN", "ItemKNN (last item)", "ALS", "EASE"} <= set(scores)
    assert scores[TAILOR]["ndcg"] > 2 * scores["popularity"]["ndcg"]
    assert scores[TAILOR]["recall"] == scores[TAILOR]["hit_rate"]  # one held-out item per session
