"""`tailor demo-data` and `tailor build`: the offline subcommands (assembled by clients/tailor.py).

  tailor demo-data --out DIR [--users N --items N --events N --seed S]
  tailor build [--config FILE] --data DIR --artifacts ROOT [--dim 64 --iterations 12 --regularization 0.05
               --seed 7 --event-weights view=1,cart=4,purchase=10 --value-scale linear --half-life-days 14
               --reference-time ISO|EPOCH --timezone NAME --default-consent false --quiet]

`tailor build` reads defaults < the config file's [build] table (tailor.example.toml) < flags. Its
`--out` is the old name of `--artifacts`, still accepted (hidden, with a warning).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from clients.flags import add_output_flags, deprecated_alias
from index_builder import BuildError, build_artifacts
from index_builder.config import VALUE_SCALES, load_build_config
from index_builder.demo import write_demo_store
from index_builder.demo.store import DemoStoreSummary
from protos import artifact_pb2

__all__ = ["demo_summary", "main", "parser", "summary"]

# flag dest -> BuildConfig key, for the flags whose names differ from the key.
_BUILD_FLAGS = {"data": "data_dir", "artifacts": "out_root", "half_life_days": "popularity_half_life_days",
                "live": "live_dir"}
_BUILD_KEYS = ("dim", "iterations", "regularization", "als_alpha", "seed", "event_weights", "value_scale",
               "reference_time", "timezone", "default_consent", "session_gap_minutes", "keep_versions")


def demo_summary(s: DemoStoreSummary) -> str:
    """The lines `tailor demo-data` prints: what was written where."""
    return "\n".join([f"wrote a demo store to {s.items_path.parent}:",
                      f"  {s.items_path.name:<11} {s.items} items",
                      f"  {s.users_path.name:<11} {s.users} users",
                      f"  {s.events_path.name:<11} {s.events} events in {s.sessions} sessions "
                      f"({s.anonymous_sessions} anonymous)",
                      f"next: tailor build --data {s.items_path.parent} --artifacts ROOT"])


def _demo_data(args: argparse.Namespace) -> int:
    print(demo_summary(write_demo_store(args.out, users=args.users, items=args.items, events=args.events,
                                        seed=args.seed)))
    return 0


def _index_line(index: artifact_pb2.IndexInfo) -> str:
    if not index.search_us_per_query:
        return index.factory
    probes = f" nprobe {index.nprobe}" if index.nprobe else ""
    return (f"{index.factory}{probes} (measured: {index.search_us_per_query:.0f} us/query, recall@{index.recall_k} "
            f"{index.recall_at_k:.3f}; exact search {index.exact_us_per_query:.0f} us/query)")


def summary(manifest: artifact_pb2.Manifest, root: Path) -> str:
    """What `tailor build` prints: what was built, and every row left out or filled in, one topic a line."""
    c = manifest.counts
    return "\n".join([
        f"built version {manifest.version} in {manifest.build_seconds:.1f}s -> {root}/current",
        f"  catalog: {c.items} items, index {_index_line(manifest.index)}",
        f"  events:  {c.events} kept, {c.events_dropped_unknown_item} dropped (item not in items), "
        f"{c.events_without_consent} without consent (not trained); {c.sessions_derived} sessions derived",
        f"  users:   {c.users} ({c.users_implicit} only in events, consent "
        f"{str(manifest.params.default_consent).lower()}, {c.events_implicit_user} events); {c.profiles} profiles",
        f"  live:    {c.events_live} events folded in (through batch {manifest.live_seq})",
        f"  privacy: {manifest.forgotten_users} forgotten users left out ({manifest.events_forgotten} events, "
        f"{manifest.users_rows_forgotten} users rows)",
        f"  ranker:  {_ranker_line(manifest.ranker)}"])


def _ranker_line(ranker: artifact_pb2.RankerInfo) -> str:
    """The learned ranker's verdict and what it was measured on (docs/ranker.md)."""
    if not ranker.trained:
        return ranker.verdict or "none ([build] ranker = false): the hand blend serves"
    others = ", ".join(f"{name} {value:.3f}" for name, value in sorted(ranker.validation_ndcg.items())
                       if name != "learned")
    return (f"{'learned serves' if ranker.serves else 'hand blend serves'} — validation nDCG@10 learned "
            f"{ranker.validation_ndcg['learned']:.3f} ({others}); {ranker.trees} trees on {ranker.rows} rows of "
            f"{ranker.lists_train} + {ranker.lists_validation} shoppers ({ranker.cut} cut), {ranker.seconds:.1f}s")


