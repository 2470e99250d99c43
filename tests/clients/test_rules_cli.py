"""`tailor rules check` and `tailor rules preview` (the latter against the real server)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clients import TailorClient
from clients.rules import main
from server import RunningServer
from server.merchandising.schema import rules_version
from tests.conftest import Built
from tests.support import LOYAL_USER

ROOT = Path(__file__).resolve().parents[2]


def test_check_exits_non_zero_naming_every_problem(tmp_path: Path, built: Built) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text('[[rule]]\nname = "a"\ncategory = "no-such"\nboost = 2\nbury = 0.5\n'
                   '[[rule]]\nname = "b"\nlifecycle = "zombie"\nexclude = true\nitems = "ghost"\n')
    out = subprocess.run([sys.executable, "-m", "clients.tailor", "rules", "check", str(bad), "--artifacts",
                          str(built.root)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert [line.split(": ")[1:3] for line in lines] == [
        ["rule a", "action"], ["rule b", "lifecycle"], ["rule a", "category"], ["rule b", "items"]]
    assert "4 problem(s)" in out.stderr


def test_check_of_a_clean_file_prints_one_summary_line(capsys: pytest.CaptureFixture[str], built: Built) -> None:
    example = ROOT / "rules.example.toml"
    assert main(["rules", "check", str(example)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and f"version {rules_version(example.read_text())}" in out
    assert "names not checked" in out


def test_check_takes_the_rules_file_as_rules_or_positionally(capsys: pytest.CaptureFixture[str]) -> None:
    example = str(ROOT / "rules.example.toml")
    assert main(["rules", "check", "--rules", example]) == 0
    assert capsys.readouterr().out.startswith(f"{example}: ok, ")
    assert main(["rules", "check"]) == 2
    assert main(["rules", "check", example, "--rules", str(ROOT / "tailor.example.toml")]) == 2
    assert "name the rules file once" in capsys.readouterr().err


def test_preview_prints_without_and_with_side_by_side_marking_moves(running: RunningServer, client: TailorClient,
                                                                    built: Built, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    baseline = [i.item_id for i in client.recommend(10, user_id=LOYAL_USER, page="home", no_exploration=True).items]
    pinned = next(i for i in sorted(built.store.category) if built.store.in_stock[i] and i not in baseline)
    draft = tmp_path / "draft.toml"
    draft.write_text(f'[[rule]]\nname = "hero"\npin = "{pinned}"\nslot = 1\n'
                     f'[[rule]]\nname = "lift"\nitems = ["{baseline[-1]}"]\nboost = 1000\n')
    code = main(["rules", "preview", "--rules", str(draft), "--user", LOYAL_USER, "--page", "home",
                 "--no-exploration", "--target", f"127.0.0.1:{running.port}"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert f"rules {rules_version(draft.read_text())}" in out[0] and ": personal" in out[0]
    first, second = out[2], out[3]
    assert first.split()[1] == baseline[0] and pinned in first and first.endswith("pinned (hero)")
    assert baseline[-1] in second and second.endswith("up 8 (lift)")
    assert out[-1].startswith("removed by the rules") and baseline[-2] in out[-1]


def test_preview_of_an_unknown_user_says_it_is_not_personal(running: RunningServer,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "preview", "--user", "u_never_seen", "--target", f"127.0.0.1:{running.port}"]) == 0
    assert "NOT personal" in capsys.readouterr().out.splitlines()[0]


def test_preview_of_a_bad_draft_names_its_problems(running: RunningServer, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "draft.toml"
    draft.write_text('[[rule]]\nname = "a"\npin = "ghost"\nslot = 1\n')
    assert main(["rules", "preview", "--rules", str(draft), "--target", f"127.0.0.1:{running.port}"]) == 2
    assert "rule a: pin: unknown item 'ghost'" in capsys.readouterr().err


def test_preview_json_holds_both_answers_and_the_request_id(running: RunningServer,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "preview", "--user", LOYAL_USER, "--query", "tea", "--channel", "app", "--request-id",
                 "preview-1", "--json", "--target", f"127.0.0.1:{running.port}"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["request_id"] == "preview-1" and answer["personal"] is True
    assert answer["with_rules"] and answer["without_rules"]
    assert {"item_id", "score", "reasons", "title", "category", "price"} <= set(answer["with_rules"][0])
