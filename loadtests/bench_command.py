"""`tailor bench` (assembled by clients/tailor.py); the benchmark owns its flags, see loadtests/bench.py."""

from __future__ import annotations

from collections.abc import Sequence

from loadtests import bench

__all__ = ["main", "parser"]

parser = bench.parser  # `tailor bench`'s flags (clients/tailor.py command_parser)


def main(argv: Sequence[str]) -> int:
    """Run `bench ...` (argv starts with the subcommand's name); `tailor bench --help` lists the flags."""
    return bench.main(list(argv[1:]))
