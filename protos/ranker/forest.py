"""A learned ranker's trees as flat arrays, and their evaluation over all of a request's candidates at once.

The builder trains LightGBM (`lambdarank`) and keeps two forms of the model in the version: LightGBM's own
model text (for people and for LightGBM) and this compact array form, which the server evaluates without
LightGBM. One `Forest` is every tree's internal nodes in one table and every leaf in another:

  feature[node]        int32    the feature (a column of the candidates x features matrix) the node splits on
  threshold[node]      float64  go left when the value <= threshold (LightGBM compares in double)
  left[node], right[node]  int32  a child: >= 0 another node, < 0 the leaf ~child
  default_left[node]   bool     where a missing value goes (see MISSING)
  missing[node]        uint8    MISSING_NONE: NaN is taken as 0; MISSING_ZERO: 0 (and NaN) go the default
                                way; MISSING_NAN: NaN goes the default way
  leaf_value[leaf]     float64  a leaf's contribution to the score
  root[tree]           int32    each tree's first node (< 0: a tree that is a single leaf ~root)

`predict` walks every (candidate, tree) pair one level per step: a request costs `depth` array operations
(the deepest tree's depth), never a Python loop per candidate or per tree — the shape the compiled core
([10/15]) takes over. Scores are LightGBM's raw scores (sum of the leaves), equal to `Booster.predict(X,
raw_score=True)` up to the order of a double sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["Forest", "forest_from_lightgbm", "predict", "MISSING_NONE", "MISSING_ZERO", "MISSING_NAN"]

MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
_MISSING = {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}
_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| <= this is zero
_NODE = np.dtype([("f", "<i4"), ("t", "<f8"), ("l", "<i4"), ("r", "<i4"), ("d", "?"), ("m", "u1")])


@dataclass(frozen=True)
class Forest:
    """A forest of binary trees over named features (see the module docstring for each array)."""

    feature_names: tuple[str, ...]
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    default_left: np.ndarray
    missing: np.ndarray
    leaf_value: np.ndarray
    root: np.ndarray
    depth: int  # the deepest tree's number of internal levels

    @cached_property
    def walk(self) -> _Walk:
        """The evaluation table `predict` walks (derived once per forest)."""
        return _walk(self)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to store (file name stem -> array); `feature_names` and `depth` go in the manifest."""
        return {"feature": self.feature, "threshold": self.threshold, "left": self.left, "right": self.right,
                "default_left": self.default_left, "missing": self.missing, "leaf_value": self.leaf_value,
                "root": self.root}

    @classmethod
    def from_arrays(cls, feature_names: tuple[str, ...], arrays: Mapping[str, np.ndarray]) -> Forest:
        """A forest from stored arrays, checked: every child and feature index in range, so `predict` cannot
        read outside an array. Raises ValueError naming the array."""
        a = {k: np.asarray(arrays[k]) for k in ("feature", "threshold", "left", "right", "default_left", "missing",
                                                "leaf_value", "root")}
        forest = cls(tuple(feature_names), a["feature"], a["threshold"], a["left"], a["right"], a["default_left"],
                     a["missing"], a["leaf_value"], a["root"], depth=0)
        _check(forest)
        return replace(forest, depth=_depth(forest))


def forest_from_lightgbm(model: Mapping[str, Any]) -> Forest:
    """The array form of `Booster.dump_model()` (numerical splits only: a categorical split is refused)."""
    nodes: list[tuple[int, float, int, int, bool, int]] = []
    leaves: list[float] = []

    def visit(tree: Mapping[str, Any]) -> int:
        if "leaf_value" in tree:
            leaves.append(float(tree["leaf_value"]))
            return ~(len(leaves) - 1)
        if tree["decision_type"] != "<=":
            raise ValueError(f"split {tree.get('split_index')}: decision type {tree['decision_type']!r} "
                             "(only numerical '<=' splits are supported)")
        at = len(nodes)
        nodes.append((0, 0.0, 0, 0, False, 0))
        left, right = visit(tree["left_child"]), visit(tree["right_child"])
        nodes[at] = (int(tree["split_feature"]), float(tree["threshold"]), left, right,
                     bool(tree["default_left"]), _MISSING[str(tree["missing_type"])])
        return at

    roots = [visit(t["tree_structure"]) for t in model["tree_info"]]
    table = np.array(nodes, dtype=_NODE)
    return Forest.from_arrays(tuple(model["feature_names"]), {
        "feature": table["f"].copy(), "threshold": table["t"].copy(), "left": table["l"].copy(),
        "right": table["r"].copy(), "default_left": table["d"].copy(), "missing": table["m"].copy(),
        "leaf_value": np.array(leaves, dtype=np.float64), "root": np.array(roots, dtype=np.int32)})


