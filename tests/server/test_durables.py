"""End to end: on the built demo store, durables are not rebought often enough to come back as
buy_again, while the consumables department is."""

from __future__ import annotations

import numpy as np

from index_builder.demo.vocabulary import REPURCHASE_DAYS
from server.policy import RankingPolicy
from server.snapshot import load_snapshot
from tests.conftest import Built


def test_durables_fall_below_buy_again_while_consumables_stay_above(built: Built) -> None:
    snapshot = load_snapshot((built.root / "current").resolve())
    catalog = snapshot.catalog
    names = np.asarray(catalog.category_names, dtype=object)[catalog.category]
    consumable = np.isin(names, list(REPURCHASE_DAYS))
    min_rate = RankingPolicy().buy_again_min_rate
    rate = catalog.repurchase_rate
    assert rate[~consumable].max() < min_rate
    bought_consumables = rate[consumable & (rate > 0)]
    assert np.median(bought_consumables) > min_rate
