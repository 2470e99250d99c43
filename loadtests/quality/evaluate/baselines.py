"""Baselines fitted on the train interaction matrix, each recommending k items per test user.

The matrix is users x items with weight 1 per interaction (a repeated interaction adds up), as
in the reference protocol; users and items keep the order of users.csv and items.csv. Every
baseline but "own most-bought" and "ALS (seen allowed)" leaves out items the user already
touched in training, as the reference does.

  popularity            most interactions in train
  ItemKNN               implicit CosineRecommender, K=100 neighbours
  ALS                   implicit AlternatingLeastSquares: 64 factors, reg 0.05, 15 iterations, alpha 2, seed 0
  ALS (seen allowed)    the same model, already-seen items allowed (a repeat-purchase store's view)
  EASE                  closed form (Steck 2019), lambda 500; only for catalogs of at most 20,000 items
  own most-bought       the user's own most frequent items in train, nothing else

On the session split the test rows are held-out sessions, not users of the matrix: each baseline
scores the session's items (one per interaction) as that row's history, ALS folds it in
(recalculate_user), session items are never recommended, and "own most-bought" gives way to
"ItemKNN (last item)": the cosine neighbours of the session's last item alone.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from implicit.als import AlternatingLeastSquares
from implicit.nearest_neighbours import CosineRecommender
from implicit.utils import ParameterWarning
from threadpoolctl import threadpool_limits

__all__ = ["EASE_MAX_ITEMS", "Interactions", "ModelRun", "interactions", "run_baselines",
           "run_session_baselines"]

EASE_MAX_ITEMS = 20_000
_EASE_LAMBDA = 500.0
_BATCH = 1024


@dataclass(frozen=True)
class Interactions:
    """The train matrix and the ids of its rows and columns."""

    matrix: sp.csr_matrix
    user_ids: list[str]
    item_ids: list[str]
    user_row: dict[str, int]


@dataclass(frozen=True)
class ModelRun:
    """One model's recommendations for the test users (aligned with them) and its fit time."""

    name: str
    recs: list[list[str]]
    fit_seconds: float


def interactions(train: pa.Table, user_ids: Sequence[str], item_ids: Sequence[str]) -> Interactions:
    """Users x items counts of `train` events. Rows: `user_ids` in order, then users seen only in `train`;
    events of items not in `item_ids` are dropped (as the builder drops them)."""
    known_users = pc.greater(pc.utf8_length(pc.fill_null(pc.cast(train["user_id"], pa.string()), "")), 0)
    train = train.filter(known_users)
    users = list(dict.fromkeys(user_ids))
    extra = pc.unique(pc.filter(pc.cast(train["user_id"], pa.string()),
                                pc.invert(pc.is_in(train["user_id"], pa.array(users, pa.string())))))
    users += sorted(extra.to_pylist())
    rows = pc.index_in(train["user_id"], value_set=pa.array(users, pa.string())).to_numpy(zero_copy_only=False)
    cols = pc.index_in(train["item_id"], value_set=pa.array(list(item_ids), pa.string()))
    keep = pc.is_valid(cols).to_numpy(zero_copy_only=False)
    rows = rows[keep].astype(np.int64)
    cols_np = cols.to_numpy(zero_copy_only=False)[keep].astype(np.int64)
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols_np)), shape=(len(users), len(item_ids)))
    matrix.sum_duplicates()
    return Interactions(matrix, users, list(item_ids), {u: i for i, u in enumerate(users)})


def run_baselines(data: Interactions, test_users: Sequence[str], k: int) -> list[ModelRun]:
    """Every baseline's top k for each of `test_users`, who must all be rows of the matrix."""
    rows = np.array([data.user_row[u] for u in test_users], dtype=np.int64)
    history = data.matrix[rows]
    with threadpool_limits(limits=1, user_api="blas"):
        runs = [_timed("popularity", lambda: _popularity(data.matrix, history, k))]
        knn, knn_fit = _fit(CosineRecommender(K=100), data.matrix)
        runs.append(_Run("ItemKNN", _recommend(knn, rows, history, k, filter_seen=True), knn_fit))
        als, als_fit = _fit(AlternatingLeastSquares(factors=64, regularization=0.05, iterations=15, alpha=2.0,
                                                    random_state=0), data.matrix)
        runs.append(_Run("ALS", _recommend(als, rows, history, k, filter_seen=True), als_fit))
        runs.append(_Run("ALS (seen allowed)", _recommend(als, rows, history, k, filter_seen=False), als_fit))
        if data.matrix.shape[1] <= EASE_MAX_ITEMS:
            runs.append(_timed("EASE", lambda: _ease(data.matrix, history, k)))
        runs.append(_timed("own most-bought", lambda: _own_most(history, k)))
    return [ModelRun(r.name, [[data.item_ids[i] for i in row] for row in r.recs], r.seconds) for r in runs]


