"""The rooms keep their promises about what they load: ranking and merchandising are pure (no gRPC, LMDB or
FAISS), the package doors are lazy, and the artifact contract's codecs load no LMDB."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import server.merchandising
import server.ranking

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("grpc", "lmdb", "faiss", "implicit")


def _loaded_after(code: str, watch: tuple[str, ...]) -> list[str]:
    probe = f"import sys\n{code}\nprint('loaded:', *(m for m in {watch!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout.rsplit("loaded:", 1)[1].split()


def _modules(package: object) -> list[str]:
    return [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]  # type: ignore[attr-defined]


# merchandising.reload is the one runtime part of the rules: a thread that watches the file beside the served
# snapshot (server.runtime.versions), so it may load what the runtime loads.
PURE = [m for m in _modules(server.ranking) + _modules(server.merchandising) if m != "server.merchandising.reload"]


@pytest.mark.parametrize("module", PURE)
def test_ranking_and_merchandising_load_no_grpc_lmdb_or_faiss(module: str) -> None:
    assert _loaded_after(f"import {module}", LIBRARIES) == []


def test_the_package_doors_load_nothing_until_a_name_is_used() -> None:
    assert _loaded_after("import server, index_builder, clients, protos", LIBRARIES + ("server.runtime",)) == []
    assert _loaded_after("from server import ServerConfig", ("grpc", "lmdb", "faiss")) == []


def test_the_artifact_contract_loads_lmdb_only_for_its_files_and_versions() -> None:
    assert _loaded_after("from protos import artifact, live\nartifact.unpack_profile", ("lmdb",)) == []
    assert _loaded_after("from protos import artifact\nartifact.open_store", ("lmdb",)) == ["lmdb"]
