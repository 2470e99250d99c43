"""What the server's exploration step (server/ranking/explore.py) samples from, learned from the log:

- category priors: per category a Beta(alpha, beta) over "a shopper converts in this category",
  alpha = successes + 1 and beta = trials - successes + 1 (the uniform prior updated by the log).
  A trial is an active shopper (a known, consenting user with events: every category has the same
  trials); a success is a shopper with at least one event of the log's strongest event type in the
  category — a purchase, or a cart in a log without purchases, or a view in a log of views only
  (MovieLens ratings). So the prior is each category's conversion reach, defined the same way on an
  order log and on a ratings log; the server tempers it (RankingPolicy.explore_evidence) before it
  draws one Thompson sample per category;
- category popular rows: per category its in-stock items in the global popularity order (the order of
  popular_rows, items without events last), -1 padded ([categories, k]): where an explore slot takes
  a strong item of the category it sampled.
"""

from __future__ import annotations

import numpy as np

from index_builder.shoppers.affinities import bounds_of

__all__ = ["category_priors", "category_popular_rows"]


def category_priors(user: np.ndarray, item: np.ndarray, kind: np.ndarray, item_category: np.ndarray,
                    n_categories: int) -> np.ndarray:
    """float32 [n_categories, 2]: (alpha, beta) per category (module docstring). `user` is a code per
    event (>= 0), `kind` its index into inputs.EVENT_TYPES (view, cart, purchase)."""
    out = np.ones((n_categories, 2), dtype=np.float32)
    if not len(user) or not n_categories:
        return out
    strongest = kind == kind.max()
    users = np.unique(user)
    pairs = np.unique(user[strongest].astype(np.int64) * n_categories + item_category[item[strongest]])
    successes = np.bincount(pairs % n_categories, minlength=n_categories)
    out[:, 0] += successes
    out[:, 1] += len(users) - successes
    return out


def category_popular_rows(popularity: np.ndarray, item_category: np.ndarray, in_stock: np.ndarray,
                          n_categories: int, k: int) -> np.ndarray:
    """int32 [n_categories, k]: each category's first k in-stock rows of `popularity` (every catalog row,
    most popular first), -1 where a category has fewer."""
    rows = popularity[in_stock[popularity]]
    categories = item_category[rows]
    order = np.argsort(categories, kind="stable")
    rows, categories = rows[order], categories[order]
    rank = np.arange(len(rows)) - bounds_of(categories, n_categories)[categories]
    keep = rank < k
    out = np.full((n_categories, k), -1, dtype=np.int32)
    out[categories[keep], rank[keep]] = rows[keep]
    return out
