"""Rerank evaluation: does Tailor's Rerank improve a noisy upstream ("search engine") order?

For every test user with at least one held-out item in the catalog (all draws from one
`np.random.default_rng(seed)`):

  positives   the user's held-out items; at most MAX_POSITIVES (a seeded sample when there are more)
  negatives   NEGATIVES_PER_POSITIVE per positive, drawn uniformly without replacement from the catalog
              items the user never touched (in train or in test); fewer only when the catalog runs out
  upstream    score = popularity score + Normal(0, UPSTREAM_NOISE), where the popularity score is
              1 - rank / (items - 1) of the item's train interaction count (most popular 1.0, least 0.0,
              ties in catalog order): a search engine that knows what sells, not what this user likes

so at most MAX_POSITIVES * (1 + NEGATIVES_PER_POSITIVE) = 100 candidates per user. The candidates go
to `Rerank(user_id=U)` best first with their upstream scores; the upstream order and Rerank's order
are scored against the positives sent with nDCG@k and R@k (metrics.py), beside a reference: the
same candidates by the popularity score alone, without the noise (uniformly drawn negatives are
mostly unpopular items, so that order is already a strong one).

Candidates are flat arrays grouped by user (CSR-like offsets), built without a Python loop per user;
the per-user loop is the gRPC calls.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from clients import TailorClient
from loadtests.quality.evaluate.accuracy import ndcg, recall

__all__ = ["MAX_POSITIVES", "NEGATIVES_PER_POSITIVE", "UPSTREAM_NOISE", "CandidateSets", "RerankReport",
           "RerankRow", "rerank_all", "rerank_report", "sample_candidates", "score_rerank"]

MAX_POSITIVES = 20
NEGATIVES_PER_POSITIVE = 4
UPSTREAM_NOISE = 0.3
_BATCH = 4096


@dataclass(frozen=True)
class CandidateSets:
    """Per user, candidates in upstream order: user u's are rows offsets[u]:offsets[u + 1] of the flat arrays."""

    users: list[str]
    offsets: np.ndarray  # int64, len(users) + 1
    items: np.ndarray  # int64 item column per candidate
    scores: np.ndarray  # float64 upstream score, descending within a user
    positive: np.ndarray  # bool: a held-out item of the user
    prior: np.ndarray  # float64 popularity score without the noise


@dataclass(frozen=True)
class RerankRow:
    """One order of the candidates, scored."""

    name: str
    ndcg: float
    recall: float


@dataclass(frozen=True)
class RerankReport:
    """The Rerank table: the upstream order against Tailor's, on the same candidates."""

    users: int
    candidates: int
    positives: int
    rows: list[RerankRow]
    p50_ms: float
    p99_ms: float


