"""Offline builder: input files -> a versioned, memory-mappable artifact directory.

Rooms, in the order a build walks through them:
  inputs/     reading and checking the input tables, importers, the live store's events, deletion records
  models/     item models learned from the log: embeddings and the FAISS index, item-item, complements,
              sequences, repurchase cycles, exploration priors, per-item signals
  shoppers/   per-shopper facts: affinities, profiles, RFM, lifetime value, segments
  ranker/     the learned ranker: where a shopper's log is cut, the training lists, LightGBM lambdarank
  reports/    reports for people: `tailor segments`, the shared HTML page
  build.py    the build itself; publish.py writes and switches the version; config.py its settings
  demo/       the demo store generator; build_command.py `tailor build` and `tailor demo-data`

The door is lazy: `import index_builder` loads nothing else.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index_builder.build import build_artifacts
    from index_builder.config import BuildConfig
    from index_builder.errors import ArtifactWriteError, BuildError, InputError

_EXPORTS = {"build_artifacts": "index_builder.build", "BuildConfig": "index_builder.config",
            "BuildError": "index_builder.errors", "InputError": "index_builder.errors",
            "ArtifactWriteError": "index_builder.errors"}
__all__ = ["ArtifactWriteError", "BuildConfig", "BuildError", "InputError", "build_artifacts"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'index_builder' has no attribute {name!r}")
