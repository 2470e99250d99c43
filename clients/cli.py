"""The `tailor` command: thin wrappers that parse flags, build a config and call the library.

  tailor demo-data --out DIR [--users N --items N --events N --seed S]
  tailor build --data DIR --out ROOT
  tailor serve --artifacts ROOT [--port 50051]
  tailor recommend --user U --n 10 | --session ITEM[:type],... | --anchor ITEM
  tailor rerank --user U --items A,B,C
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from clients.client import Decision, Filters, TailorClient, default_target
from clients.errors import TailorClientError

__all__ = ["main"]


class _JsonFormatter(logging.Formatter):
    """One JSON object per line; messages are `event key=value ...` and hold no personal data."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "pid": record.process, "msg": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from index_builder.demo_store import write_demo_store

    summary = write_demo_store(args.out, users=args.users, items=args.items, events=args.events, seed=args.seed)
    print(f"wrote demo store to {args.out}: {summary}")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from index_builder import BuildConfig, BuildError, build_artifacts

    config = BuildConfig(data_dir=args.data, out_root=args.out, dim=args.dim, iterations=args.iterations,
                         seed=args.seed, show_progress=not args.quiet)
    try:
        manifest = build_artifacts(config)
    except BuildError as exc:
        print(f"tailor build: error: {exc}", file=sys.stderr)
        return 2
    print(f"built version {manifest.version} in {manifest.build_seconds:.1f}s: {manifest.counts.items} items, "
          f"{manifest.counts.profiles} profiles, index {manifest.index.factory} -> {args.out}/current")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from server import ArtifactError, serve
    from server.config import load_server_config

    flags = {"artifacts": args.artifacts, "port": args.port, "host": args.host, "threads": args.threads,
             "workers": args.workers, "metrics_port": args.metrics_port, "max_concurrent": args.max_concurrent}
    config = load_server_config(args.config, flags=flags)
    try:
        serve(config)
    except ArtifactError as exc:
        print(f"tailor serve: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _session(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in filter(None, text.split(",")):
        item, _, kind = part.partition(":")
        pairs.append((item, kind or "view"))
    return pairs


def _ask(args: argparse.Namespace) -> dict[str, Any]:
    """The shopper and page flags shared by recommend and rerank, as client keyword arguments."""
    filters = Filters(categories=args.category or (), brands=args.brand or (), min_price=args.min_price,
                      max_price=args.max_price, in_stock_only=args.in_stock)
    page = args.page or ("product" if args.anchor else "")
    return {"user_id": args.user, "session": _session(args.session), "page": page,
            "anchor_item_id": args.anchor, "filters": filters}


def _print(decision: Decision, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(decision), indent=1))
        return
    print(f"version {decision.version}")
    print(f"{'#':>3}  {'item_id':<16} {'score':>8}  reasons")
    for rank, item in enumerate(decision.items, 1):
        reasons = "; ".join(f"{r.code} ({r.text})" for r in item.reasons)
        print(f"{rank:>3}  {item.item_id:<16} {item.score:>8.4f}  {reasons}")


def _cmd_recommend(args: argparse.Namespace) -> int:
    with TailorClient(args.target, timeout=args.timeout) as client:
        _print(client.recommend(args.n, **_ask(args)), args.json)
    return 0


def _cmd_rerank(args: argparse.Namespace) -> int:
    ids = [i for i in args.items.split(",") if i]
    # Without the search engine's scores, the given order is the relevance: first = best.
    candidates = [(item, float(len(ids) - rank)) for rank, item in enumerate(ids)]
    with TailorClient(args.target, timeout=args.timeout) as client:
        _print(client.rerank(candidates, args.n, **_ask(args)), args.json)
    return 0


def _call_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", default=default_target(), help="HOST:PORT (default $TAILOR_TARGET or localhost:50051)")
    p.add_argument("--timeout", type=float, default=2.0, help="deadline per call, seconds")
    p.add_argument("--user", default="", help="user id (empty: anonymous)")
    p.add_argument("--session", default="", help="recent interactions ITEM[:view|cart|purchase],... oldest first")
    p.add_argument("--page", choices=["home", "product", "cart", "search"])
    p.add_argument("--anchor", default="", help="item shown on a product page")
    p.add_argument("--category", action="append", help="only this category (repeatable)")
    p.add_argument("--brand", action="append", help="only this brand (repeatable)")
    p.add_argument("--min-price", type=float, default=0.0)
    p.add_argument("--max-price", type=float, default=0.0)
    p.add_argument("--in-stock", action="store_true")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tailor", description="Tailor personalization decision server")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (JSON lines on stderr)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo-data", help="write a realistic demo store (items, users, events CSV)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--users", type=int, default=5000)
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_demo_data)
    p = sub.add_parser("build", help="build a new artifact version and make it current")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--iterations", type=int, default=12)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_build)
    p = sub.add_parser("serve", help="serve ROOT/current over gRPC")
    p.add_argument("--artifacts", type=Path, help="artifact root holding `current`")
    p.add_argument("--config", type=Path, help="TOML file with a [server] table (see tailor.example.toml)")
    p.add_argument("--port", type=int)
    p.add_argument("--host")
    p.add_argument("--workers", type=int, help="worker processes sharing the port (default: one per core)")
    p.add_argument("--threads", type=int, help="threads per worker")
    p.add_argument("--max-concurrent", type=int, help="calls in flight per worker before RESOURCE_EXHAUSTED")
    p.add_argument("--metrics-port", type=int, help="Prometheus /metrics port (0 = any free port; default: off)")
    p.set_defaults(func=_cmd_serve)
    sub.add_parser("bench", help="benchmark Tailor against a floor server (see `tailor bench --help`)")
    p = sub.add_parser("recommend", help="ask for N products")
    p.add_argument("--n", type=int, default=10)
    _call_flags(p)
    p.set_defaults(func=_cmd_recommend)
    p = sub.add_parser("rerank", help="reorder candidate items (given best first)")
    p.add_argument("--items", required=True, help="candidate ids, comma-separated, search order")
    p.add_argument("--n", type=int)
    _call_flags(p)
    p.set_defaults(func=_cmd_rerank)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        # The benchmark owns its flags (see loadtests/bench.py); `tailor bench --help` lists them.
        from loadtests.bench import main as bench_main

        _configure_logging(True)
        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose or args.command in ("serve", "build"))
    try:
        return int(args.func(args))
    except (TailorClientError, ValueError) as exc:
        print(f"tailor {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