def sample_candidates(users: Sequence[str], positives: Sequence[np.ndarray], seen: sp.csr_matrix,
                      popularity: np.ndarray, seed: int) -> CandidateSets:
    """Candidates for each of `users` (rows of `seen`, nonzero = touched in train), whose held-out item
    columns are `positives`; `popularity` is each item's train interaction count. See the module docstring."""
    n_items = seen.shape[1]
    rng = np.random.default_rng(seed)
    pos_user = np.repeat(np.arange(len(users)), [len(p) for p in positives])
    pos_item = np.concatenate([np.asarray(p, dtype=np.int64) for p in positives]) if len(users) else np.zeros(0, int)
    touched = np.union1d(_keys(*_coo(seen), n_items), pos_user * n_items + pos_item)
    keep = _within_user_rank(pos_user, rng.random(len(pos_user))) < MAX_POSITIVES
    pos_user, pos_item = pos_user[keep], pos_item[keep]
    n_pos = np.bincount(pos_user, minlength=len(users))
    untouched = n_items - np.bincount(touched // n_items, minlength=len(users))
    neg_user, neg_item = _negatives(touched, n_items, np.minimum(NEGATIVES_PER_POSITIVE * n_pos, untouched), rng)
    user = np.concatenate([pos_user, neg_user])
    item = np.concatenate([pos_item, neg_item])
    prior = _popularity_score(popularity)[item]
    scores = prior + rng.normal(0.0, UPSTREAM_NOISE, len(item))
    order = np.lexsort((-scores, user))
    counts = np.bincount(user, minlength=len(users))
    has = counts > 0
    offsets = np.concatenate(([0], np.cumsum(counts[has])))
    positive = np.arange(len(item)) < len(pos_item)
    return CandidateSets([u for u, h in zip(users, has, strict=True) if h], offsets, item[order], scores[order],
                         positive[order], prior[order])


def rerank_all(client: TailorClient, sets: CandidateSets, item_ids: Sequence[str],
               progress: bool) -> tuple[list[list[str]], np.ndarray]:
    """Tailor's order of every user's candidates (one Rerank call each), and each call's seconds."""
    reranked, latency = [], []
    for u, user in enumerate(tqdm(sets.users, desc="Tailor Rerank", unit="user", disable=not progress, leave=False)):
        rows = slice(sets.offsets[u], sets.offsets[u + 1])
        candidates = [(item_ids[i], float(s)) for i, s in zip(sets.items[rows], sets.scores[rows], strict=True)]
        sent = time.perf_counter()
        decision = client.rerank(candidates, user_id=user)
        latency.append(time.perf_counter() - sent)
        reranked.append([item.item_id for item in decision.items])
    return reranked, np.asarray(latency)


def score_rerank(sets: CandidateSets, item_ids: Sequence[str], reranked: Sequence[Sequence[str]], k: int,
                 latency: np.ndarray) -> RerankReport:
    """nDCG@k and R@k of the upstream order, of `reranked` (aligned with `sets.users`) and of the noise-free
    popularity order."""
    user = np.repeat(np.arange(len(sets.users)), np.diff(sets.offsets))
    by_prior = sets.items[np.lexsort((np.arange(len(user)), -sets.prior, user))]
    upstream, prior_order, truth = [], [], []
    for u in range(len(sets.users)):
        rows = slice(sets.offsets[u], sets.offsets[u + 1])
        upstream.append([item_ids[i] for i in sets.items[rows]])
        prior_order.append([item_ids[i] for i in by_prior[rows]])
        truth.append({item_ids[i] for i in sets.items[rows][sets.positive[rows]]})

    return rerank_report(sets, truth, [("upstream (popularity + noise)", upstream), ("Tailor Rerank", reranked),
                                       ("reference: popularity, no noise", prior_order)], k, latency)


def rerank_report(sets: CandidateSets, truth: Sequence[set[str]], named: Sequence[tuple[str, Sequence[Sequence[str]]]],
                  k: int, latency: np.ndarray) -> RerankReport:
    """The report of candidate orders (name, one order per user) against each user's held-out items."""

    def row(name: str, orders: Sequence[Sequence[str]]) -> RerankRow:
        pairs = list(zip(orders, truth, strict=True))
        return RerankRow(name, float(np.mean([ndcg(o, t, k) for o, t in pairs])) if pairs else 0.0,
                         float(np.mean([recall(o, t, k) for o, t in pairs])) if pairs else 0.0)

    p50, p99 = np.percentile(latency * 1e3, [50, 99]) if len(latency) else (float("nan"), float("nan"))
    return RerankReport(len(sets.users), len(sets.items), int(sets.positive.sum()),
                        [row(name, orders) for name, orders in named], float(p50), float(p99))


# --- helpers ------------------------------------------------------------------------------------------------------


def _coo(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    coo = matrix.tocoo()
    nonzero = coo.data != 0
    return coo.row[nonzero].astype(np.int64), coo.col[nonzero].astype(np.int64)


def _keys(user: np.ndarray, item: np.ndarray, n_items: int) -> np.ndarray:
    return user * n_items + item


def _within_user_rank(user: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Per entry: its 0-based rank among its user's entries by `key`."""
    order = np.lexsort((key, user))
    starts = np.searchsorted(user[order], user[order], side="left")
    rank = np.empty(len(user), dtype=np.int64)
    rank[order] = np.arange(len(user)) - starts
    return rank


def _popularity_score(popularity: np.ndarray) -> np.ndarray:
    """1 - rank / (items - 1) by train interaction count, most popular first, ties in catalog order."""
    rank = np.empty(len(popularity), dtype=np.float64)
    rank[np.argsort(-np.asarray(popularity, dtype=np.float64), kind="stable")] = np.arange(len(popularity))
    return 1.0 - rank / max(len(popularity) - 1, 1)


def _negatives(touched: np.ndarray, n_items: int, need: np.ndarray,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """need[u] distinct untouched items per user u (`touched`: sorted user * n_items + item keys): uniform
    draws, of which the first distinct untouched ones are kept; users still short draw exactly."""
    users, items = [], []
    for start in range(0, len(need), _BATCH):
        part = need[start:start + _BATCH]
        draws = rng.integers(0, n_items, size=(len(part), 2 * int(part.max(initial=0)) + 16))
        user = np.arange(start, start + len(part))[:, None]
        valid = ~_repeats(draws) & ~np.isin(_keys(user, draws, n_items), touched)
        take = valid & (np.cumsum(valid, axis=1) <= part[:, None])
        short = take.sum(axis=1) < part
        take[short] = False
        rows, cols = np.nonzero(take)
        users.append(rows + start)
        items.append(draws[rows, cols])
        for u in np.flatnonzero(short) + start:
            seen = touched[(touched >= u * n_items) & (touched < (u + 1) * n_items)] - u * n_items
            chosen = rng.choice(np.setdiff1d(np.arange(n_items), seen), size=int(need[u]), replace=False)
            users.append(np.full(len(chosen), u))
            items.append(chosen)
    if not users:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(users).astype(np.int64), np.concatenate(items).astype(np.int64)


def _repeats(draws: np.ndarray) -> np.ndarray:
    """Per cell: the same value was drawn earlier in its row."""
    order = np.argsort(draws, axis=1, kind="stable")
    ordered = np.take_along_axis(draws, order, axis=1)
    repeat = np.zeros(draws.shape, dtype=bool)
    np.put_along_axis(repeat, order[:, 1:], ordered[:, 1:] == ordered[:, :-1], axis=1)
    return repeat
