"""The callers' package stays light, and the `tailor` entry point assembles every package's subcommands."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from clients.tailor import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("faiss", "implicit", "index_builder", "server", "loadtests", "lmdb")


def _loaded_after(code: str) -> list[str]:
    """The HEAVY modules a fresh interpreter holds after running code."""
    probe = f"import sys\n{code}\nprint('loaded:', *(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout.rsplit("loaded:", 1)[1].split()


def test_importing_the_client_loads_no_server_builder_or_benchmark() -> None:
    assert _loaded_after("import clients\nfrom clients import TailorClient") == []


def test_help_lists_every_subcommand_without_importing_them() -> None:
    out = subprocess.run([sys.executable, "-m", "clients.tailor", "--help"], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    for name, (_, text) in COMMANDS.items():
        assert f"  {name}" in out.stdout and text in out.stdout, name
    code = "from clients.tailor import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert _loaded_after(code) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_subcommand_parses_its_own_flags(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(COMMANDS[name][0])
    with pytest.raises(SystemExit) as exit_:
        module.main([name, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: tailor {name} ")


def test_the_installed_script_is_the_entry_point() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"tailor": "clients.tailor:main"}


def test_rules_check_loads_no_grpc_lmdb_or_faiss() -> None:
    code = ("from clients.tailor import main\ntry:\n    main(['rules', 'check', '--rules', 'rules.example.toml'])\n"
            "except SystemExit:\n    pass\nfor m in ('grpc', 'lmdb', 'faiss'):\n    assert m not in sys.modules, m")
    assert "faiss" not in _loaded_after(code) and "lmdb" not in _loaded_after(code)
