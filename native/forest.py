"""The learned ranker's trees over all of a request's candidates in one compiled call (native/_forest.c).

`ForestKernel(forest)` holds the forest's arrays in the dtypes the kernel reads (converted once per version);
`kernel.predict(x)` is each row's raw score — LightGBM's `Booster.predict(x, raw_score=True)` and the numpy
reference `protos.ranker.forest.predict` up to the order of a double sum. The kernel checks every index it
follows, so a bad array is a ValueError, never a read outside it.
"""

from __future__ import annotations

import numpy as np

from protos.ranker.forest import Forest

try:
    from native import _forest
except ImportError as exc:  # pragma: no cover — a checkout whose extension was never compiled
    raise ImportError("native._forest is not compiled: run `make install` (pip install -e .), which needs a C "
                      "compiler and the Python headers (Debian: apt install gcc python3-dev)") from exc

__all__ = ["ForestKernel"]


class ForestKernel:
    """One forest, ready for the compiled walk."""

    def __init__(self, forest: Forest) -> None:
        self.features, self.depth, self.internal = len(forest.feature_names), forest.depth, len(forest.feature)
        walk = forest.walk  # one node table: the internal nodes, then the leaves
        self._arrays = (np.ascontiguousarray(walk.feature, dtype=np.int32),
                        np.ascontiguousarray(walk.threshold, dtype=np.float64),
                        np.ascontiguousarray(walk.left, dtype=np.int32),
                        np.ascontiguousarray(walk.right, dtype=np.int32),
                        np.ascontiguousarray(walk.default_left, dtype=np.uint8),
                        np.ascontiguousarray(walk.missing, dtype=np.uint8),
                        np.ascontiguousarray(walk.value, dtype=np.float64),
                        np.ascontiguousarray(walk.root, dtype=np.int32))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """float64 [rows]: the raw score of each row of `x` ([rows x features])."""
        rows = np.ascontiguousarray(x, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self.features:
            raise ValueError(f"x: shape {rows.shape}, expected (n, {self.features})")
        out = np.empty(len(rows), dtype=np.float64)
        if len(rows):
            _forest.predict(*self._arrays, rows, out, self.features, self.depth, self.internal)
        return out
