"""`tailor import KIND PATH --out DIR`: a public data set -> the builder's input files.

  tailor import movielens PATH --out DIR

KINDS is the table of importers: kind -> (function(path, out_dir) -> summary, one line of help).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from index_builder.errors import BuildError
from index_builder.importers.movielens import import_movielens

__all__ = ["KINDS", "main"]

KINDS: dict[str, tuple[Callable[[Path, Path], object], str]] = {
    "movielens": (import_movielens, "a MovieLens directory (RecBole .inter, GroupLens u.data or ratings.csv)"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tailor import", description="Write items.csv, users.csv and events.csv "
                                     "for `tailor build` from a public data set.")
    sub = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, (_, text) in KINDS.items():
        p = sub.add_parser(kind, help=text, description=text)
        p.add_argument("path", type=Path, help="the data set's directory")
        p.add_argument("--out", type=Path, required=True, help="directory for items.csv, users.csv, events.csv")
    return parser


def main(argv: Sequence[str]) -> int:
    """Run `tailor import KIND PATH --out DIR`; argv[0] is "import"."""
    args = _parser().parse_args(list(argv[1:]))
    importer = KINDS[args.kind][0]
    try:
        summary = importer(args.path, args.out)
    except BuildError as exc:
        print(f"tailor import: {exc}", file=sys.stderr)
        return 1
    print(f"imported {args.kind} {args.path} -> {args.out}: {summary}")
    return 0
