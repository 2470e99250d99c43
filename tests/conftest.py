"""Shared fixtures: one small demo store, built once, served by the real server on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clients import TailorClient
from index_builder import BuildConfig, build_artifacts
from index_builder.demo import write_demo_store
from protos import artifact, artifact_pb2
from server import RunningServer, ServerConfig, start_server
from tests.support import Store, add_known_shoppers, read_store


@dataclass(frozen=True)
class Built:
    data: Path
    root: Path
    manifest: artifact_pb2.Manifest
    store: Store
    loyal_category: str


def small_config(data: Path, root: Path) -> BuildConfig:
    return BuildConfig(data_dir=data, out_root=root, dim=32, iterations=8, show_progress=False)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    data = tmp_path_factory.mktemp("store")
    write_demo_store(data, users=1500, items=800, events=60_000, seed=11)
    category = add_known_shoppers(data)
    root = tmp_path_factory.mktemp("artifacts")
    manifest = build_artifacts(small_config(data, root))
    return Built(data, root, manifest, read_store(data), category)


@pytest.fixture(scope="session")
def running(built: Built) -> Iterator[RunningServer]:
    server = start_server(ServerConfig(artifacts=built.root, port=0))
    yield server
    server.stop(grace=None)


@pytest.fixture(scope="session")
def client(running: RunningServer) -> Iterator[TailorClient]:
    with TailorClient(f"127.0.0.1:{running.port}", timeout=5.0) as c:
        yield c


@pytest.fixture
def own_root(built: Built, tmp_path: Path) -> Path:
    """A private copy of the built artifact root (LMDB allows one open per file per process)."""
    root = tmp_path / "artifacts"
    artifact.clone_current(built.root, root)
    return root


@pytest.fixture
def own_server(own_root: Path) -> Iterator[RunningServer]:
    """The real server on a private copy of the artifact root (and so its own live store)."""
    server = start_server(ServerConfig(artifacts=own_root, port=0))
    yield server
    server.stop(grace=None)


@pytest.fixture
def own_client(own_server: RunningServer) -> Iterator[TailorClient]:
    with TailorClient(f"127.0.0.1:{own_server.port}", timeout=10) as c:
        yield c
