"""`tailor recommend` and `tailor rerank`: the caller's subcommands (assembled by clients/tailor.py).

  tailor recommend --user U --n 10 | --session ITEM[:type],... | --anchor ITEM
  tailor rerank --user U --items A,B,C
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from clients.client import Decision, Filters, TailorClient, default_target
from clients.errors import TailorClientError

__all__ = ["main"]


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
    # A person reads the answer: ask for each item's title, category and price.
    return {"user_id": args.user, "session": _session(args.session), "page": page,
            "anchor_item_id": args.anchor, "filters": filters, "with_details": True}


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _print(decision: Decision, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(decision), indent=1))
        return
    print(f"version {decision.version}")
    print(f"{'#':>3}  {'item_id':<16} {'title':<40} {'category':<18} {'price':>9} {'score':>8}  reasons")
    for rank, item in enumerate(decision.items, 1):
        reasons = "; ".join(f"{r.code} ({r.text})" for r in item.reasons)
        price = f"{item.price:.2f}" if item.price else ""  # 0: the catalog has no price (or the item is unknown)
        print(f"{rank:>3}  {item.item_id:<16} {_cut(item.title, 40):<40} {_cut(item.category, 18):<18} "
              f"{price:>9} {item.score:>8.4f}  {reasons}")


def _recommend(args: argparse.Namespace) -> int:
    with TailorClient(args.target, timeout=args.timeout) as client:
        _print(client.recommend(args.n, request_id=args.request_id, no_exploration=args.no_exploration, **_ask(args)),
               args.json)
    return 0


def _rerank(args: argparse.Namespace) -> int:
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
    parser = argparse.ArgumentParser(prog="tailor")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("recommend", description="Ask for N products.")
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--request-id", default="", help="echoed; the same one draws the same exploration slots")
    p.add_argument("--no-exploration", action="store_true", help="no explore slots (reason explore) in this answer")
    _call_flags(p)
    p.set_defaults(func=_recommend)
    p = sub.add_parser("rerank", description="Reorder candidate items (given best first).")
    p.add_argument("--items", required=True, help="candidate ids, comma-separated, search order")
    p.add_argument("--n", type=int, default=0, help="how many to return (default 0: all)")
    _call_flags(p)
    p.set_defaults(func=_rerank)
    return parser


def main(argv: Sequence[str]) -> int:
    """Run `recommend ...` or `rerank ...` (argv starts with the subcommand's name)."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (TailorClientError, ValueError) as exc:
        print(f"tailor {args.command}: error: {exc}", file=sys.stderr)
        return 2
