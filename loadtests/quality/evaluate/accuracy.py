"""Offline accuracy metrics: pure functions over recommendations and held-out truth.

`recs[u]` is the list of ids recommended to user u, best first; `truth[u]` the set of ids u
interacted with in the test part (never empty). Each metric is the mean over users of a per-user
value, exactly as the reference protocol (Microsoft Recommenders' ML-100K notebook) computes it:

  P@k       hits in the top k / k                  (a list shorter than k still divides by k)
  R@k       hits in the top k / |truth|
  MAP@k     sum of precision at each hit / |truth|  (not / min(k, |truth|), as the reference)
  nDCG@k    DCG / ideal DCG, ideal over min(k, |truth|) hits; gain 1 / log2(rank + 1)
  hit rate  share of users with at least one hit in the top k
  coverage  distinct ids recommended (top k, over all users) / catalog size
  novelty   mean over every recommended (top k) item of -log2(its popularity share), where
            popularity share = users who interacted with it in training / all training users
            (an item nobody touched counts as one user, so the figure stays finite)
  categories  mean over users of the distinct categories in their top k (intra-list diversity)
  brand share mean over users of the largest number of items of one brand in their top k / k (items
            without a brand not counted; 0.4 = at most 4 of 10 of one brand)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Scores", "precision", "recall", "average_precision", "ndcg", "hit", "coverage", "novelty", "per_user",
           "distinct_categories", "brand_share", "score_all"]


def _hits(recs: Sequence[str], truth: set[str], k: int) -> list[bool]:
    return [r in truth for r in recs[:k]]


def _check(truth: set[str], k: int) -> None:
    if not truth:
        raise ValueError("truth: must not be empty (users without test interactions are not evaluated)")
    if k < 1:
        raise ValueError(f"k: must be >= 1, got {k}")


def precision(recs: Sequence[str], truth: set[str], k: int) -> float:
    _check(truth, k)
    return sum(_hits(recs, truth, k)) / k


def recall(recs: Sequence[str], truth: set[str], k: int) -> float:
    _check(truth, k)
    return sum(_hits(recs, truth, k)) / len(truth)


def average_precision(recs: Sequence[str], truth: set[str], k: int) -> float:
    """Sum of precision at each hit rank, divided by |truth| (the reference's MAP)."""
    _check(truth, k)
    found, total = 0, 0.0
    for rank, is_hit in enumerate(_hits(recs, truth, k), start=1):
        if is_hit:
            found += 1
            total += found / rank
    return total / len(truth)


def ndcg(recs: Sequence[str], truth: set[str], k: int) -> float:
    _check(truth, k)
    dcg = sum(1.0 / np.log2(rank + 1) for rank, is_hit in enumerate(_hits(recs, truth, k), start=1) if is_hit)
    ideal = sum(1.0 / np.log2(rank + 1) for rank in range(1, min(k, len(truth)) + 1))
    return float(dcg / ideal)


def hit(recs: Sequence[str], truth: set[str], k: int) -> float:
    _check(truth, k)
    return float(any(_hits(recs, truth, k)))


def coverage(recs: Sequence[Sequence[str]], catalog_size: int, k: int) -> float:
    if catalog_size < 1:
        raise ValueError(f"catalog_size: must be >= 1, got {catalog_size}")
    return len({r for row in recs for r in row[:k]}) / catalog_size


def novelty(recs: Sequence[Sequence[str]], popularity: Mapping[str, int], n_users: int, k: int) -> float:
    """Mean self-information -log2(users_of(i) / n_users) over every recommended item; 0 when nothing is."""
    if n_users < 1:
        raise ValueError(f"n_users: must be >= 1, got {n_users}")
    counts = [max(1, popularity.get(r, 0)) for row in recs for r in row[:k]]
    if not counts:
        return 0.0
    return float(np.mean(-np.log2(np.asarray(counts, dtype=np.float64) / n_users)))


def distinct_categories(recs: Sequence[Sequence[str]], category: Mapping[str, str], k: int) -> float:
    """Mean number of distinct categories in each list's top k (an unknown item counts as its own)."""
    if not recs:
        return 0.0
    return float(np.mean([len({category.get(r, r) for r in row[:k]}) for row in recs]))


def brand_share(recs: Sequence[Sequence[str]], brand: Mapping[str, str], k: int) -> float:
    """Mean over lists of the most items of one brand in the top k, over k; items without a brand
    ("" or "unbranded", or unknown) are not counted."""
    if not recs:
        return 0.0
    shares = []
    for row in recs:
        counts: dict[str, int] = {}
        for r in row[:k]:
            name = brand.get(r, "")
            if name and name != "unbranded":
                counts[name] = counts.get(name, 0) + 1
        shares.append(max(counts.values(), default=0) / k)
    return float(np.mean(shares))


def per_user(metric: Callable[[Sequence[str], set[str], int], float], recs: Sequence[Sequence[str]],
             truth: Sequence[set[str]], k: int) -> np.ndarray:
    """`metric` at k of each user (`recs` and `truth` aligned by user)."""
    return np.array([metric(r, t, k) for r, t in zip(recs, truth, strict=True)], dtype=np.float64)


@dataclass(frozen=True)
class Scores:
    """One model's figures on one split."""

    map: float
    ndcg: float
    precision: float
    recall: float
    hit_rate: float
    coverage: float
    novelty: float
    categories: float = 0.0
    brand_share: float = 0.0


def score_all(recs: Sequence[Sequence[str]], truth: Sequence[set[str]], k: int, *, catalog_size: int,
              popularity: Mapping[str, int], n_users: int, category: Mapping[str, str] | None = None,
              brand: Mapping[str, str] | None = None) -> Scores:
    """Every metric at k; `recs` and `truth` are aligned by user; `category` and `brand` per item id
    (none: those two figures are 0)."""
    if len(recs) != len(truth):
        raise ValueError(f"recs: {len(recs)} lists for {len(truth)} users")
    if not truth:
        raise ValueError("truth: no users to evaluate")

    def mean(metric: Callable[[Sequence[str], set[str], int], float]) -> float:
        return float(np.mean(per_user(metric, recs, truth, k)))

    return Scores(map=mean(average_precision), ndcg=mean(ndcg), precision=mean(precision), recall=mean(recall),
                  hit_rate=mean(hit), coverage=coverage(recs, catalog_size, k),
                  novelty=novelty(recs, popularity, n_users, k),
                  categories=distinct_categories(recs, category, k) if category is not None else 0.0,
                  brand_share=brand_share(recs, brand, k) if brand is not None else 0.0)