def _build(args: argparse.Namespace) -> int:
    names = {**{k: k for k in _BUILD_KEYS}, **_BUILD_FLAGS}
    flags: dict[str, object] = {key: getattr(args, dest) for dest, key in names.items()}
    flags["show_progress"] = not args.quiet
    if args.no_live:
        flags["fold_live"] = False
    config = load_build_config(args.config, flags)
    manifest = build_artifacts(config)
    print(summary(manifest, config.out_root))
    return 0


def _build_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML file whose [build] table sets any BuildConfig key")
    p.add_argument("--data", type=Path, metavar="DIR", help="input directory (items, users, events .csv or .parquet)")
    p.add_argument("--artifacts", type=Path, metavar="ROOT", help="artifact root; the new version becomes ROOT/current")
    deprecated_alias(p, "--out", "--artifacts")
    p.add_argument("--dim", help="embedding dimensions (default 64)")
    p.add_argument("--iterations", help="ALS iterations (default 12)")
    p.add_argument("--regularization", help="ALS regularization (default 0.05)")
    p.add_argument("--alpha", dest="als_alpha", metavar="ALPHA",
                   help="ALS confidence 1 + alpha * log1p(event weight) (default 2)")
    p.add_argument("--seed", help="random seed (default 7)")
    p.add_argument("--event-weights", help="weight per event type (default view=1,cart=4,purchase=10)")
    p.add_argument("--value-scale", choices=VALUE_SCALES, help="how events.value scales the weight (default linear)")
    p.add_argument("--half-life-days", help="popularity half-life in days (default 14)")
    p.add_argument("--reference-time", help="popularity decays from here, ISO or epoch (default: the last event)")
    p.add_argument("--timezone", help="IANA zone of zone-less timestamps (default: such timestamps are refused)")
    p.add_argument("--session-gap-minutes", help="inactivity that ends a derived session (default 30)")
    p.add_argument("--default-consent", choices=("true", "false"),
                   help="consent of users seen only in events (default false: consent must be explicit)")
    p.add_argument("--live", type=Path, metavar="DIR",
                   help="live store to fold in (TrackEvents' events; default ROOT/live if any)")
    p.add_argument("--no-live", action="store_true", help="learn from the input files alone")
    p.add_argument("--keep-versions", help="versions kept after publishing, the new one included (default 3; 0: all)")
    add_output_flags(p)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tailor")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo-data", description="Write a realistic demo store (items, users, events CSV).")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="directory for items.csv, users.csv, events.csv (`tailor build --data DIR`)")
    p.add_argument("--users", type=int, default=5000, help="shoppers (default 5000; ids u0001...)")
    p.add_argument("--items", type=int, default=2000, help="catalog items (default 2000; ids i0001...)")
    p.add_argument("--events", type=int, default=200_000, help="events (default 200000)")
    p.add_argument("--seed", type=int, default=7, help="random seed: the same seed writes the same files (default 7)")
    add_output_flags(p)
    p.set_defaults(func=_demo_data)
    p = sub.add_parser("build", description="Build a new artifact version and make it current.")
    _build_parser(p)
    p.set_defaults(func=_build)
    return parser


def main(argv: Sequence[str]) -> int:
    """Run `demo-data ...` or `build ...` (argv starts with the subcommand's name)."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (BuildError, ValueError) as exc:
        print(f"tailor {args.command}: error: {exc}", file=sys.stderr)
        return 2
