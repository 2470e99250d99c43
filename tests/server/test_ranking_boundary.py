"""The ranking boundary: `recommend(snapshot, policy, RequestArrays)` and the same for Rerank, and ranking
modules that import neither gRPC nor LMDB (the request and the store stay where requests enter)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from server import ranking
from server.request_arrays import RequestArrays

_RANKING = ("ranking", "stages", "diversity", "explore", "caps", "scoring", "policy", "complements",
            "merchandising", "request_arrays")


@pytest.mark.parametrize("module", _RANKING)
def test_ranking_modules_import_neither_grpc_nor_lmdb(module: str) -> None:
    tree = ast.parse((Path(ranking.__file__).parent / f"{module}.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"grpc", "grpc_status", "lmdb"}, module


def test_both_pipelines_take_the_snapshot_the_policy_and_the_requests_arrays() -> None:
    for pipeline in (ranking.recommend, ranking.rerank):
        assert list(inspect.signature(pipeline).parameters) == ["snapshot", "policy", "request"]
    assert RequestArrays.__dataclass_params__.frozen  # type: ignore[attr-defined]
