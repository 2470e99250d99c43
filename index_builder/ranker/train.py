"""Train the learned ranker on the training lists (lists.py): LightGBM `lambdarank` with early stopping on held-out
shoppers, scored there against the simple orders a store could show instead.

Settings (docs/ranker.md, chosen by a spike on MovieLens 100K and the demo store): ranker_leaves leaves (15),
ranker_learning_rate (0.02), at most ranker_trees trees (500) with early stopping after 50 rounds without a
better validation nDCG@10, a leaf holds at least min(200, max(20, training rows / 1,000)) rows (200 beat 50 on
MovieLens at 200k rows; a small store gets smaller leaves), lambdarank truncated at 20, two threads,
deterministic.

The verdict: the learned ranker serves (manifest ranker.serves) only when its validation nDCG@10 beats every one
of own most-bought (the shopper's own items by purchases, then events, then recency), popularity (distinct
users) and the item-item order, each over the same candidates. The hand blend lives in the server, so the
build cannot run it; `tailor evaluate` puts the two side by side through the real server.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from index_builder.config import BuildConfig
from index_builder.ranker.lists import Lists
from protos import artifact_pb2
from protos.ranker.features import FEATURES, FEATURES_VERSION
from protos.ranker.forest import Forest, forest_from_lightgbm

__all__ = ["Ranker", "train_ranker", "ndcg_at", "BASELINES", "EARLY_STOPPING"]

log = logging.getLogger(__name__)
EARLY_STOPPING = 50
_AT = 10
_COLUMN = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class Ranker:
    """A trained model in both forms (LightGBM's text, the array form the checks and the compiled core read)."""

    model_text: str
    forest: Forest


def _own_most_bought(x: np.ndarray) -> np.ndarray:
    days = np.nan_to_num(x[:, _COLUMN["own_days_since"]], nan=1e9)
    return x[:, _COLUMN["own_purchases"]] * 1e6 + x[:, _COLUMN["own_count"]] * 1e3 - np.minimum(days, 999.0)


# The simple orders the learned ranker must beat: a score per candidate from its feature row.
BASELINES = {
    "own_most_bought": _own_most_bought,
    "popularity": lambda x: x[:, _COLUMN["pop_users_log"]],
    "item_item": lambda x: np.nan_to_num(x[:, _COLUMN["ii_score"]], nan=-np.inf),
}


def ndcg_at(scores: np.ndarray, labels: np.ndarray, sizes: np.ndarray, k: int = _AT) -> float:
    """Mean nDCG@k over the lists (graded gain 2^label - 1, ties broken by position in the list), as LightGBM's
    `ndcg` metric counts it; lists without a positive label count 0 (the training lists have none)."""
    total, start = 0.0, 0
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    for size in sizes.tolist():
        s, y = scores[start:start + size], labels[start:start + size]
        start += size
        top = np.argsort(-s, kind="stable")[:k]
        ideal = np.sort(y)[::-1][:k]
        best = float(((2.0 ** ideal - 1) * discount[:len(ideal)]).sum())
        if best > 0:
            total += float(((2.0 ** y[top] - 1) * discount[:len(top)]).sum()) / best
    return total / max(len(sizes), 1)


def _split(lists: Lists, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row and per list: whether it is held out for validation (whole lists: a shopper is on one side)."""
    held = np.random.default_rng(seed + 1).random(len(lists.sizes)) < share
    if held.all() or not held.any():  # both sides need a list
        held[:] = False
        held[:: max(int(round(1 / share)), 2)] = True
        if held.all():
            held[-1] = False
    return np.repeat(held, lists.sizes), held


def train_ranker(config: BuildConfig, lists: Lists, info: artifact_pb2.RankerInfo) -> Ranker | None:
    """Train on `lists`, fill `info` (figures, gains, verdict); None when there are too few lists to hold some
    out (info says so)."""
    import lightgbm as lgb  # noqa: PLC0415 — a build without a ranker never loads it

    started = time.perf_counter()
    info.features_version, info.cut, info.shoppers = FEATURES_VERSION, lists.cut, lists.shoppers
    info.features.extend(FEATURES)
    if len(lists.sizes) < 4:
        info.verdict = f"not trained: {len(lists.sizes)} shoppers with a next step among their candidates (need 4)"
        return None
    rows_held, lists_held = _split(lists, config.ranker_validation, config.seed)
    x, y = lists.features, lists.labels
    train_sizes, valid_sizes = lists.sizes[~lists_held], lists.sizes[lists_held]
    min_leaf = int(min(200, max(20, int((~rows_held).sum()) // 1000)))
    params = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [_AT], "num_leaves": config.ranker_leaves,
              "learning_rate": config.ranker_learning_rate, "min_data_in_leaf": min_leaf,
              "lambdarank_truncation_level": 20, "num_threads": 2, "deterministic": True, "force_col_wise": True,
              "seed": config.seed, "verbose": -1, "feature_pre_filter": False}
    train = lgb.Dataset(x[~rows_held], y[~rows_held], group=train_sizes, feature_name=list(FEATURES),
                        free_raw_data=True)
    valid = lgb.Dataset(x[rows_held], y[rows_held], group=valid_sizes, reference=train)
    booster = lgb.train(params, train, num_boost_round=config.ranker_trees, valid_sets=[valid],
                        callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)])
    if booster.best_iteration > 0:
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    text = booster.model_to_string()
    forest = forest_from_lightgbm(booster.dump_model())
    x_valid, y_valid = x[rows_held], y[rows_held]
    predicted = np.asarray(booster.predict(x_valid, raw_score=True, num_threads=2))
    scores = {"learned": ndcg_at(predicted, y_valid, valid_sizes)}
    scores |= {name: ndcg_at(order(x_valid), y_valid, valid_sizes) for name, order in BASELINES.items()}
    for name, value in scores.items():
        info.validation_ndcg[name] = round(value, 4)
    gain = booster.feature_importance("gain")
    for name, value in zip(FEATURES, (gain / max(float(gain.sum()), 1e-12)).tolist(), strict=True):
        info.gains[name] = round(value, 4)
    best_other = max(BASELINES, key=lambda n: scores[n])
    info.serves = scores["learned"] > scores[best_other]
    info.verdict = (f"serves: validation nDCG@10 {scores['learned']:.4f} beats {best_other} {scores[best_other]:.4f}"
                    if info.serves else
                    f"hand blend serves: validation nDCG@10 {scores['learned']:.4f} does not beat {best_other} "
                    f"{scores[best_other]:.4f}")
    info.trained, info.rows = True, len(y)
    info.lists_train, info.lists_validation = len(train_sizes), len(valid_sizes)
    info.trees, info.leaves, info.learning_rate = booster.num_trees(), config.ranker_leaves, config.ranker_learning_rate
    info.min_leaf, info.depth = min_leaf, forest.depth
    info.seconds = round(time.perf_counter() - started, 3)
    log.info("ranker_trained cut=%s lists=%d rows=%d trees=%d seconds=%.1f learned=%.4f %s serves=%s",
             lists.cut, len(lists.sizes), len(y), info.trees, info.seconds, scores["learned"],
             " ".join(f"{n}={scores[n]:.4f}" for n in BASELINES), info.serves)
    return Ranker(text, forest)
