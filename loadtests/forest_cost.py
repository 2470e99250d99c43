"""What the learned ranker's trees cost per request: the array form (protos/ranker/forest.py, numpy) against one
LightGBM `Booster.predict` call, on the same forest and the same candidates.

  python -m loadtests.forest_cost [--trees 100] [--leaves 31] [--features 25] [--candidates 200 500] [--calls 2000]

Trains a lambdarank forest of the given size on synthetic data (one thread, fixed seed), then times scoring
one request's candidates (a [candidates x features] float32 matrix) both ways, alternating which goes first,
and prints p50 / p99 per call in microseconds and calls per second for each candidate count. LightGBM runs on
one thread, as one server worker would call it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial

import lightgbm as lgb
import numpy as np

from protos.ranker.forest import forest_from_lightgbm, predict

__all__ = ["main"]


def _forest(trees: int, leaves: int, features: int) -> lgb.Booster:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(20_000, features)).astype(np.float32)
    relevance = np.clip((x[:, :5] > 0.5).sum(axis=1) - 1, 0, 4)
    data = lgb.Dataset(x, relevance, group=[50] * 400)
    params = {"objective": "lambdarank", "num_leaves": leaves, "verbose": -1, "num_threads": 1, "seed": 7,
              "min_data_in_leaf": 5}
    return lgb.train(params, data, num_boost_round=trees)


def _times(fn: Callable[[], object], calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1e6)
    return out


def _line(name: str, times: list[float]) -> str:
    times = sorted(times)
    p50, p99 = statistics.median(times), times[int(0.99 * (len(times) - 1))]
    return f"  {name:<22}p50 {p50:8.0f} us   p99 {p99:8.0f} us   {1e6 / p50:8.0f} calls/s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.forest_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=100, help="boosting rounds (trees)")
    parser.add_argument("--leaves", type=int, default=31, help="leaves per tree")
    parser.add_argument("--features", type=int, default=25, help="features per candidate")
    parser.add_argument("--candidates", type=int, nargs="+", default=[200, 500], help="candidates per request")
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per variant and size")
    args = parser.parse_args(argv)
    booster = _forest(args.trees, args.leaves, args.features)
    forest = forest_from_lightgbm(booster.dump_model())
    print(f"forest: {len(forest.root)} trees, {len(forest.feature)} splits, depth {forest.depth}, "
          f"{args.features} features")
    rng = np.random.default_rng(1)
    for n in args.candidates:
        x = rng.normal(size=(n, args.features)).astype(np.float32)
        np.testing.assert_allclose(predict(forest, x), booster.predict(x, raw_score=True, num_threads=1),
                                   rtol=1e-9, atol=1e-9)
        ours: list[float] = []
        theirs: list[float] = []
        for round_ in range(2):  # alternate which goes first
            first, second = (ours, theirs) if round_ == 0 else (theirs, ours)
            for out in (first, second):
                fn = (partial(predict, forest, x) if out is ours
                      else partial(booster.predict, x, raw_score=True, num_threads=1))
                out.extend(_times(fn, args.calls // 2))
        print(f"{n} candidates:")
        print(_line("array form (numpy)", ours))
        print(_line("lightgbm predict", theirs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
