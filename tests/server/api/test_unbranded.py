"""A store without a brand column: its items are "unbranded" (the builder's name for no brand), and that is
nobody's brand — not in a reason, not in a profile's top brands, not in a brand-loyalist tag. Built in
tmp_path and served by the real server."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clients import TailorClient
from clients.tailor import main as tailor
from index_builder import build_artifacts
from index_builder.demo import write_demo_store
from protos import artifact
from server import ServerConfig, start_server
from tests.conftest import small_config


@dataclass(frozen=True)
class Unbranded:
    root: Path
    buyers: list[str]  # consenting users with a purchase


def _drop_brand_column(items: Path) -> None:
    with items.open(newline="") as f:
        rows = list(csv.DictReader(f))
    columns = [c for c in rows[0] if c != "brand"]
    with items.open("w", newline="") as f:
        w = csv.DictWriter(f, columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="module")
def unbranded(tmp_path_factory: pytest.TempPathFactory) -> Unbranded:
    data = tmp_path_factory.mktemp("unbranded-store")
    write_demo_store(data, users=300, items=200, events=12_000, seed=5)
    _drop_brand_column(data / "items.csv")
    root = tmp_path_factory.mktemp("unbranded-artifacts")
    manifest = build_artifacts(small_config(data, root))
    assert list(manifest.brands) == ["unbranded"]  # the premise: one brand code, meaning none
    with (data / "users.csv").open(newline="") as f:
        consenting = {row["user_id"] for row in csv.DictReader(f) if row["consent"] == "true"}
    with (data / "events.csv").open(newline="") as f:
        buyers = {row["user_id"] for row in csv.DictReader(f) if row["type"] == "purchase"} & consenting
    return Unbranded(root, sorted(buyers))


@pytest.fixture(scope="module")
def unbranded_client(unbranded: Unbranded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TailorClient]:
    served = tmp_path_factory.mktemp("unbranded-served")  # its own copy: an LMDB file opens once per process
    artifact.clone_current(unbranded.root, served)
    server = start_server(ServerConfig(artifacts=served, port=0))
    try:
        with TailorClient(f"127.0.0.1:{server.port}", timeout=10) as c:
            yield c
    finally:
        server.stop(grace=None)


def test_no_reason_names_unbranded_as_a_brand(unbranded: Unbranded, unbranded_client: TailorClient) -> None:
    shoppers = unbranded.buyers[:40]
    assert len(shoppers) == 40
    reasons = [r for user in shoppers for item in unbranded_client.recommend(10, user_id=user).items
               for r in item.reasons]
    assert any(r.code == "category_affinity" for r in reasons)  # the profile reasons are on
    assert not [r.text for r in reasons if r.code == "brand_affinity" or "unbranded" in r.text]


def test_a_profile_lists_no_top_brand(unbranded: Unbranded, unbranded_client: TailorClient) -> None:
    for user in unbranded.buyers[:10]:
        profile = unbranded_client.get_profile(user)
        assert profile.top_categories and not profile.top_brands


def test_segments_tag_no_brand_loyalist(unbranded: Unbranded, tmp_path: Path) -> None:
    export = tmp_path / "facts.csv"
    assert tailor(["segments", "--artifacts", str(unbranded.root), "--csv", str(export), "--quiet"]) == 0
    with export.open(newline="") as f:
        tags = [row["tags"] for row in csv.DictReader(f)]
    assert len(tags) > 100
    assert not [t for t in tags if "brand loyalist" in t]
