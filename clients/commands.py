"""`tailor recommend` and `tailor rerank`: the caller's subcommands (assembled by clients/tailor.py).

  tailor recommend --user U --n 10 | --session ITEM[:type],... | --anchor ITEM  [--json]
  tailor rerank --user U --items A,B,C [--query TEXT]

Both take the same request flags (clients/flags.py: shopper, page, channel, query, time, filters) and
the same call flags (--target, --timeout, --request-id). `--json` prints every field of the answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from clients.client import Decision, Filters, TailorClient
from clients.errors import TailorClientError, describe
from clients.flags import add_call_flags, add_json_flag, add_output_flags, add_request_flags, time_ms

__all__ = ["main", "parser", "request_arguments"]


def _session(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in filter(None, text.split(",")):
        item, _, kind = part.partition(":")
        pairs.append((item, kind or "view"))
    return pairs


def request_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The request flags (clients.flags.add_request_flags) as client keyword arguments."""
    filters = Filters(categories=args.category or (), brands=args.brand or (), min_price=args.min_price,
                      max_price=args.max_price, in_stock_only=args.in_stock)
    page = args.page or ("product" if args.anchor else "")
    return {"user_id": args.user, "session": _session(args.session), "page": page, "anchor_item_id": args.anchor,
            "filters": filters, "channel": args.channel or "", "query": args.query, "time_ms": time_ms(args.time),
            "request_id": args.request_id}


def _ask(args: argparse.Namespace) -> dict[str, Any]:
    # A person reads the answer: ask for each item's title, category and price.
    return {**request_arguments(args), "with_details": True}


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _print(decision: Decision, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(decision), indent=1))
        return
    print(f"version {decision.version}" + (f", variant {decision.variant}" if decision.variant else ""))
    if decision.anchor_unknown:
        print("the --anchor item is not in the catalog: answered as without an anchor")
    print(f"{'#':>3}  {'item_id':<16} {'title':<40} {'category':<18} {'price':>9} {'score':>8}  reasons")
    for rank, item in enumerate(decision.items, 1):
        reasons = "; ".join(f"{r.code} ({r.text})" for r in item.reasons)
        price = f"{item.price:.2f}" if item.price else ""  # 0: the catalog has no price (or the item is unknown)
        print(f"{rank:>3}  {item.item_id:<16} {_cut(item.title, 40):<40} {_cut(item.category, 18):<18} "
              f"{price:>9} {item.score:>8.4f}  {reasons}")


def _recommend(args: argparse.Namespace) -> int:
    with TailorClient(args.target, timeout=args.timeout) as client:
        _print(client.recommend(args.n, no_exploration=args.no_exploration, **_ask(args)), args.json)
    return 0


def _rerank(args: argparse.Namespace) -> int:
    ids = [i for i in args.items.split(",") if i]
    # Without the search engine's scores, the given order is the relevance: first = best.
    candidates = [(item, float(len(ids) - rank)) for rank, item in enumerate(ids)]
    with TailorClient(args.target, timeout=args.timeout) as client:
        _print(client.rerank(candidates, args.n, **_ask(args)), args.json)
    return 0


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tailor")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("recommend", description="Ask for N products.")
    p.add_argument("--n", type=int, default=10, help="how many items (default 10)")
    p.add_argument("--no-exploration", action="store_true", help="no explore slots (reason explore) in this answer")
    add_request_flags(p)
    add_call_flags(p, timeout=2.0)
    add_json_flag(p, "every field of the answer")
    add_output_flags(p)
    p.set_defaults(func=_recommend)
    p = sub.add_parser("rerank", description="Reorder candidate items (given best first).")
    p.add_argument("--items", required=True, metavar="A,B,C", help="candidate ids, comma-separated, search order")
    p.add_argument("--n", type=int, default=0, help="how many to return (default 0: all)")
    add_request_flags(p)
    add_call_flags(p, timeout=2.0)
    add_json_flag(p, "every field of the answer")
    add_output_flags(p)
    p.set_defaults(func=_rerank)
    return parser


def main(argv: Sequence[str]) -> int:
    """Run `recommend ...` or `rerank ...` (argv starts with the subcommand's name)."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TailorClientError as exc:
        print(f"tailor {args.command}: error: {describe(exc, args.target)}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"tailor {args.command}: error: {exc}", file=sys.stderr)
        return 2
