"""Realistic request payloads drawn from a built artifact version (ids that exist, and some that don't)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from protos import artifact
from protos import decision_pb2 as pb

__all__ = ["PayloadPool", "load_pool", "profile_user_ids"]

_VIEW, _CART = pb.INTERACTION_TYPE_VIEW, pb.INTERACTION_TYPE_CART


@dataclass(frozen=True)
class PayloadPool:
    """Known user ids and item ids of one version; requests are drawn from them."""

    users: list[str]
    items: list[str]

    def recommend_for_user(self, rng: random.Random, n: int = 10) -> pb.RecommendRequest:
        return pb.RecommendRequest(user_id=rng.choice(self.users), n=n,
                                   context=pb.Context(channel=pb.CHANNEL_WEB, page=pb.PAGE_HOME))

    def recommend_for_session(self, rng: random.Random, n: int = 10) -> pb.RecommendRequest:
        session = [pb.Interaction(item_id=rng.choice(self.items), type=rng.choice((_VIEW, _VIEW, _CART)))
                   for _ in range(rng.randint(1, 8))]
        return pb.RecommendRequest(session=session, n=n, context=pb.Context(channel=pb.CHANNEL_APP))

    def recommend_for_product(self, rng: random.Random, n: int = 12) -> pb.RecommendRequest:
        return pb.RecommendRequest(user_id=rng.choice(self.users), n=n, context=pb.Context(
            page=pb.PAGE_PRODUCT, anchor_item_id=rng.choice(self.items)))

    def rerank(self, rng: random.Random, low: int = 100, high: int = 200) -> pb.RerankRequest:
        ids = rng.sample(self.items, min(len(self.items), rng.randint(low, high)))
        candidates = [pb.Candidate(item_id=i, score=float(len(ids) - k)) for k, i in enumerate(ids)]
        user = rng.choice(self.users) if rng.random() < 0.8 else ""
        return pb.RerankRequest(user_id=user, candidates=candidates, n=min(50, len(ids)),
                                context=pb.Context(page=pb.PAGE_SEARCH, query="shoes"))


def profile_user_ids(store: Path, limit: int) -> list[str]:
    """Up to `limit` user ids with a profile, spread over the store's key order."""
    env = artifact.open_store(store)
    try:
        return artifact.sample_user_ids(env, limit)
    finally:
        env.close()


def load_pool(root: Path, users: int = 20_000, items: int = 50_000) -> PayloadPool:
    """Sample ids from ROOT/current: users with a profile, items from the catalog."""
    version = (root / artifact.CURRENT_LINK).resolve(strict=True)
    ids = np.load(version / artifact.ITEM_ARRAYS["ids"].file, mmap_mode="r")
    rows = np.random.default_rng(0).choice(len(ids), size=min(items, len(ids)), replace=False)
    return PayloadPool(users=profile_user_ids(version / artifact.STORE, users) or ["anonymous"],
                       items=[bytes(ids[r]).decode() for r in rows])
