"""Offline builder: input files -> a versioned, memory-mappable artifact directory."""

from index_builder.build import build_artifacts
from index_builder.config import BuildConfig
from index_builder.errors import ArtifactWriteError, BuildError, InputError

__all__ = ["build_artifacts", "BuildConfig", "BuildError", "InputError", "ArtifactWriteError"]
