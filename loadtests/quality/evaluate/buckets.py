"""Test users by activity: how long their train history is (their interactions in the train part).

  0        no train history (every interaction held out; Recommend answers with popular items)
  1-20     light users (on ML-100K, whose users rated at least 20 movies, 15-20 after the 75 % split)
  21-50
  51-150
  151+     heavy users

Each model's nDCG@k is averaged over the users of each bucket; empty buckets are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BUCKET_LABELS", "BucketScores", "activity_bucket", "bucket_scores"]

BUCKET_LABELS = ("0", "1-20", "21-50", "51-150", "151+")
_LOWER_BOUNDS = np.array([1, 21, 51, 151])  # of every bucket after "0"


@dataclass(frozen=True)
class BucketScores:
    """One activity bucket: its users and each model's mean nDCG@k over them."""

    label: str
    users: int
    ndcg: dict[str, float]


def activity_bucket(history_lengths: np.ndarray) -> np.ndarray:
    """Index into BUCKET_LABELS of each user's train history length."""
    lengths = np.asarray(history_lengths)
    if (lengths < 0).any():
        raise ValueError("history_lengths: must be >= 0")
    return np.searchsorted(_LOWER_BOUNDS, lengths, side="right")


def bucket_scores(history_lengths: np.ndarray, ndcg_per_user: dict[str, np.ndarray]) -> list[BucketScores]:
    """Mean nDCG per model per non-empty bucket; every array is aligned with `history_lengths`."""
    bucket = activity_bucket(history_lengths)
    users = np.bincount(bucket, minlength=len(BUCKET_LABELS))
    sums = {model: np.bincount(bucket, weights=values, minlength=len(BUCKET_LABELS))
            for model, values in ndcg_per_user.items()}
    return [BucketScores(label, int(users[b]), {model: float(s[b] / users[b]) for model, s in sums.items()})
            for b, label in enumerate(BUCKET_LABELS) if users[b]]
