"""The committed stubs are exactly what the .proto files generate: they never drift."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
GENERATED = {
    "decision.proto": ["decision_pb2.py", "decision_pb2.pyi", "decision_pb2_grpc.py"],
    "artifact.proto": ["artifact_pb2.py", "artifact_pb2.pyi"],
}


@pytest.mark.parametrize("proto", sorted(GENERATED))
def test_stubs_match_protos(proto: str, tmp_path: Path) -> None:
    (tmp_path / "protos").mkdir()
    shutil.copy(ROOT / "protos" / proto, tmp_path / "protos" / proto)
    args = ["protoc", f"-I{tmp_path}", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}"]
    if any(name.endswith("_grpc.py") for name in GENERATED[proto]):
        args.append(f"--grpc_python_out={tmp_path}")
    assert protoc.main([*args, str(tmp_path / "protos" / proto)]) == 0
    for name in GENERATED[proto]:
        fresh = (tmp_path / "protos" / name).read_text()
        assert fresh == (ROOT / "protos" / name).read_text(), f"protos/{name} is stale: run `make protos`"