def run_session_baselines(data: Interactions, history: sp.csr_matrix, last: sp.csr_matrix,
                          k: int) -> list[ModelRun]:
    """Every session baseline's top k for each row of `history` (a session's items; `last`: its last item)."""
    rows = np.arange(history.shape[0])
    with threadpool_limits(limits=1, user_api="blas"):
        runs = [_timed("popularity", lambda: _popularity(data.matrix, history, k))]
        knn, knn_fit = _fit(CosineRecommender(K=100), data.matrix)
        runs.append(_Run("ItemKNN", _recommend(knn, rows, history, k, filter_seen=True), knn_fit))
        by_last = _recommend(knn, rows, last, k + int(np.diff(history.indptr).max(initial=0)), filter_seen=True)
        runs.append(_Run("ItemKNN (last item)", _unseen(by_last, history, k), knn_fit))
        als, als_fit = _fit(AlternatingLeastSquares(factors=64, regularization=0.05, iterations=15, alpha=2.0,
                                                    random_state=0), data.matrix)
        runs.append(_Run("ALS", _recommend(als, rows, history, k, filter_seen=True, fold_in=True), als_fit))
        if data.matrix.shape[1] <= EASE_MAX_ITEMS:
            runs.append(_timed("EASE", lambda: _ease(data.matrix, history, k)))
    return [ModelRun(r.name, [[data.item_ids[i] for i in row] for row in r.recs], r.seconds) for r in runs]


# --- helpers: recs here are item column indices; run_baselines maps them to ids ----------------------------------


@dataclass(frozen=True)
class _Run:
    name: str
    recs: list[list[int]]
    seconds: float


def _timed(name: str, fit_and_recommend: Callable[[], list[list[int]]]) -> _Run:
    """Fit and recommend in one (these models have no separate fit worth timing apart)."""
    start = time.perf_counter()
    recs = fit_and_recommend()
    return _Run(name, recs, time.perf_counter() - start)


_Model = TypeVar("_Model", AlternatingLeastSquares, CosineRecommender)


def _fit(model: _Model, matrix: sp.csr_matrix) -> tuple[_Model, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        # CosineRecommender normalises the CSR matrix we pass into a COO one itself, then warns about it.
        warnings.filterwarnings("ignore", message="Method expects CSR input", category=ParameterWarning)
        model.fit(matrix, show_progress=False)
    return model, time.perf_counter() - start


def _recommend(model: AlternatingLeastSquares | CosineRecommender, rows: np.ndarray, history: sp.csr_matrix,
               k: int, *, filter_seen: bool, fold_in: bool = False) -> list[list[int]]:
    if fold_in:
        ids, scores = model.recommend(rows, history, N=k, filter_already_liked_items=filter_seen,
                                      recalculate_user=True)
    else:
        ids, scores = model.recommend(rows, history, N=k, filter_already_liked_items=filter_seen)
    return [[int(i) for i, s in zip(r, sc, strict=True) if i >= 0 and np.isfinite(s)]
            for r, sc in zip(ids, scores, strict=True)]


def _unseen(recs: list[list[int]], history: sp.csr_matrix, k: int) -> list[list[int]]:
    """Each row's recs without the items of its `history` row, cut to k."""
    out = []
    for u, row in enumerate(recs):
        seen = set(history.indices[history.indptr[u]:history.indptr[u + 1]].tolist())
        out.append([i for i in row if i not in seen][:k])
    return out


def _popularity(matrix: sp.csr_matrix, history: sp.csr_matrix, k: int) -> list[list[int]]:
    pop = np.asarray(matrix.sum(axis=0)).ravel()
    longest = int(np.diff(history.indptr).max(initial=0))
    prefix = np.argsort(-pop, kind="stable")[:k + longest]
    recs = []
    for u in range(history.shape[0]):
        seen = history.indices[history.indptr[u]:history.indptr[u + 1]]
        recs.append(prefix[~np.isin(prefix, seen)][:k].tolist())
    return recs


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _ease(matrix: sp.csr_matrix, history: sp.csr_matrix, k: int) -> list[list[int]]:
    gram = (matrix.T @ matrix).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += _EASE_LAMBDA
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    weights[np.diag_indices_from(weights)] = 0.0
    recs: list[list[int]] = []
    for start in range(0, history.shape[0], _BATCH):
        part = history[start:start + _BATCH]
        scores = np.asarray(part @ weights)
        scores[part.nonzero()] = -np.inf
        recs += [[int(i) for i in row if np.isfinite(s[i])] for row, s in zip(_top_k(scores, k), scores, strict=True)]
    return recs


def _own_most(history: sp.csr_matrix, k: int) -> list[list[int]]:
    recs = []
    for u in range(history.shape[0]):
        lo, hi = history.indptr[u], history.indptr[u + 1]
        items, counts = history.indices[lo:hi], history.data[lo:hi]
        order = np.lexsort((items, -counts))[:k]
        recs.append(items[order].tolist())
    return recs
