"""The compiled tree walk (native/_forest.c) against LightGBM and the numpy reference, and against bad arrays."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from native import _forest
from native.forest import ForestKernel
from protos.ranker.forest import Forest, forest_from_lightgbm, predict


def _model(seed: int, leaves: int, trees: int, missing: float) -> tuple[lgb.Booster, np.ndarray]:
    """A lambdarank forest on random rows with NaNs and zeros (every missing-value route), and probe rows."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(1.0, 2.0, size=(2000, 6)).astype(np.float32)
    x[rng.random(x.shape) < missing] = np.nan
    x[rng.random(x.shape) < 0.1] = 0.0
    y = (np.nan_to_num(x[:, 0]) + rng.random(2000) > 2.5).astype(int) + (np.nan_to_num(x[:, 2]) > 3)
    params = {"objective": "lambdarank", "num_leaves": leaves, "min_data_in_leaf": 5, "verbose": -1,
              "num_threads": 1, "deterministic": True, "seed": seed, "feature_pre_filter": False}
    booster = lgb.train(params, lgb.Dataset(x, y, group=[20] * 100), num_boost_round=trees)
    probe = rng.gamma(1.0, 2.0, size=(300, 6)).astype(np.float32)
    probe[rng.random(probe.shape) < missing] = np.nan
    probe[::3, 1] = 0.0
    return booster, probe


@pytest.mark.parametrize(("seed", "leaves", "trees", "missing"), [(0, 15, 40, 0.2), (1, 4, 5, 0.0), (2, 31, 60, 0.5)])
def test_the_compiled_walk_scores_as_lightgbm_and_the_reference(seed: int, leaves: int, trees: int,
                                                                missing: float) -> None:
    booster, probe = _model(seed, leaves, trees, missing)
    forest = forest_from_lightgbm(booster.dump_model())
    scores = ForestKernel(forest).predict(probe)
    np.testing.assert_allclose(scores, booster.predict(probe, raw_score=True), atol=1e-9)
    np.testing.assert_allclose(scores, predict(forest, probe), atol=1e-9)


def test_no_rows_and_single_leaf_trees() -> None:
    forest = Forest.from_arrays(("a", "b"), {"feature": np.zeros(0, np.int32), "threshold": np.zeros(0),
                                              "left": np.zeros(0, np.int32), "right": np.zeros(0, np.int32),
                                              "default_left": np.zeros(0, bool), "missing": np.zeros(0, np.uint8),
                                              "leaf_value": np.array([0.5, -0.25]), "root": np.array([-1, -2])})
    kernel = ForestKernel(forest)
    assert kernel.predict(np.zeros((0, 2), np.float32)).shape == (0,)
    assert kernel.predict(np.ones((3, 2), np.float32)).tolist() == [0.25, 0.25, 0.25]
    with pytest.raises(ValueError, match="shape"):
        kernel.predict(np.ones((3, 5), np.float32))


def _table() -> list[np.ndarray]:
    """One tree: node 0 splits feature 1 at 0.5 into the leaves (nodes 1 and 2)."""
    return [np.array([1, 0, 0], np.int32), np.array([0.5, np.inf, np.inf]), np.array([1, 1, 2], np.int32),
            np.array([2, 1, 2], np.int32), np.ones(3, np.uint8), np.zeros(3, np.uint8), np.array([0.0, 1.0, 2.0]),
            np.array([0], np.int32)]


def _call(table: list[np.ndarray], x: np.ndarray, features: int = 2, depth: int = 1, internal: int = 1) -> np.ndarray:
    out = np.zeros(len(x))
    _forest.predict(*table, x, out, features, depth, internal)
    return out


def test_the_kernel_reads_its_table() -> None:
    assert _call(_table(), np.array([[9.0, 0.1], [9.0, 0.9], [9.0, np.nan]], np.float32)).tolist() == [1, 2, 1]


@pytest.mark.parametrize(("part", "bad", "says"), [
    (2, np.array([1, 7, 2], np.int32), "child outside"),  # a child beyond the table
    (0, np.array([5, 0, 0], np.int32), "feature"),  # a feature beyond the row
    (5, np.array([0, 3, 0], np.uint8), "missing"),
    (7, np.array([-1], np.int32), "root"),
    (1, np.array([0.5, np.inf]), "one entry per node"),
    (2, np.array([1.0, 1.0, 2.0]), "format"),  # floats where node indices belong
])
def test_bad_tables_are_refused_before_any_walk(part: int, bad: np.ndarray, says: str) -> None:
    table = _table()
    table[part] = bad
    with pytest.raises(ValueError, match=says):
        _call(table, np.zeros((2, 2), np.float32))


def test_bad_rows_or_outputs_are_refused() -> None:
    with pytest.raises(ValueError, match="x:"):
        _call(_table(), np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="format"):
        _call(_table(), np.zeros((2, 2), np.float64))
    with pytest.raises(ValueError, match="x:"):
        _call(_table(), np.zeros((2, 2), np.float32), depth=10)  # more steps than nodes
    out = np.zeros(2)
    out.setflags(write=False)
    with pytest.raises(ValueError, match="writable"):
        _forest.predict(*_table(), np.zeros((2, 2), np.float32), out, 2, 1, 1)
