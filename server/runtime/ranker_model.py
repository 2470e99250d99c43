"""A version's learned ranker, opened and checked at load (index_builder/ranker/, docs/ranker.md).

The version holds LightGBM's model text (ranker.txt) and the same trees as arrays (ranker_*.npy,
protos/ranker/forest.py). At load both are read and checked like every file: the manifest's feature table is the
one this server fills (protos/ranker/features.py FEATURES and FEATURES_VERSION), the model text names the same
features, the arrays index only what exists, and the two forms agree on a fixed probe (so neither is a stale or
foreign file). A request then costs one compiled walk of the trees over all its candidates (native/forest.py:
134 us p50 against Booster.predict's 195 us for ~54 candidates x 216 trees at 1M items; the numpy walk, the
reference, 1,986 us).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from native.forest import ForestKernel
from protos import artifact, artifact_pb2
from protos.ranker.candidates import ItemModel
from protos.ranker.features import FEATURES, FEATURES_VERSION, ItemFacts
from protos.ranker.forest import Forest

if TYPE_CHECKING:
    from server.runtime.snapshot import Catalog

__all__ = ["LearnedModel", "load_ranker", "item_model_of"]

_PROBE_ROWS = 64
_STEMS = ("feature", "threshold", "left", "right", "default_left", "missing", "leaf_value", "root")


@dataclass(frozen=True, eq=False)
class LearnedModel:
    """The trees in their array form and the compiled kernel that walks them (what serves), the item arrays its
    generators read, and whether the build's validation says it serves by default (manifest.ranker.serves)."""

    forest: Forest
    kernel: ForestKernel
    items: ItemModel
    serves: bool
    info: artifact_pb2.RankerInfo

    def score(self, features: np.ndarray) -> np.ndarray:
        """float64 [candidates]: the model's raw score of each feature row (one compiled call)."""
        return self.kernel.predict(features)


def item_model_of(catalog: Catalog) -> ItemModel:
    """The catalog's arrays as the generators and features read them."""
    return ItemModel(catalog.neighbors, catalog.neighbor_weights, catalog.successors, catalog.successor_weights,
                     catalog.popular_rows, ItemFacts(catalog.category, catalog.users, catalog.repurchase_rate,
                                                     catalog.repurchase_days))


def _probe() -> np.ndarray:
    """Feature rows that reach many branches: a spread of values per column, every tenth one missing."""
    rng = np.random.default_rng(0)
    x = rng.gamma(1.0, 3.0, size=(_PROBE_ROWS, len(FEATURES)))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[::7] = 0.0
    return x.astype(np.float32)


def load_ranker(directory: Path, info: artifact_pb2.RankerInfo, catalog: Catalog) -> LearnedModel | None:
    """The version's ranker, checked (module docstring); None when its build trained none. Raises
    artifact.ManifestMismatch naming the file or the table when anything disagrees."""
    if not info.trained:
        return None
    if info.features_version != FEATURES_VERSION or tuple(info.features) != FEATURES:
        raise artifact.ManifestMismatch(
            f"manifest.ranker: feature table v{info.features_version} ({', '.join(info.features)}) is not this "
            f"server's v{FEATURES_VERSION} ({', '.join(FEATURES)}): rebuild the version")
    import lightgbm as lgb  # noqa: PLC0415 — only a version with a ranker needs it

    path = directory / artifact.RANKER_MODEL
    try:
        booster = lgb.Booster(model_str=path.read_text(encoding="utf-8"))
    except lgb.basic.LightGBMError as exc:
        raise artifact.ManifestMismatch(f"{path.name}: not a LightGBM model: {exc}") from exc
    if tuple(booster.feature_name()) != FEATURES:
        raise artifact.ManifestMismatch(f"{path.name}: features {booster.feature_name()} are not the manifest's")
    arrays = {stem: np.load(directory / artifact.RANKER_ARRAY.format(stem), allow_pickle=False) for stem in _STEMS}
    try:
        forest = Forest.from_arrays(FEATURES, arrays)
    except ValueError as exc:
        raise artifact.ManifestMismatch(f"{artifact.RANKER_ARRAY.format('*')}: {exc}") from exc
    probe, kernel = _probe(), ForestKernel(forest)
    if not np.allclose(kernel.predict(probe), booster.predict(probe, raw_score=True, num_threads=1), atol=1e-6):
        raise artifact.ManifestMismatch(f"{path.name}: the model text and the tree arrays disagree")
    return LearnedModel(forest, kernel, item_model_of(catalog), info.serves, info)
