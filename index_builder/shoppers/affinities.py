"""Per-shopper affinities and price positions, as sorts and bincounts over the event arrays.

- `top_codes`: each user's strongest codes (categories or brands) by summed weight, as shares of the
  user's total weight, strongest first; codes that name nothing (an item without a brand) count in the
  total but are never listed.
- `price_positions`: where a price sits among its category's catalog prices, 0..1 (the mid-rank
  percentile: the share of the category's items cheaper, plus half the share priced the same), so a
  category of one item puts it at 0.5 and the ranks do not depend on the currency or the spread.
- `mean_by_user`: a weighted mean per user (the shopper's price position is the weighted mean of the
  positions of the prices they paid).
"""

from __future__ import annotations

import numpy as np

__all__ = ["top_codes", "price_positions", "mean_by_user", "bounds_of"]


def bounds_of(sorted_codes: np.ndarray, n_codes: int) -> np.ndarray:
    """starts[c]..starts[c+1] is the slice of code c in an array sorted by code."""
    return np.searchsorted(sorted_codes, np.arange(n_codes + 1))


def top_codes(user: np.ndarray, code: np.ndarray, weight: np.ndarray, n_users: int, k: int,
              unlisted: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each user's k strongest codes and their shares of the user's total weight (positive weights only),
    strongest first (ties: lower code first); user u's slice is bounds[u]:bounds[u+1].

    `unlisted`: codes never listed (the brand code of items without a brand). Their weight stays in the
    user's total — a shopper who buys mostly unbranded goods is not loyal to the one brand they also buy —
    but they take no place among the k."""
    positive = weight > 0
    user, code, weight = user[positive].astype(np.int64), code[positive].astype(np.int64), weight[positive]
    n_codes = int(code.max()) + 1 if len(code) else 1
    pairs, inverse = np.unique(user * n_codes + code, return_inverse=True)
    mass = np.bincount(inverse, weights=weight, minlength=len(pairs))
    owner, codes = pairs // n_codes, pairs % n_codes
    total = np.bincount(owner, weights=mass, minlength=n_users)
    share = mass / np.where(total[owner] > 0, total[owner], 1.0)
    if unlisted is not None and len(unlisted):
        listed = ~np.isin(codes, unlisted)
        owner, codes, share = owner[listed], codes[listed], share[listed]
    order = np.lexsort((codes, -share, owner))
    owner, codes, share = owner[order], codes[order], share[order]
    starts = bounds_of(owner, n_users)
    rank = np.arange(len(owner)) - starts[owner]
    keep = rank < k
    return codes[keep].astype(np.int32), share[keep].astype(np.float32), bounds_of(owner[keep], n_users)


def _count_before(cat_items: np.ndarray, price_items: np.ndarray, cat: np.ndarray, price: np.ndarray,
                  inclusive: bool) -> np.ndarray:
    """Per query (cat, price): the catalog items of that category priced below it (or at most it)."""
    n = len(cat_items)
    cats = np.concatenate([cat_items, cat]).astype(np.int64)
    prices = np.concatenate([price_items, price]).astype(np.float64)
    is_query = np.concatenate([np.zeros(n, bool), np.ones(len(cat), bool)])
    # A query sorts after equal-priced items when counting "at most", before them when counting "below".
    tie = is_query if inclusive else ~is_query
    order = np.lexsort((tie, prices, cats))
    items_so_far = np.cumsum(~is_query[order])
    category_start = np.searchsorted(np.sort(cat_items.astype(np.int64)), cats[order])
    counts = np.empty(len(order), dtype=np.int64)
    counts[order] = items_so_far - category_start
    return counts[n:]


def price_positions(cat_items: np.ndarray, price_items: np.ndarray, cat: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Mid-rank percentile (0..1) of each `price` among the catalog prices of its category `cat`."""
    if len(cat) == 0:
        return np.zeros(0, dtype=np.float32)
    size = np.bincount(cat_items, minlength=int(max(cat_items.max(), cat.max())) + 1)[cat]
    below = _count_before(cat_items, price_items, cat, price, inclusive=False)
    at_most = _count_before(cat_items, price_items, cat, price, inclusive=True)
    position = (below + at_most) / 2.0 / np.maximum(size, 1)
    return np.clip(position, 0.0, 1.0).astype(np.float32)


def mean_by_user(user: np.ndarray, values: np.ndarray, weight: np.ndarray, n_users: int,
                 empty: float) -> np.ndarray:
    """Weighted mean of `values` per user; `empty` where a user has no positive weight."""
    total = np.bincount(user, weights=weight, minlength=n_users)
    summed = np.bincount(user, weights=weight * values, minlength=n_users)
    return np.where(total > 0, summed / np.where(total > 0, total, 1.0), empty).astype(np.float32)
