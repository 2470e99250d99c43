"""`tailor demo-data` and `tailor build`: the offline subcommands (assembled by clients/tailor.py).

  tailor demo-data --out DIR [--users N --items N --events N --seed S]
  tailor build --data DIR --out ROOT [--dim 64 --iterations 12 --seed 7 --quiet]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from index_builder import BuildConfig, BuildError, build_artifacts
from index_builder.demo import write_demo_store

__all__ = ["main"]


def _demo_data(args: argparse.Namespace) -> int:
    summary = write_demo_store(args.out, users=args.users, items=args.items, events=args.events, seed=args.seed)
    print(f"wrote demo store to {args.out}: {summary}")
    return 0


def _build(args: argparse.Namespace) -> int:
    config = BuildConfig(data_dir=args.data, out_root=args.out, dim=args.dim, iterations=args.iterations,
                         seed=args.seed, show_progress=not args.quiet)
    manifest = build_artifacts(config)
    print(f"built version {manifest.version} in {manifest.build_seconds:.1f}s: {manifest.counts.items} items, "
          f"{manifest.counts.profiles} profiles, index {manifest.index.factory} -> {args.out}/current")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tailor")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo-data", description="Write a realistic demo store (items, users, events CSV).")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--users", type=int, default=5000)
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_demo_data)
    p = sub.add_parser("build", description="Build a new artifact version and make it current.")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--iterations", type=int, default=12)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_build)
    return parser


def main(argv: Sequence[str]) -> int:
    """Run `demo-data ...` or `build ...` (argv starts with the subcommand's name)."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (BuildError, ValueError) as exc:
        print(f"tailor {args.command}: error: {exc}", file=sys.stderr)
        return 2
