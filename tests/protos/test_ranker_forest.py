"""The learned ranker's array form scores exactly as LightGBM does, missing values included, and refuses a
malformed forest instead of reading outside its arrays."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from protos.ranker.forest import Forest, forest_from_lightgbm, predict


def _trained(missing: str, rounds: int = 30, leaves: int = 15, seed: int = 0) -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3000, 7)).astype(np.float32)
    x[rng.random(x.shape) < 0.15] = 0.0
    if missing == "nan":
        x[rng.random(x.shape) < 0.1] = np.nan
    relevance = (x[:, 0] > 0.3).astype(int) + (np.nan_to_num(x[:, 2]) > 0).astype(int) + (x[:, 5] == 0)
    params = {"objective": "lambdarank", "num_leaves": leaves, "min_data_in_leaf": 5, "verbose": -1,
              "zero_as_missing": missing == "zero", "use_missing": missing != "none", "seed": seed,
              "num_threads": 1, "deterministic": True}
    data = lgb.Dataset(x, relevance, group=[30] * 100, feature_name=[f"f{i}" for i in range(7)])
    return lgb.train(params, data, num_boost_round=rounds), x


@pytest.mark.parametrize("missing", ["none", "zero", "nan"])
def test_the_array_form_scores_as_lightgbm(missing: str) -> None:
    booster, x = _trained(missing)
    forest = forest_from_lightgbm(booster.dump_model())
    assert forest.feature_names == tuple(f"f{i}" for i in range(7)) and len(forest.root) == 30
    probe = np.concatenate([x[:500], np.full((3, 7), np.nan, np.float32), np.zeros((3, 7), np.float32)])
    expected = booster.predict(probe, raw_score=True)
    # the same leaves, summed in tree order in double: equal up to rounding, on any CPU
    np.testing.assert_allclose(predict(forest, probe), expected, rtol=1e-9, atol=1e-9)


def test_a_forest_round_trips_through_its_stored_arrays() -> None:
    booster, x = _trained("nan", rounds=5)
    forest = forest_from_lightgbm(booster.dump_model())
    again = Forest.from_arrays(forest.feature_names, forest.arrays())
    assert again.depth == forest.depth > 0
    np.testing.assert_array_equal(predict(again, x[:50]), predict(forest, x[:50]))


def test_a_single_leaf_tree_and_no_candidates() -> None:
    model = {"feature_names": ["a"], "tree_info": [{"tree_structure": {"leaf_value": 0.25}}]}
    forest = forest_from_lightgbm(model)
    assert predict(forest, np.zeros((4, 1), np.float32)).tolist() == [0.25] * 4
    assert predict(forest, np.zeros((0, 1), np.float32)).shape == (0,)


def test_a_malformed_forest_is_refused_naming_the_array() -> None:
    booster, _ = _trained("none", rounds=3)
    arrays = forest_from_lightgbm(booster.dump_model()).arrays()
    names = tuple(f"f{i}" for i in range(7))
    for name, bad in (("left", lambda a: a + 10_000), ("feature", lambda a: a + 7), ("root", lambda a: a + 10_000)):
        broken = {**arrays, name: bad(arrays[name].copy())}
        with pytest.raises(ValueError, match=name):
            Forest.from_arrays(names, broken)
    cyclic = {**arrays, "left": arrays["left"].copy()}
    cyclic["left"][cyclic["left"] >= 0] = 0  # every inner left child points back at the first node
    with pytest.raises(ValueError, match="cycle"):
        Forest.from_arrays(names, cyclic)
    with pytest.raises(ValueError, match="features: shape"):
        predict(Forest.from_arrays(names, arrays), np.zeros((2, 3)))


def test_categorical_splits_are_refused() -> None:
    model = {"feature_names": ["a"], "tree_info": [{"tree_structure": {
        "split_index": 0, "split_feature": 0, "threshold": "1||2", "decision_type": "==", "default_left": True,
        "missing_type": "None", "left_child": {"leaf_value": 1.0}, "right_child": {"leaf_value": 0.0}}}]}
    with pytest.raises(ValueError, match="decision type"):
        forest_from_lightgbm(model)