def predict(forest: Forest, features: np.ndarray) -> np.ndarray:
    """float64 [candidates]: the forest's raw score of each row of `features` ([candidates x features])."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(forest.feature_names):
        raise ValueError(f"features: shape {x.shape}, expected (n, {len(forest.feature_names)})")
    walk = forest.walk
    if not walk.nan_nodes:  # NaN is 0 at every node (a zero node then sends it the default way, as LightGBM does)
        x = np.where(np.isnan(x), 0.0, x)
    node = np.broadcast_to(walk.root, (len(x), len(walk.root))).copy()
    flat = x.reshape(-1)
    base = (np.arange(len(x)) * x.shape[1])[:, None]
    for _ in range(forest.depth):  # a leaf steps to itself, so every pair takes the same steps
        value = flat[base + walk.feature[node]]
        go_left = value <= walk.threshold[node]
        if walk.nan_nodes or walk.zero_nodes:
            missing = walk.missing[node]
            nan = np.isnan(value)
            zero = np.abs(np.where(nan, 0.0, value)) <= _ZERO
            default = ((missing == MISSING_ZERO) & (zero | nan)) | ((missing == MISSING_NAN) & nan)
            go_left = np.where(default, walk.default_left[node],
                               np.where(nan & (missing == MISSING_NONE), 0.0 <= walk.threshold[node], go_left))
        node = np.where(go_left, walk.left[node], walk.right[node])
    return walk.value[node].sum(axis=1) if node.size else np.zeros(len(x))


@dataclass(frozen=True)
class _Walk:
    """The forest as one table of nodes where leaves are nodes too (threshold +inf, both children themselves)."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    default_left: np.ndarray
    missing: np.ndarray
    value: np.ndarray
    root: np.ndarray
    nan_nodes: bool  # some node sends NaN the default way
    zero_nodes: bool  # some node sends 0 the default way


def _walk(forest: Forest) -> _Walk:
    n, leaves = len(forest.feature), len(forest.leaf_value)
    own = np.arange(n, n + leaves, dtype=np.int32)

    def child(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=np.int64)
        return np.where(c >= 0, c, n + ~c).astype(np.int32)

    return _Walk(feature=np.concatenate([forest.feature, np.zeros(leaves, np.int32)]).astype(np.int64),
                 threshold=np.concatenate([forest.threshold, np.full(leaves, np.inf)]),
                 left=np.concatenate([child(forest.left), own]), right=np.concatenate([child(forest.right), own]),
                 default_left=np.concatenate([forest.default_left, np.ones(leaves, bool)]),
                 missing=np.concatenate([forest.missing, np.zeros(leaves, np.uint8)]),
                 value=np.concatenate([np.zeros(n), forest.leaf_value]), root=child(forest.root),
                 nan_nodes=bool((forest.missing == MISSING_NAN).any()),
                 zero_nodes=bool((forest.missing == MISSING_ZERO).any()))


def _check(forest: Forest) -> None:
    n_nodes, n_leaves = len(forest.feature), len(forest.leaf_value)
    for name in ("threshold", "left", "right", "default_left", "missing"):
        if len(getattr(forest, name)) != n_nodes:
            raise ValueError(f"{name}: {len(getattr(forest, name))} entries for {n_nodes} nodes")
    for name in ("left", "right", "root"):
        child = getattr(forest, name)
        if len(child) and ((child >= n_nodes) | (child < -n_leaves)).any():
            raise ValueError(f"{name}: a child outside the {n_nodes} nodes and {n_leaves} leaves")
    if len(forest.feature) and ((forest.feature < 0) | (forest.feature >= len(forest.feature_names))).any():
        raise ValueError(f"feature: an index outside the {len(forest.feature_names)} features")
    if len(forest.missing) and (forest.missing > MISSING_NAN).any():
        raise ValueError("missing: a code other than none, zero or NaN")


def _depth(forest: Forest) -> int:
    """The deepest tree's internal levels; refuses a cycle (a child pointing back up)."""
    level, depth = forest.root[forest.root >= 0], 0
    while len(level):
        depth += 1
        if depth > len(forest.feature):
            raise ValueError("left/right: the trees have a cycle")
        children = np.concatenate([forest.left[level], forest.right[level]])
        level = np.unique(children[children >= 0])  # at most every node once: bounded work, even on a cycle
    return depth
