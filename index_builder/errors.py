"""Errors the builder raises; the CLI prints them and exits non-zero.

BuildError                 anything that stops a build; nothing becomes current
 +-- InputError            a bad input file: names file, line and column
 +-- ArtifactWriteError    writing or publishing the version failed
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["BuildError", "InputError", "ArtifactWriteError"]


class BuildError(Exception):
    """A build that cannot finish; the previous `current` stays as it was."""


class InputError(BuildError):
    """An input file is malformed; `line` is 1-based and counts the header as line 1."""

    def __init__(self, path: Path, message: str, *, line: int | None = None, column: str | None = None) -> None:
        self.path = path
        self.line = line
        self.column = column
        where = str(path)
        if line is not None:
            where += f":{line}"
        if column is not None:
            where += f": column {column!r}"
        super().__init__(f"{where}: {message}")


class ArtifactWriteError(BuildError):
    """The artifact could not be written or published."""
