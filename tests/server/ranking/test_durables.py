"""End to end: on the built demo store, durables are not rebought often enough to come back as
buy_again, while the consumables department is."""

from __future__ import annotations

import numpy as np

from index_builder.demo.vocabulary import REPURCHASE_DAYS
from server.ranking.policy import RankingPolicy
from tests.conftest import Built


def test_durables_fall_below_buy_again_while_consumables_stay_above(built: Built) -> None:
    # The arrays as the server maps them (a snapshot would open the version's LMDB, which the session's
    # server already holds open in this process).
    version = (built.root / "current").resolve()
    names = np.asarray(list(built.manifest.categories), dtype=object)[np.load(version / "item_category.npy")]
    consumable = np.isin(names, list(REPURCHASE_DAYS))
    min_rate = RankingPolicy().buy_again_min_rate
    rate = np.load(version / "item_repurchase_rate.npy")
    assert rate[~consumable].max() < min_rate
    bought_consumables = rate[consumable & (rate > 0)]
    assert np.median(bought_consumables) > min_rate
