"""`tailor import KIND PATH --out DIR`: a public data set or an order export -> the builder's input files.

  tailor import movielens PATH --out DIR
  tailor import transactions FILE --map user=COL,item=COL,timestamp=COL[,quantity=COL,...] --out DIR
                                     [--consent yes|no]

KINDS is the table of importers: kind -> (function(args) -> summary, one line of help, extra flags).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from clients.flags import add_output_flags
from index_builder.errors import BuildError
from index_builder.inputs.importers import movielens, transactions
from index_builder.inputs.importers.movielens import import_movielens
from index_builder.inputs.importers.transactions import import_transactions, parse_mapping

__all__ = ["KINDS", "describe", "main", "parser"]


def _movielens(args: argparse.Namespace) -> object:
    return import_movielens(args.path, args.out)


def _transactions(args: argparse.Namespace) -> object:
    consent = None if args.consent is None else args.consent == "yes"
    return import_transactions(args.path, parse_mapping(args.map), args.out, consent)


def _map_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--map", required=True, metavar="ROLE=COLUMN,...",
                   help="user, item, timestamp required; quantity, price, "
                   "category, brand, order, title optional")
    p.add_argument("--consent", choices=("yes", "no"), help="write every customer seen into users.csv with this "
                   "consent (default: header-only users.csv; the build's --default-consent then decides)")


KINDS: dict[str, tuple[Callable[[argparse.Namespace], object], str, Callable[[argparse.ArgumentParser], None]]] = {
    "movielens": (_movielens, "a MovieLens directory (RecBole .inter, GroupLens u.data or ratings.csv)",
                  lambda p: None),
    "transactions": (_transactions, "an order-line export (CSV or Parquet), one purchase per line", _map_flag),
}


def describe(args: argparse.Namespace, summary: object) -> str:
    """The lines `tailor import` prints: what was read, what was written where, and the next step."""
    lines = [f"imported {args.kind} {args.path} -> {args.out}:"]
    if isinstance(summary, movielens.ImportSummary):
        lines.append(f"  {summary.layout} layout: {summary.users} users, {summary.items} items, "
                     f"{summary.events} events")
    elif isinstance(summary, transactions.ImportSummary):
        lines.append(f"  {summary.lines} order lines read: {summary.events} purchase events, {summary.items} items; "
                     f"{summary.lines_skipped_quantity} lines skipped (quantity empty or <= 0)")
    consent = getattr(args, "consent", "yes")
    build = f"tailor build --data {args.out} --artifacts ROOT"
    lines.append(f"next: {build}" + (" --default-consent true  (users.csv lists no customer: their consent "
                                     "decides who is learned from)" if consent is None else ""))
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tailor import", description="Write items.csv, users.csv and events.csv "
                                     "for `tailor build` from a public data set.")
    add_output_flags(parser)  # `tailor import -v KIND ...` too
    sub = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, (_, text, flags) in KINDS.items():
        p = sub.add_parser(kind, help=text, description=text)
        p.add_argument("path", type=Path, help="the data set's directory or the export file")
        p.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="directory for items.csv, users.csv, events.csv (`tailor build --data DIR`)")
        flags(p)
        add_output_flags(p)
    return parser


def main(argv: Sequence[str]) -> int:
    """Run `tailor import KIND PATH --out DIR`; argv[0] is "import"."""
    args = parser().parse_args(list(argv[1:]))
    importer = KINDS[args.kind][0]
    try:
        summary = importer(args)
    except (BuildError, ValueError) as exc:
        print(f"tailor import: error: {exc}", file=sys.stderr)
        return 1
    print(describe(args, summary))
    return 0
