"""The exploration arrays the builder learns: per-category Beta priors and popular lists."""

from __future__ import annotations

import numpy as np

from index_builder.models.exploration import category_popular_rows, category_priors
from protos import artifact
from tests.conftest import Built

VIEW, CART, PURCHASE = 0, 1, 2


def test_priors_count_shoppers_who_convert_in_each_category() -> None:
    item_category = np.array([0, 0, 1, 2])
    user = np.array([0, 0, 1, 1, 2, 2, 3])
    item = np.array([0, 1, 0, 2, 2, 3, 3])
    kind = np.array([PURCHASE, PURCHASE, VIEW, PURCHASE, VIEW, VIEW, PURCHASE])
    priors = category_priors(user, item, kind, item_category, 4)
    # 4 active shoppers; buyers: category 0 user 0 (twice: once), category 1 user 1, category 2 user 3.
    assert priors.tolist() == [[2, 4], [2, 4], [2, 4], [1, 5]]
    assert priors.dtype == np.float32


def test_a_log_without_purchases_counts_its_strongest_event_type() -> None:
    item_category = np.array([0, 1])
    views = category_priors(np.array([0, 1, 2]), np.array([0, 0, 1]), np.array([VIEW] * 3), item_category, 2)
    assert views.tolist() == [[3, 2], [2, 3]]  # a ratings log: "converts" = rated a film of the genre
    assert category_priors(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8),
                           item_category, 2).tolist() == [[1, 1], [1, 1]]


def test_category_lists_keep_the_popular_order_in_stock_only_padded() -> None:
    popularity = np.array([4, 0, 3, 1, 2, 5])  # every row, most popular first
    item_category = np.array([0, 1, 0, 0, 1, 2])
    in_stock = np.array([True, True, True, False, True, True])
    lists = category_popular_rows(popularity, item_category, in_stock, 4, 2)
    assert lists.tolist() == [[0, 2], [4, 1], [5, -1], [-1, -1]]


def test_the_built_artifact_holds_both_arrays(built: Built) -> None:
    version = (built.root / "current").resolve()
    lists = np.load(version / artifact.ITEM_ARRAYS["category_popular_rows"].file)
    assert lists.shape[0] == len(built.manifest.categories)
    ids = np.load(version / artifact.ITEM_ARRAYS["ids"].file)
    category = np.load(version / artifact.ITEM_ARRAYS["category"].file)
    stock = np.load(version / artifact.ITEM_ARRAYS["in_stock"].file)
    listed = lists[lists >= 0]
    assert stock[listed].all() and len(set(listed.tolist())) == len(listed)
    assert (category[lists[:, 0][lists[:, 0] >= 0]] == np.flatnonzero(lists[:, 0] >= 0)).all()
    assert len(ids) == built.manifest.counts.items
    assert built.manifest.schema_version == artifact.SCHEMA_VERSION
