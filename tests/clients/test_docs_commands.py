"""Every `tailor ...` command in the code blocks of README.md and docs/*.md runs as written.

What counts as a command: a line of a fenced code block that starts (unindented) with `tailor`, `.venv/bin/tailor`
or `$ tailor` (after optional `NAME=value` environment settings) followed by one of the COMMANDS;
a trailing `\\` continues it, a `# comment` ends it. Output lines (`tailor bench: ...`) are not commands.

How it is run, mechanically:
- `tailor` / `.venv/bin/tailor` is this interpreter's `-m clients.tailor`;
- in a scratch directory laid out as after `make demo`: `var/demo/data` and `var/demo/artifacts` (a
  small demo store, built once), `.venv` (a link to the checkout's, for the ML-100K that ships in
  it), copies of `rules.example.toml` and `tailor.example.toml`, and the files the docs' prose has
  the reader make: `rules.toml` (the `cp rules.example.toml rules.toml` beside the commands),
  `tailor.toml` (tailor.example.toml's commented `[experiments]` block, uncommented), `events.csv`
  (a few new events) and a token file;
- a server runs on a free port with that experiment, and two tokens of the docs are rewritten:
  `localhost:50051` -> its address (also $TAILOR_TARGET, for the README's calls without `--target`,
  which reach `make demo`'s server), `/etc/tailor/write-token` -> the scratch token file.
Nothing else is changed. SKIP lists what cannot run in a test, with the reason.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clients import TailorClient
from clients.tailor import COMMANDS
from index_builder import BuildConfig, build_artifacts
from index_builder.demo import write_demo_store
from tests.support import ServeProcess
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_COMMAND = re.compile(r"^(?:\$ )?((?:[A-Z_][A-Z0-9_]*=\S+ )*)(?:\.venv/bin/)?tailor (\S+)")
# (command name, a substring of the command) -> why it is not run here
SKIP = {
    ("serve", ""): "runs in the foreground until Ctrl-C (the fixture's server is `tailor serve` on port 0)",
    ("bench", ""): "minutes of load per run; `make bench-smoke` runs a tiny bench (tests/loadtests/test_bench.py)",
    ("evaluate", "var/ml100k"): "5-15 s per ML-100K run, several runs; tests/loadtests/test_evaluate.py runs the "
                                "same protocol on a slice",
}


@dataclass(frozen=True)
class DocCommand:
    where: str  # file:line
    env: dict[str, str]
    argv: list[str]  # after `tailor`

    @property
    def name(self) -> str:
        return self.argv[0]


def _blocks(path: Path) -> Iterator[tuple[int, str]]:
    inside = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            inside = not inside
        elif inside:
            yield number, line


def doc_commands() -> list[DocCommand]:
    found, pending = [], ""
    for path in DOCS:
        start = 0
        for number, line in _blocks(path):
            if pending:
                pending += " " + line.strip()
            elif (match := _COMMAND.match(line)) and match.group(2) in COMMANDS:  # at the line's start: no picture
                pending, start = line.strip().removeprefix("$ "), number
            else:
                continue
            if pending.endswith("\\"):
                pending = pending[:-1]
                continue
            words = shlex.split(pending, comments=True)
            env = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S+", w))
            argv = words[len(env) + 1:]
            found.append(DocCommand(f"{path.relative_to(REPO)}:{start}", env, argv))
            pending = ""
    return found


def _skipped(command: DocCommand) -> str | None:
    text = " ".join(command.argv)
    return next((why for (name, part), why in SKIP.items() if command.name == name and part in text), None)


@dataclass(frozen=True)
class Scratch:
    cwd: Path
    target: str
    token: Path


def _uncommented_experiments() -> str:
    text = (REPO / "tailor.example.toml").read_text(encoding="utf-8")
    block = text[text.index("# [experiments]"):text.index("\n[build]")]
    return "\n".join(line.removeprefix("# ") for line in block.splitlines()) + "\n"


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    cwd = tmp_path_factory.mktemp("docs")
    data, root = cwd / "var/demo/data", cwd / "var/demo/artifacts"
    write_demo_store(data, users=1000, items=1000, events=15_000)  # 4-digit ids, as make demo
    build_artifacts(BuildConfig(data_dir=data, out_root=root, dim=16, iterations=4, show_progress=False))
    (cwd / ".venv").symlink_to(REPO / ".venv")
    for name in ("rules.example.toml", "tailor.example.toml"):
        shutil.copy(REPO / name, cwd / name)
    shutil.copy(REPO / "rules.example.toml", cwd / "rules.toml")
    (cwd / "tailor.toml").write_text(_uncommented_experiments(), encoding="utf-8")
    (cwd / "events.csv").write_text("event_id,ts,user_id,session_id,item_id,type,qty,price,channel\n"
                                    "docs-1,2026-11-01T10:00:00Z,u0001,s-docs,i0017,view,1,0,web\n"
                                    "docs-2,2026-11-01T10:01:00Z,u0001,s-docs,i0017,cart,1,0,web\n",
                                    encoding="utf-8")
    token = cwd / "write-token"
    token.write_text("docs-token\n", encoding="ascii")
    server = ServeProcess(root, "--workers", "1", "--config", str(cwd / "tailor.toml"))
    try:
        with TailorClient(server.target, timeout=10) as client:  # an answer with a request_id: an impression
            client.recommend(5, user_id="u0001", request_id="docs-impression")
        wait_until(lambda: any((root / "live" / "impressions").rglob("*")), 30, "no impression was written")
        yield Scratch(cwd, server.target, token)
    finally:
        assert server.stop() == 0


def _run(command: DocCommand, scratch: Scratch) -> subprocess.CompletedProcess[str]:
    rewrite = {"localhost:50051": scratch.target, "/etc/tailor/write-token": str(scratch.token)}
    argv = [rewrite.get(word, word) for word in command.argv]
    env = {**os.environ, "TAILOR_TARGET": scratch.target, **command.env}
    return subprocess.run([sys.executable, "-m", "clients.tailor", *argv], cwd=scratch.cwd, env=env,
                          capture_output=True, text=True, timeout=120)


COMMANDS_IN_DOCS = doc_commands()


def test_the_docs_hold_commands_of_every_kind() -> None:
    names = {c.name for c in COMMANDS_IN_DOCS}
    assert {"recommend", "rerank", "rules", "track", "forget", "profile", "segments", "import", "evaluate",
            "experiments", "serve", "bench"} <= names
    assert all(_skipped(c) is None for c in COMMANDS_IN_DOCS if c.name in ("recommend", "rules", "segments"))


@pytest.mark.parametrize("command", COMMANDS_IN_DOCS, ids=[c.where for c in COMMANDS_IN_DOCS])
def test_documented_command_runs_as_written(command: DocCommand, scratch: Scratch) -> None:
    why = _skipped(command)
    if why:
        pytest.skip(why)
    out = _run(command, scratch)
    assert out.returncode == 0, f"{command.where}: tailor {' '.join(command.argv)}\n{out.stdout}\n{out.stderr}"
    assert "Traceback" not in out.stderr and "deprecated" not in out.stderr, out.stderr
