"""Cold-item evaluation (split cold-items): how well does Tailor order products nobody has touched?

Every held-out item is cold in the build (no events in train), so the learned model knows it only by
its content vector (index_builder/models/embeddings.py). For every test user, the candidates are all
held-out items (up to MAX_CANDIDATES: the user's own held-out items first, then a seeded sample of
the others), sent to `Rerank(user_id=U)` in a seeded random order with equal upstream scores, so the
order Tailor returns is its own. Three orders are scored against the user's held-out items with
R@k and nDCG@k (metrics.py):

  random order               the candidates as sent
  same category as history   by the share of the user's train interactions in the item's category
                             (ties in the random order): a popularity-free content baseline
  Tailor Rerank              the server's order
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from loadtests.quality.evaluate.rerank import CandidateSets, RerankReport, rerank_report

__all__ = ["MAX_CANDIDATES", "cold_candidates", "score_cold"]

MAX_CANDIDATES = 1000  # the server's default Limits.max_candidates


def cold_candidates(users: Sequence[str], positives: Sequence[np.ndarray], cold: np.ndarray, history: sp.csr_matrix,
                    category: np.ndarray, seed: int) -> CandidateSets:
    """Per user (rows of `history`, train interactions by item column): the `cold` item columns in a seeded
    random order; `prior` is the same-category score; `scores` are all 0 (no upstream opinion)."""
    rng = np.random.default_rng(seed)
    n_categories = int(category.max()) + 1 if len(category) else 1
    onehot = sp.csr_matrix((np.ones(len(category)), (np.arange(len(category)), category)),
                           shape=(len(category), n_categories))
    shares = np.asarray(((history > 0).astype(np.float64) @ onehot).todense())
    shares /= np.maximum(shares.sum(axis=1, keepdims=True), 1.0)
    items, positive, prior, counts = [], [], [], []
    for u, own in enumerate(positives):
        others = np.setdiff1d(cold, own)
        picked = np.concatenate([own, rng.permutation(others)[:max(MAX_CANDIDATES - len(own), 0)]])
        picked = rng.permutation(picked)
        items.append(picked)
        positive.append(np.isin(picked, own))
        prior.append(shares[u, category[picked]])
        counts.append(len(picked))
    flat = np.concatenate(items) if items else np.zeros(0, dtype=np.int64)
    return CandidateSets(list(users), np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
                         flat.astype(np.int64), np.zeros(len(flat)),
                         np.concatenate(positive) if positive else np.zeros(0, dtype=bool),
                         np.concatenate(prior) if prior else np.zeros(0))


def score_cold(sets: CandidateSets, item_ids: Sequence[str], reranked: Sequence[Sequence[str]], k: int,
               latency: np.ndarray) -> RerankReport:
    """R@k and nDCG@k of the random order, the same-category order and Tailor's (aligned with `sets.users`)."""
    random_order, by_category, truth = [], [], []
    for u in range(len(sets.users)):
        rows = slice(sets.offsets[u], sets.offsets[u + 1])
        items = sets.items[rows]
        random_order.append([item_ids[i] for i in items])
        by_category.append([item_ids[i] for i in items[np.argsort(-sets.prior[rows], kind="stable")]])
        truth.append({item_ids[i] for i in items[sets.positive[rows]]})

    return rerank_report(sets, truth, [("random order", random_order), ("same category as history", by_category),
                                       ("Tailor Rerank (cold items)", reranked)], k, latency)
