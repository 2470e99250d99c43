"""A brand-new product (no interactions) reaches the shoppers whose taste matches it."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

from clients import TailorClient
from index_builder import build_artifacts
from server import ServerConfig, start_server
from tests.conftest import Built, small_config
from tests.support import LOYAL_USER


def test_a_new_item_of_the_shoppers_category_and_brand_is_recommended(built: Built, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(built.data, data)
    bought = sorted(built.store.purchased[LOYAL_USER])
    brand = Counter(built.store.brand[i] for i in bought).most_common(1)[0][0]
    model = next(i for i in bought if built.store.brand[i] == brand)
    with (data / "items.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    title = next(r["title"] for r in rows if r["item_id"] == model)
    new = dict(rows[0], item_id="i-brand-new", title=title.rsplit(" ", 1)[0] + " 999", category=built.loyal_category,
               brand=brand, price=str(built.store.price[model]), in_stock="true")
    with (data / "items.csv").open("a", newline="") as f:
        csv.DictWriter(f, fieldnames=list(rows[0])).writerow(new)
    root = tmp_path / "artifacts"
    manifest = build_artifacts(small_config(data, root))
    assert manifest.counts.items_cold >= 1
    server = start_server(ServerConfig(artifacts=root, port=0))
    try:
        with TailorClient(f"127.0.0.1:{server.port}", timeout=10) as client:
            answer = [i.item_id for i in client.recommend(50, user_id=LOYAL_USER).items]
    finally:
        server.stop(grace=None)
    # Linked from the warm items nearest it by content (BuildConfig.cold_links), it ranks among the shopper's
    # first 50 of 800 (29th when written) without a single interaction.
    assert "i-brand-new" in answer
